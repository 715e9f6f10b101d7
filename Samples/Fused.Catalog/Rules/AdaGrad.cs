using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>AdaGrad (seed 003, ch. 3): G ← G + g²; θ ← θ − η·g / √(G + ε).</summary>
    [Optimizer]
    public static partial class AdaGrad
    {
        static void Update(ref float param, float grad, [State] ref float sumSquares,
            [Hyper(0.01)] float lr, [Hyper(1e-10)] float eps)
        {
            sumSquares += grad * grad;
            param -= lr * grad / Sqrt(sumSquares + eps);
        }
    }
}
