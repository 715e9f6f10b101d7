using System;
using Fused.Ir;

namespace Fused.Runtime.Matrix
{
    /// <summary>The IR's matrix passes implemented with this runtime's Newton-Schulz (OpenBLAS or managed GEMM).</summary>
    public sealed class NewtonSchulzKernels : IMatrixKernels
    {
        private readonly NewtonSchulzOptions _options;
        private readonly MatrixWorkspace _workspace = new MatrixWorkspace();

        public NewtonSchulzKernels(NewtonSchulzOptions? options = null)
        {
            _options = options ?? NewtonSchulzOptions.Default;
        }

        public NewtonSchulzOptions Options => _options;

        public void Orthogonalize(float[] matrix, int rows, int cols) => Orthogonalize(matrix.AsSpan(), rows, cols);

        public void Orthogonalize(Span<float> matrix, int rows, int cols) =>
            NewtonSchulz.Orthogonalize(matrix, rows, cols, matrix, _options, _workspace);
    }
}
