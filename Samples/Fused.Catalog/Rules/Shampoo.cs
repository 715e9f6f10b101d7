using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// Shampoo (seed 003, ch. 11): L ← L + G·Gᵀ, R ← R + Gᵀ·G per matrix, update direction
    /// L^(−1/4)·G·R^(−1/4) (the runtime's Precondition pass: inverse roots by symmetric
    /// eigendecomposition with ε, refreshed every k steps). Adam grafting: the step takes the
    /// magnitude of the Adam update, ‖adam‖ / ‖shampoo‖ per tensor. Decoupled weight decay.
    /// </summary>
    [Optimizer]
    public static partial class Shampoo
    {
        static void Update(ref float param, float grad, [State] ref float m, [State] ref float v,
            [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.999)] float beta2,
            [Hyper(1e-8)] float eps, [Hyper(0.0)] float weightDecay, [Step] int t)
        {
            m = beta1 * m + (1 - beta1) * grad;
            v = beta2 * v + (1 - beta2) * grad * grad;
            var adam = m / (1 - Pow(beta1, t)) / (Sqrt(v / (1 - Pow(beta2, t))) + eps);
            var direction = Precondition(grad);
            var graft = Norm(adam) / Max(Norm(direction), 1e-30f);
            param -= lr * (graft * direction + weightDecay * param);
        }
    }
}
