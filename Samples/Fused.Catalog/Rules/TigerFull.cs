using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// Tiger in its full form (bojone/tiger): the sign-momentum step of <see cref="Tiger"/> with the
    /// learning rate scaled by the parameter tensor's RMS, a LAMB-like per-tensor adaptation. Meant
    /// for weight matrices; route biases and norms (often zero-initialised) to plain Tiger.
    /// </summary>
    [Optimizer(Name = "Tiger (full)")]
    public static partial class TigerFull
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [Hyper(1e-3)] float lr, [Hyper(0.965)] float beta, [Hyper(0.01)] float weightDecay)
        {
            var scaledLr = lr * Rms(param);
            momentum = beta * momentum + (1 - beta) * grad;
            param -= scaledLr * (Sign(momentum) + weightDecay * param);
        }
    }
}
