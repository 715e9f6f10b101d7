using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>C-Lion (seed 001): Lion with the cautious mask, normalised by its mean over the tensor.</summary>
    [Optimizer(Name = "C-Lion")]
    public static partial class CautiousLion
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [Hyper(1e-4)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.99)] float beta2,
            [Hyper(0.0)] float weightDecay)
        {
            var u = Sign(beta1 * momentum + (1 - beta1) * grad);
            var mask = Where(u * grad > 0, 1f, 0f);
            u = u * mask / Max(Mean(mask), 1e-3f);
            param -= lr * (u + weightDecay * param);
            momentum = beta2 * momentum + (1 - beta2) * grad;
        }
    }
}
