using System;
using System.Buffers;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Row-major float BLAS/LAPACK calls into the native OpenBLAS library, bypassing backend selection.
    /// Use <see cref="Blas"/> in production code; this class exists so tests and benchmarks can pin the native path.
    /// </summary>
    public static unsafe class OpenBlas
    {
        /// <summary>True when a native library with cblas_sgemm, cblas_ssyrk, cblas_ssymm and ssyevd_ was loaded.</summary>
        public static bool IsAvailable => OpenBlasLibrary.Current != null;

        /// <summary>File name of the loaded native library, or null.</summary>
        public static string? LibraryName => OpenBlasLibrary.Current?.LibraryName;

        /// <summary>Threads OpenBLAS will use (openblas_get_num_threads), or null if unknown or not loaded.</summary>
        public static int? ThreadCount
        {
            get
            {
                OpenBlasLibrary? library = OpenBlasLibrary.Current;
                return library == null || library.GetThreadCount == null ? null : library.GetThreadCount();
            }
        }

        private static OpenBlasLibrary Library
            => OpenBlasLibrary.Current
               ?? throw new InvalidOperationException("OpenBLAS is not available: " + (OpenBlasLibrary.LoadFailure ?? "unknown reason") + ". Install libopenblas0 or use the managed backend.");

        /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is m×k, op(B) is k×n.</summary>
        public static void Sgemm(
            bool transA, bool transB, int m, int n, int k, float alpha,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            BlasArguments.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
            OpenBlasLibrary library = Library;
            if (m == 0 || n == 0)
            {
                return;
            }

            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                library.Sgemm(
                    OpenBlasLibrary.RowMajor,
                    transA ? OpenBlasLibrary.Trans : OpenBlasLibrary.NoTrans,
                    transB ? OpenBlasLibrary.Trans : OpenBlasLibrary.NoTrans,
                    m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            }
        }

        /// <summary>
        /// C = alpha·A·Aᵀ + beta·C (A n×k) or, with <paramref name="transA"/>, C = alpha·Aᵀ·A + beta·C (A k×n).
        /// Only the <paramref name="uplo"/> triangle of C is written unless <paramref name="mirrorToFull"/>.
        /// </summary>
        public static void Ssyrk(
            TriangleHalf uplo, bool transA, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            float beta, Span<float> c, int ldc, bool mirrorToFull = false)
        {
            BlasArguments.CheckSyrk(transA, n, k, a, lda, c, ldc);
            OpenBlasLibrary library = Library;
            if (n == 0)
            {
                return;
            }

            fixed (float* pa = a)
            fixed (float* pc = c)
            {
                library.Ssyrk(
                    OpenBlasLibrary.RowMajor,
                    uplo == TriangleHalf.Upper ? OpenBlasLibrary.Upper : OpenBlasLibrary.Lower,
                    transA ? OpenBlasLibrary.Trans : OpenBlasLibrary.NoTrans,
                    n, k, alpha, pa, lda, beta, pc, ldc);
            }

            if (mirrorToFull)
            {
                BlasArguments.MirrorTriangle(c, n, ldc, uplo);
            }
        }

        /// <summary>
        /// C = alpha·A·B + beta·C (A m×m symmetric) or, with <paramref name="rightSide"/>, C = alpha·B·A + beta·C (A n×n);
        /// only the <paramref name="uplo"/> triangle of A is read. B and C are m×n.
        /// </summary>
        public static void Ssymm(
            bool rightSide, TriangleHalf uplo, int m, int n, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            BlasArguments.CheckSymm(rightSide, m, n, a, lda, b, ldb, c, ldc);
            OpenBlasLibrary library = Library;
            if (m == 0 || n == 0)
            {
                return;
            }

            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                library.Ssymm(
                    OpenBlasLibrary.RowMajor,
                    rightSide ? OpenBlasLibrary.Right : OpenBlasLibrary.Left,
                    uplo == TriangleHalf.Upper ? OpenBlasLibrary.Upper : OpenBlasLibrary.Lower,
                    m, n, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            }
        }

        /// <summary>
        /// Symmetric eigendecomposition A = Q·diag(λ)·Qᵀ with LAPACK ssyevd (divide and conquer).
        /// On entry the upper triangle (row-major) of A is read; on exit A holds Q with eigenvector j in column j,
        /// and <paramref name="eigenvalues"/> holds λ in ascending order.
        /// </summary>
        /// <exception cref="InvalidOperationException">LAPACK reported that the algorithm failed to converge.</exception>
        public static void Ssyevd(int n, Span<float> a, int lda, Span<float> eigenvalues)
        {
            BlasArguments.CheckSyevd(n, a, lda, eigenvalues);
            OpenBlasLibrary library = Library;
            if (n == 0)
            {
                return;
            }

            // Minimal sizes for jobz = 'V' from the LAPACK documentation; avoids a workspace query call.
            int lwork = checked(1 + (6 * n) + (2 * n * n));
            int liwork = 3 + (5 * n);
            float[] work = ArrayPool<float>.Shared.Rent(lwork);
            int[] iwork = ArrayPool<int>.Shared.Rent(liwork);
            try
            {
                // LAPACK is column-major: our row-major A is its transpose, equal to A since A is symmetric,
                // and our upper triangle is its lower one.
                byte jobz = (byte)'V';
                byte uploLapack = (byte)'L';
                int order = n;
                int leading = lda;
                int info = 0;
                fixed (float* pa = a)
                fixed (float* pw = eigenvalues)
                fixed (float* pwork = work)
                fixed (int* piwork = iwork)
                {
                    library.Ssyevd(&jobz, &uploLapack, &order, pa, &leading, pw, pwork, &lwork, piwork, &liwork, &info, 1, 1);
                }

                if (info < 0)
                {
                    throw new InvalidOperationException($"ssyevd rejected argument {-info} (internal error in Fused's LAPACK call).");
                }

                if (info > 0)
                {
                    throw new InvalidOperationException($"ssyevd failed to converge ({info} off-diagonal elements did not reach zero); is the input finite and symmetric?");
                }

                // Column-major eigenvectors read row-major are Qᵀ: transpose in place so column j is eigenvector j.
                TransposeSquareInPlace(a, n, lda);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(work);
                ArrayPool<int>.Shared.Return(iwork);
            }
        }

        internal static void TransposeSquareInPlace(Span<float> a, int n, int lda)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = i + 1; j < n; j++)
                {
                    int upper = (i * lda) + j;
                    int lower = (j * lda) + i;
                    (a[upper], a[lower]) = (a[lower], a[upper]);
                }
            }
        }
    }
}
