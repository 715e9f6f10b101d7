using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>Tiger (seed 001), the element-wise form: m ← β·m + (1 − β)·g; θ ← θ − η·(sign(m) + λ·θ).</summary>
    [Optimizer]
    public static partial class Tiger
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [Hyper(1e-4)] float lr, [Hyper(0.965)] float beta, [Hyper(0.01)] float weightDecay)
        {
            momentum = beta * momentum + (1 - beta) * grad;
            param -= lr * (Sign(momentum) + weightDecay * param);
        }
    }
}
