using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// HyperBall-AdamW (seed 003, ch. 12): the weight lives on the sphere of radius R = ‖W₀‖ recorded
    /// at the first step; the AdamW direction is normalised to a step of η·R, then the weight is
    /// retracted to radius R. lr is the relative step size in units of the weight's norm.
    /// </summary>
    [Optimizer(Name = "HyperBall-AdamW")]
    public static partial class HyperBallAdamW
    {
        static void Update(ref float param, float grad, [State] ref float m, [State] ref float v,
            [State(StateShape.Scalar)] ref float radius,
            [Hyper(0.01)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.999)] float beta2,
            [Hyper(1e-8)] float eps, [Step] int t)
        {
            radius = t == 1 ? Norm(param) : radius;
            m = beta1 * m + (1 - beta1) * grad;
            v = beta2 * v + (1 - beta2) * grad * grad;
            var u = m / (1 - Pow(beta1, t)) / (Sqrt(v / (1 - Pow(beta2, t))) + eps);
            var moved = param - lr * radius * u / Max(Norm(u), 1e-12f);
            param = radius * moved / Max(Norm(moved), 1e-12f);
        }
    }
}
