using Fused;
using static Fused.Intrinsics;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>
    /// Test-only rule with both an element state and row/column states (no catalog rule has both): momentum of a
    /// gradient preconditioned by an Adafactor-style factored second moment. It exercises the engine's row/column
    /// path at low precision, where the element state is widened and narrowed around the tensor's step.
    /// </summary>
    [Optimizer]
    public static partial class FactoredMomentum
    {
        static void Update(ref float param, float grad, [State] ref float m,
            [State(StateShape.Row)] ref float rowMeans, [State(StateShape.Column)] ref float colMeans,
            [Hyper(1e-2)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.99)] float beta2)
        {
            var g2 = grad * grad + 1e-30f;
            rowMeans = beta2 * rowMeans + (1 - beta2) * RowMean(g2);
            colMeans = beta2 * colMeans + (1 - beta2) * ColMean(g2);
            m = beta1 * m + (1 - beta1) * grad * Rsqrt(rowMeans / Mean(rowMeans) * colMeans);
            param -= lr * m;
        }
    }
}
