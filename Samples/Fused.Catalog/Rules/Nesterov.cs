using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>Nesterov momentum in the form PyTorch uses: m ← β·m + g; θ ← θ − η·(g + β·m).</summary>
    [Optimizer]
    public static partial class Nesterov
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [Hyper(0.01)] float lr, [Hyper(0.9)] float beta)
        {
            momentum = beta * momentum + grad;
            param -= lr * (grad + beta * momentum);
        }
    }
}
