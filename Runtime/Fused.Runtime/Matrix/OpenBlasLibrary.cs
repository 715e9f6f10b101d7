using System;
using System.Runtime.InteropServices;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Loads OpenBLAS (or a CBLAS-compatible libblas) at run time and resolves the entry points
    /// we call through unmanaged function pointers. Nothing here validates arguments: callers
    /// go through <see cref="Blas"/> or <see cref="OpenBlas"/>, which do.
    /// </summary>
    internal sealed unsafe class OpenBlasLibrary
    {
        // CBLAS enum values (cblas.h).
        internal const int RowMajor = 101;
        internal const int NoTrans = 111;
        internal const int Trans = 112;
        internal const int Upper = 121;
        internal const int Lower = 122;
        internal const int Left = 141;
        internal const int Right = 142;

        private static readonly string[] CandidateNames =
        {
            "libopenblas.so.0",
            "libopenblas.so",
            "libblas.so.3",
            "libopenblas.dylib",
            "libopenblas.dll",
        };

        private static readonly Lazy<OpenBlasLibrary?> Instance = new Lazy<OpenBlasLibrary?>(TryLoadAny);

        internal readonly string LibraryName;

        // void cblas_sgemm(order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
        internal readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;

        // void cblas_ssyrk(order, uplo, trans, n, k, alpha, A, lda, beta, C, ldc)
        internal readonly delegate* unmanaged<int, int, int, int, int, float, float*, int, float, float*, int, void> Ssyrk;

        // void cblas_ssymm(order, side, uplo, m, n, alpha, A, lda, B, ldb, beta, C, ldc)
        internal readonly delegate* unmanaged<int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Ssymm;

        // Fortran LAPACK: ssyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info, len(jobz), len(uplo)).
        // gfortran appends hidden string lengths; passing them is harmless for C-translated LAPACK.
        internal readonly delegate* unmanaged<byte*, byte*, int*, float*, int*, float*, float*, int*, int*, int*, int*, nuint, nuint, void> Ssyevd;

        // int openblas_get_num_threads(void); absent from other CBLAS libraries, so optional.
        internal readonly delegate* unmanaged<int> GetThreadCount;

        private OpenBlasLibrary(string name, IntPtr handle)
        {
            if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out IntPtr threads))
            {
                GetThreadCount = (delegate* unmanaged<int>)threads;
            }

            LibraryName = name;
            Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(handle, "cblas_sgemm");
            Ssyrk = (delegate* unmanaged<int, int, int, int, int, float, float*, int, float, float*, int, void>)NativeLibrary.GetExport(handle, "cblas_ssyrk");
            Ssymm = (delegate* unmanaged<int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(handle, "cblas_ssymm");
            Ssyevd = (delegate* unmanaged<byte*, byte*, int*, float*, int*, float*, float*, int*, int*, int*, int*, nuint, nuint, void>)NativeLibrary.GetExport(handle, "ssyevd_");
        }

        /// <summary>The loaded library, or null when none of the candidates has every symbol we need.</summary>
        internal static OpenBlasLibrary? Current => Instance.Value;

        /// <summary>Why the last candidate failed, for the backend log line.</summary>
        internal static string? LoadFailure { get; private set; }

        private static OpenBlasLibrary? TryLoadAny()
        {
            foreach (string name in CandidateNames)
            {
                if (!NativeLibrary.TryLoad(name, typeof(OpenBlasLibrary).Assembly, null, out IntPtr handle))
                {
                    LoadFailure = "no library named " + string.Join(", ", CandidateNames) + " could be loaded";
                    continue;
                }

                try
                {
                    return new OpenBlasLibrary(name, handle);
                }
                catch (EntryPointNotFoundException e)
                {
                    // e.g. a reference libblas.so.3 without LAPACK: keep looking.
                    LoadFailure = name + " lacks a required symbol (" + e.Message + ")";
                    NativeLibrary.Free(handle);
                }
            }

            return null;
        }
    }
}
