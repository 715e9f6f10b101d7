using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Row-major float BLAS/LAPACK entry points for the matrix passes. Dispatches to native OpenBLAS when a
    /// library is found and to <see cref="ManagedBlas"/> otherwise; FUSED_BLAS=managed forces the fallback and
    /// FUSED_BLAS=openblas makes a missing native library an error. The choice is made once, on first use.
    /// </summary>
    public static class Blas
    {
        /// <summary>Name of the environment variable that overrides backend selection.</summary>
        public const string BackendVariable = "FUSED_BLAS";

        private static readonly Lazy<BlasBackendKind> Selected = new Lazy<BlasBackendKind>(SelectFromEnvironment);

        /// <summary>Receives one line naming the backend when it is selected. Set it before the first BLAS call.</summary>
        public static Action<string>? Log { get; set; }

        /// <summary>The backend in use: <see cref="BlasBackendKind.OpenBlas"/> or <see cref="BlasBackendKind.Managed"/>.</summary>
        public static BlasBackendKind BackendKind => Selected.Value;

        /// <summary>Human-readable backend, e.g. "OpenBLAS (libopenblas.so.0)" or "managed".</summary>
        public static string Backend => Selected.Value == BlasBackendKind.OpenBlas ? $"OpenBLAS ({OpenBlas.LibraryName})" : "managed";

        /// <inheritdoc cref="OpenBlas.Sgemm"/>
        public static void Sgemm(
            bool transA, bool transB, int m, int n, int k, float alpha,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            if (Selected.Value == BlasBackendKind.OpenBlas)
            {
                OpenBlas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }
            else
            {
                ManagedBlas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }
        }

        /// <inheritdoc cref="OpenBlas.Ssyrk"/>
        public static void Ssyrk(
            TriangleHalf uplo, bool transA, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            float beta, Span<float> c, int ldc, bool mirrorToFull = false)
        {
            if (Selected.Value == BlasBackendKind.OpenBlas)
            {
                OpenBlas.Ssyrk(uplo, transA, n, k, alpha, a, lda, beta, c, ldc, mirrorToFull);
            }
            else
            {
                ManagedBlas.Ssyrk(uplo, transA, n, k, alpha, a, lda, beta, c, ldc, mirrorToFull);
            }
        }

        /// <inheritdoc cref="OpenBlas.Ssymm"/>
        public static void Ssymm(
            bool rightSide, TriangleHalf uplo, int m, int n, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            if (Selected.Value == BlasBackendKind.OpenBlas)
            {
                OpenBlas.Ssymm(rightSide, uplo, m, n, alpha, a, lda, b, ldb, beta, c, ldc);
            }
            else
            {
                ManagedBlas.Ssymm(rightSide, uplo, m, n, alpha, a, lda, b, ldb, beta, c, ldc);
            }
        }

        /// <inheritdoc cref="OpenBlas.Ssyevd"/>
        public static void Ssyevd(int n, Span<float> a, int lda, Span<float> eigenvalues)
        {
            if (Selected.Value == BlasBackendKind.OpenBlas)
            {
                OpenBlas.Ssyevd(n, a, lda, eigenvalues);
            }
            else
            {
                ManagedBlas.Ssyevd(n, a, lda, eigenvalues);
            }
        }

        /// <summary>Pure selection rule, separated from the process environment so it can be tested.</summary>
        /// <param name="request">Value of FUSED_BLAS (null, "", "auto", "managed" or "openblas"; case-insensitive).</param>
        /// <param name="nativeAvailable">Whether a native library loaded.</param>
        internal static BlasBackendKind Choose(string? request, bool nativeAvailable)
        {
            string normalized = (request ?? string.Empty).Trim().ToLowerInvariant();
            switch (normalized)
            {
                case "":
                case "auto":
                    return nativeAvailable ? BlasBackendKind.OpenBlas : BlasBackendKind.Managed;
                case "managed":
                    return BlasBackendKind.Managed;
                case "openblas":
                    if (!nativeAvailable)
                    {
                        throw new InvalidOperationException(
                            $"{BackendVariable}=openblas but no native BLAS could be loaded: {OpenBlasLibrary.LoadFailure ?? "unknown reason"}. Install libopenblas0.");
                    }

                    return BlasBackendKind.OpenBlas;
                default:
                    throw new InvalidOperationException($"{BackendVariable}='{request}' is not recognised; use 'auto', 'openblas' or 'managed'.");
            }
        }

        private static BlasBackendKind SelectFromEnvironment()
        {
            string? request = Environment.GetEnvironmentVariable(BackendVariable);
            bool forcedManaged = string.Equals(request?.Trim(), "managed", StringComparison.OrdinalIgnoreCase);
            // Don't even load the native library when the fallback is forced.
            BlasBackendKind kind = Choose(request, !forcedManaged && OpenBlas.IsAvailable);
            string line = kind == BlasBackendKind.OpenBlas
                ? $"Fused BLAS backend: OpenBLAS ({OpenBlas.LibraryName})"
                : $"Fused BLAS backend: managed ({(forcedManaged ? BackendVariable + "=managed" : OpenBlasLibrary.LoadFailure ?? "no native BLAS")})";
            Log?.Invoke(line);
            return kind;
        }
    }
}
