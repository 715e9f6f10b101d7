using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>Shampoo's Kronecker-factor statistics and preconditioned direction, on BLAS.</summary>
    public static class ShampooStatistics
    {
        /// <summary>
        /// L ← decay·L + weight·G·Gᵀ (rows×rows) and R ← decay·R + weight·Gᵀ·G (cols×cols), both full symmetric,
        /// for the row-major rows×cols gradient G. decay = 1, weight = 1 is the original (AdaGrad-style) sum;
        /// decay = β₂, weight = 1 − β₂ is the EMA form.
        /// </summary>
        /// <exception cref="ArgumentException">Bad shapes, or NaN/∞ in <paramref name="g"/>.</exception>
        public static void AccumulateGram(
            ReadOnlySpan<float> g, int rows, int cols, Span<float> left, Span<float> right, float decay = 1f, float weight = 1f)
        {
            CheckMatrix(g, rows, cols, nameof(g));
            CheckMatrix(left, rows, rows, nameof(left));
            CheckMatrix(right, cols, cols, nameof(right));
            if (!DenseOps.AllFinite(g))
            {
                throw new ArgumentException($"g ({rows}x{cols}) contains NaN or infinity; it would poison the Shampoo statistics permanently.", nameof(g));
            }

            Blas.Ssyrk(TriangleHalf.Upper, false, rows, cols, weight, g, cols, decay, left, rows, mirrorToFull: true);
            Blas.Ssyrk(TriangleHalf.Upper, true, cols, rows, weight, g, cols, decay, right, cols, mirrorToFull: true);
        }

        /// <summary>
        /// result = leftRoot·G·rightRoot (e.g. L^(−1/4)·G·R^(−1/4)); leftRoot is rows×rows and rightRoot cols×cols,
        /// both symmetric (only their upper triangles are read). Uses workspace slot 2.
        /// </summary>
        public static void Precondition(
            ReadOnlySpan<float> leftRoot, ReadOnlySpan<float> g, ReadOnlySpan<float> rightRoot, int rows, int cols,
            Span<float> result, MatrixWorkspace workspace)
        {
            ArgumentNullException.ThrowIfNull(workspace);
            CheckMatrix(g, rows, cols, nameof(g));
            CheckMatrix(leftRoot, rows, rows, nameof(leftRoot));
            CheckMatrix(rightRoot, cols, cols, nameof(rightRoot));
            CheckMatrix(result, rows, cols, nameof(result));
            Span<float> leftApplied = workspace.Get(2, rows * cols);
            Blas.Ssymm(false, TriangleHalf.Upper, rows, cols, 1f, leftRoot, rows, g, cols, 0f, leftApplied, cols);
            Blas.Ssymm(true, TriangleHalf.Upper, rows, cols, 1f, rightRoot, cols, leftApplied, cols, 0f, result, cols);
        }

        private static void CheckMatrix(ReadOnlySpan<float> span, int rows, int cols, string name)
        {
            if (rows <= 0 || cols <= 0)
            {
                throw new ArgumentException($"Matrix shape must be positive, got {rows}x{cols}.", name);
            }

            long count = (long)rows * cols;
            if (span.Length != count)
            {
                throw new ArgumentException($"{name} has {span.Length} elements but a {rows}x{cols} matrix needs exactly {count}.", name);
            }
        }
    }
}
