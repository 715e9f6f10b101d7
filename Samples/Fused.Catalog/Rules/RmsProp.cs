using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>RMSprop (seed 003, ch. 3): v ← β₂·v + (1 − β₂)·g²; θ ← θ − η·g / √(v + ε).</summary>
    [Optimizer(Name = "RMSprop")]
    public static partial class RmsProp
    {
        static void Update(ref float param, float grad, [State] ref float v,
            [Hyper(0.001)] float lr, [Hyper(0.99)] float beta2, [Hyper(1e-8)] float eps)
        {
            v = beta2 * v + (1 - beta2) * grad * grad;
            param -= lr * grad / Sqrt(v + eps);
        }
    }
}
