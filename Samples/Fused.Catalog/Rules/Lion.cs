using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>Lion (seed 000): step on sign(β₁·m + (1 − β₁)·g), remember with β₂. One state buffer.</summary>
    [Optimizer]
    public static partial class Lion
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [Hyper(1e-4)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.99)] float beta2,
            [Hyper(0.0)] float weightDecay)
        {
            var update = Sign(beta1 * momentum + (1 - beta1) * grad);
            param -= lr * (update + weightDecay * param);
            momentum = beta2 * momentum + (1 - beta2) * grad;
        }
    }
}
