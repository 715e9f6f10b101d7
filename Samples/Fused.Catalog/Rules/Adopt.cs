using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// ADOPT (Taniguchi et al., 2024): normalise the gradient by the second moment of the previous
    /// step, then take momentum, so the current gradient never scales itself. The first step only
    /// records v ← g². Clipping at t^¼ as in the authors' implementation; decoupled weight decay.
    /// </summary>
    [Optimizer(Name = "ADOPT")]
    public static partial class Adopt
    {
        static void Update(ref float param, float grad, [State] ref float m, [State] ref float v,
            [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.9999)] float beta2,
            [Hyper(1e-6)] float eps, [Hyper(0.0)] float weightDecay, [Step] int t)
        {
            var first = t == 1;
            var limit = Pow(t - 1, 0.25f);
            var normed = Clamp(grad / Max(Sqrt(v), eps), -limit, limit);
            m = first ? m : Lerp(m, normed, 1 - beta1);
            param = first ? param : param - lr * (m + weightDecay * param);
            v = first ? grad * grad : beta2 * v + (1 - beta2) * grad * grad;
        }
    }
}
