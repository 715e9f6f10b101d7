using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// Adam with coupled L2 weight decay (the original, seed 003 ch. 5): the decay is folded into the
    /// gradient and so divided by √v̂ — kept in the catalog to show what AdamW fixes.
    /// </summary>
    [Optimizer]
    public static partial class Adam
    {
        static void Update(ref float param, float grad, [State] ref float m, [State] ref float v,
            [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.999)] float beta2,
            [Hyper(1e-8)] float eps, [Hyper(0.0)] float weightDecay, [Step] int t)
        {
            var g = grad + weightDecay * param;
            m = beta1 * m + (1 - beta1) * g;
            v = beta2 * v + (1 - beta2) * g * g;
            var mHat = m / (1 - Pow(beta1, t));
            var vHat = v / (1 - Pow(beta2, t));
            param -= lr * mHat / (Sqrt(vHat) + eps);
        }
    }
}
