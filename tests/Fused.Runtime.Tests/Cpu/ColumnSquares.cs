using Fused;
using static Fused.Intrinsics;

namespace Fused.Runtime.Tests.Cpu
{
    /// <summary>
    /// Test-only rule whose column state is a column sum itself (not a value computed from it) and which needs
    /// two more passes after the one that sums: the column sums must survive those passes untouched.
    /// </summary>
    [Optimizer]
    public static partial class ColumnSquares
    {
        static void Update(ref float param, float grad, [State(StateShape.Column)] ref float colSq, [Hyper(1e-2)] float lr)
        {
            colSq = ColSum(grad * grad);
            var u = grad * Rsqrt(colSq + 1e-12f);
            param -= lr * u / Max(Rms(u), 1e-12f);
        }
    }
}
