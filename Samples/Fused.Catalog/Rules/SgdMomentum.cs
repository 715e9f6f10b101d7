using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>SGD with heavy-ball momentum (seed 000): m ← β·m + g; θ ← θ − η·m.</summary>
    [Optimizer(Name = "SGD-Momentum")]
    public static partial class SgdMomentum
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [Hyper(0.01)] float lr, [Hyper(0.9)] float beta)
        {
            momentum = beta * momentum + grad;
            param -= lr * momentum;
        }
    }
}
