namespace Fused.Runtime.Matrix
{
    /// <summary>Which implementation <see cref="Blas"/> dispatches to.</summary>
    public enum BlasBackendKind
    {
        /// <summary>Native OpenBLAS (or a CBLAS-compatible libblas with LAPACK) through P/Invoke.</summary>
        OpenBlas,

        /// <summary>The managed SIMD GEMM and Jacobi eigensolver in this assembly.</summary>
        Managed,
    }
}
