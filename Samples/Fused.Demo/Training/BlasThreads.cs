using System;
using System.Runtime.InteropServices;
using Fused.Runtime.Matrix;

namespace Fused.Demo.Training
{
    /// <summary>
    /// Sets OpenBLAS's thread count for --threads. The runtime's Blas class does not expose it, and
    /// OPENBLAS_NUM_THREADS set from .NET does not reach the native environment, so call the library's own setter.
    /// </summary>
    public static class BlasThreads
    {
        private delegate void SetNumThreads(int threads);

        /// <summary>Returns a note on what happened (for the run header).</summary>
        public static string TrySet(int threads)
        {
            if (Blas.BackendKind != BlasBackendKind.OpenBlas) return "managed BLAS (single-threaded per call)";
            foreach (string name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas.dll" })
            {
                if (!NativeLibrary.TryLoad(name, out IntPtr handle)) continue;
                if (!NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out IntPtr export)) continue;
                Marshal.GetDelegateForFunctionPointer<SetNumThreads>(export)(threads);
                return $"OpenBLAS threads set to {threads}";
            }

            return "could not set OpenBLAS threads (no openblas_set_num_threads); using its default";
        }
    }
}
