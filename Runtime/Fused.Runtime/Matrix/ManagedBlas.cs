using System;
using System.Buffers;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Row-major float BLAS/LAPACK subset in managed code: the fallback <see cref="Blas"/> uses when no native
    /// library is found (or FUSED_BLAS=managed). Same contracts and argument checks as <see cref="OpenBlas"/>.
    /// Products at or above about 128³ multiply-adds use Parallel.For and therefore allocate a little.
    /// </summary>
    public static unsafe class ManagedBlas
    {
        /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is m×k, op(B) is k×n.</summary>
        public static void Sgemm(
            bool transA, bool transB, int m, int n, int k, float alpha,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            BlasArguments.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                ManagedGemm.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            }
        }

        /// <summary>Same contract as <see cref="OpenBlas.Ssyrk"/>. Computes the full product, so costs a GEMM rather than half of one.</summary>
        public static void Ssyrk(
            TriangleHalf uplo, bool transA, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            float beta, Span<float> c, int ldc, bool mirrorToFull = false)
        {
            BlasArguments.CheckSyrk(transA, n, k, a, lda, c, ldc);
            if (n == 0)
            {
                return;
            }

            float[] product = ArrayPool<float>.Shared.Rent(n * n);
            try
            {
                // A·Aᵀ = gemm(A, Aᵀ); Aᵀ·A = gemm(Aᵀ, A).
                fixed (float* pa = a)
                fixed (float* pp = product)
                {
                    ManagedGemm.Sgemm(transA, !transA, n, n, k, alpha, pa, lda, pa, lda, 0f, pp, n);
                }

                for (int i = 0; i < n; i++)
                {
                    int start = uplo == TriangleHalf.Upper ? i : 0;
                    int end = uplo == TriangleHalf.Upper ? n : i + 1;
                    for (int j = start; j < end; j++)
                    {
                        ref float target = ref c[(i * ldc) + j];
                        target = beta == 0f ? product[(i * n) + j] : (beta * target) + product[(i * n) + j];
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(product);
            }

            if (mirrorToFull)
            {
                BlasArguments.MirrorTriangle(c, n, ldc, uplo);
            }
        }

        /// <summary>Same contract as <see cref="OpenBlas.Ssymm"/>: only the <paramref name="uplo"/> triangle of A is read.</summary>
        public static void Ssymm(
            bool rightSide, TriangleHalf uplo, int m, int n, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            BlasArguments.CheckSymm(rightSide, m, n, a, lda, b, ldb, c, ldc);
            if (m == 0 || n == 0)
            {
                return;
            }

            int order = rightSide ? n : m;
            float[] full = ArrayPool<float>.Shared.Rent(order * order);
            try
            {
                Span<float> fullSpan = full.AsSpan(0, order * order);
                for (int i = 0; i < order; i++)
                {
                    a.Slice(i * lda, order).CopyTo(fullSpan.Slice(i * order, order));
                }

                BlasArguments.MirrorTriangle(fullSpan, order, order, uplo);
                fixed (float* pa = full)
                fixed (float* pb = b)
                fixed (float* pc = c)
                {
                    if (rightSide)
                    {
                        ManagedGemm.Sgemm(false, false, m, n, n, alpha, pb, ldb, pa, order, beta, pc, ldc);
                    }
                    else
                    {
                        ManagedGemm.Sgemm(false, false, m, n, m, alpha, pa, order, pb, ldb, beta, pc, ldc);
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(full);
            }
        }

        /// <summary>Same contract as <see cref="OpenBlas.Ssyevd"/>, computed by cyclic Jacobi rotations in float64.</summary>
        public static void Ssyevd(int n, Span<float> a, int lda, Span<float> eigenvalues)
        {
            BlasArguments.CheckSyevd(n, a, lda, eigenvalues);
            JacobiEigenSolver.Solve(n, a, lda, eigenvalues);
        }
    }
}
