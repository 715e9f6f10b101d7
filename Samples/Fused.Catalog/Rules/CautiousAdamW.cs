using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// C-AdamW (seed 001, "Cautious Optimizers"): AdamW whose update is masked where it disagrees in
    /// sign with the gradient, rescaled by the mean of the mask so the step size is preserved.
    /// Two passes: the first only sums the mask.
    /// </summary>
    [Optimizer(Name = "C-AdamW")]
    public static partial class CautiousAdamW
    {
        static void Update(ref float param, float grad, [State] ref float m, [State] ref float v,
            [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.999)] float beta2,
            [Hyper(1e-8)] float eps, [Hyper(0.01)] float weightDecay, [Step] int t)
        {
            m = beta1 * m + (1 - beta1) * grad;
            v = beta2 * v + (1 - beta2) * grad * grad;
            var u = m / (1 - Pow(beta1, t)) / (Sqrt(v / (1 - Pow(beta2, t))) + eps);
            var mask = Where(u * grad > 0, 1f, 0f);
            u = u * mask / Max(Mean(mask), 1e-3f);
            param -= lr * (u + weightDecay * param);
        }
    }
}
