using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>AdamW (seed 000): Adam with decoupled weight decay; bias corrections once per call.</summary>
    [Optimizer]
    public static partial class AdamW
    {
        static void Update(ref float param, float grad, [State] ref float m, [State] ref float v,
            [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.999)] float beta2,
            [Hyper(1e-8)] float eps, [Hyper(0.01)] float weightDecay, [Step] int t)
        {
            m = beta1 * m + (1 - beta1) * grad;
            v = beta2 * v + (1 - beta2) * grad * grad;
            var mHat = m / (1 - Pow(beta1, t));
            var vHat = v / (1 - Pow(beta2, t));
            param -= lr * (mHat / (Sqrt(vHat) + eps) + weightDecay * param);
        }
    }
}
