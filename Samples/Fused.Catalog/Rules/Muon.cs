using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// Muon (seed 000, Keller Jordan 2024): momentum, orthogonalised by Newton-Schulz, applied to 2-D
    /// hidden weights. The update is scaled by √max(1, rows/cols) (Keller Jordan) or, with
    /// moonshotScale = 1, by 0.2·√max(rows, cols) so AdamW's learning rate and weight decay carry over
    /// (Moonshot). Nesterov momentum when nesterov = 1. Decoupled weight decay.
    /// </summary>
    [Optimizer]
    public static partial class Muon
    {
        static void Update(ref float param, float grad, [State] ref float momentum,
            [Hyper(0.02)] float lr, [Hyper(0.95)] float beta, [Hyper(0.0)] float weightDecay,
            [Hyper(1.0)] float nesterov, [Hyper(0.0)] float moonshotScale)
        {
            momentum = beta * momentum + grad;
            var direction = nesterov > 0 ? grad + beta * momentum : momentum;
            var orthogonal = Orthogonalize(direction);
            var scale = moonshotScale > 0 ? 0.2f * Sqrt(Max(Rows, Cols)) : Sqrt(Max(1f, Rows / Cols));
            param -= lr * (scale * orthogonal + weightDecay * param);
        }
    }
}
