using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>Plain stochastic gradient descent: θ ← θ − η·g.</summary>
    [Optimizer(Name = "SGD")]
    public static partial class Sgd
    {
        static void Update(ref float param, float grad, [Hyper(0.01)] float lr)
        {
            param -= lr * grad;
        }
    }
}
