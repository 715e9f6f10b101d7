using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Fused.Ilgpu
{
    /// <summary>
    /// The product on CUDA through cuBLAS (ILGPU.Algorithms' <see cref="CuBlas"/>, SGEMM on the accelerator's stream, host
    /// pointer mode). cuBLAS is column-major: the row-major C = op(A)·op(B) (m×n) is computed as the column-major
    /// Cᵀ = op(B)ᵀ·op(A)ᵀ (n×m), which reads the same buffers with the operands swapped. Not run on these machines (no
    /// GPU): compiled, and exercised by <c>tests/gpu/run.sh</c> on an NVIDIA machine.
    /// </summary>
    public sealed class CuBlasGemm : IDeviceGemm
    {
        private readonly CuBlas _blas;

        /// <param name="accelerator">The CUDA accelerator the matrices live on.</param>
        public CuBlasGemm(CudaAccelerator accelerator)
        {
            _blas = new CuBlas(accelerator) { PointerMode = CuBlasPointerMode.Host };
            _blas.Stream = (CudaStream)accelerator.DefaultStream;
        }

        /// <inheritdoc/>
        public string Name => "cuBLAS";

        /// <inheritdoc/>
        public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
        {
            // Row-major X (r×q) is column-major Xᵀ with leading dimension q.
            _blas.Gemm(
                transB ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
                transA ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
                n, m, k, alpha,
                b, transB ? k : n,
                a, transA ? m : k,
                0f, c, n);
        }

        /// <inheritdoc/>
        public void Dispose() => _blas.Dispose();
    }
}
