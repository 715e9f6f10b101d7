using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// LAMB (You et al., 2019): the AdamW direction r, scaled per tensor by the trust ratio ‖θ‖ / ‖r‖
    /// (1 when either norm is zero).
    /// </summary>
    [Optimizer(Name = "LAMB")]
    public static partial class Lamb
    {
        static void Update(ref float param, float grad, [State] ref float m, [State] ref float v,
            [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.999)] float beta2,
            [Hyper(1e-6)] float eps, [Hyper(0.01)] float weightDecay, [Step] int t)
        {
            m = beta1 * m + (1 - beta1) * grad;
            v = beta2 * v + (1 - beta2) * grad * grad;
            var r = m / (1 - Pow(beta1, t)) / (Sqrt(v / (1 - Pow(beta2, t))) + eps) + weightDecay * param;
            var paramNorm = Norm(param);
            var updateNorm = Norm(r);
            var trust = paramNorm > 0 && updateNorm > 0 ? paramNorm / updateNorm : 1f;
            param -= lr * trust * r;
        }
    }
}
