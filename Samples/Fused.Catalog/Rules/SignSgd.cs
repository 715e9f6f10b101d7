using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>SignSGD (seed 003, ch. 6): θ ← θ − η·sign(g). No state.</summary>
    [Optimizer(Name = "SignSGD")]
    public static partial class SignSgd
    {
        static void Update(ref float param, float grad, [Hyper(1e-3)] float lr)
        {
            param -= lr * Sign(grad);
        }
    }
}
