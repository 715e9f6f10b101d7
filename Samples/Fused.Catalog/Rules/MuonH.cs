using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// MuonH (seed 003, ch. 12): Muon on the hyperball. R = ‖W₀‖F is recorded at the first step; the
    /// orthogonalised update is normalised to a step of η·R and the weight is retracted to radius R.
    /// </summary>
    [Optimizer]
    public static partial class MuonH
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [State(StateShape.Scalar)] ref float radius,
            [Hyper(0.02)] float lr, [Hyper(0.95)] float beta, [Step] int t)
        {
            radius = t == 1 ? Norm(param) : radius;
            momentum = beta * momentum + grad;
            var orthogonal = Orthogonalize(grad + beta * momentum);
            var moved = param - lr * radius * orthogonal / Max(Norm(orthogonal), 1e-12f);
            param = radius * moved / Max(Norm(moved), 1e-12f);
        }
    }
}
