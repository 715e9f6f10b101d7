using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;

namespace Fused.Benchmarks.Elementwise
{
    /// <summary>
    /// The plain C alternative: a fused AdamW kernel compiled here with gcc -O3 -march=native -fopenmp
    /// and called through P/Invoke, the ceiling a C programmer would reach without hand tuning.
    /// </summary>
    public static unsafe class NativeKernel
    {
        private const string Source = @"
#include <math.h>
#include <stddef.h>
#include <omp.h>
void adamw_step(float* restrict p, const float* restrict g, float* restrict m, float* restrict v, size_t n,
                float lr, float b1, float b2, float eps, float wd, float bc1, float bc2, int threads)
{
    const float omb1 = 1.0f - b1, omb2 = 1.0f - b2;
    #pragma omp parallel for simd num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + omb1 * gi;
        float vi = b2 * v[i] + omb2 * gi * gi;
        float mh = mi / bc1, vh = vi / bc2;
        p[i] = p[i] - lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
        m[i] = mi; v[i] = vi;
    }
}
void copy_floats(float* restrict dst, const float* restrict src, size_t n, int threads)
{
    #pragma omp parallel for simd num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}
";
        private static delegate* unmanaged<float*, float*, float*, float*, nuint, float, float, float, float, float, float, float, int, void> _adamw;
        private static delegate* unmanaged<float*, float*, nuint, int, void> _copy;

        public static string? Error { get; private set; }

        /// <summary>Builds the kernel once per process (into a temp dir); false with <see cref="Error"/> when gcc is missing.</summary>
        public static bool TryLoad()
        {
            if (_adamw != null) return true;
            if (Error != null) return false;
            try
            {
                var dir = Path.Combine(Path.GetTempPath(), "fused-bench-native");
                Directory.CreateDirectory(dir);
                var c = Path.Combine(dir, "adamw.c");
                var so = Path.Combine(dir, "libfusedbench.so");
                File.WriteAllText(c, Source);
                var psi = new ProcessStartInfo("gcc", $"-O3 -march=native -fopenmp -fno-math-errno -ffp-contract=off -shared -fPIC -o \"{so}\" \"{c}\" -lm")
                { RedirectStandardError = true, RedirectStandardOutput = true };
                using var proc = Process.Start(psi)!;
                string err = proc.StandardError.ReadToEnd();
                proc.WaitForExit();
                if (proc.ExitCode != 0) { Error = "gcc failed: " + err; return false; }
                var lib = NativeLibrary.Load(so);
                _adamw = (delegate* unmanaged<float*, float*, float*, float*, nuint, float, float, float, float, float, float, float, int, void>)NativeLibrary.GetExport(lib, "adamw_step");
                _copy = (delegate* unmanaged<float*, float*, nuint, int, void>)NativeLibrary.GetExport(lib, "copy_floats");
                return true;
            }
            catch (Exception e)
            {
                Error = e.Message;
                return false;
            }
        }

        public static void AdamW(Span<float> p, Span<float> g, Span<float> m, Span<float> v, float lr, float b1, float b2, float eps, float wd, float bc1, float bc2, int threads)
        {
            fixed (float* pp = p, pg = g, pm = m, pv = v)
                _adamw(pp, pg, pm, pv, (nuint)p.Length, lr, b1, b2, eps, wd, bc1, bc2, threads);
        }

        public static void Copy(float[] dst, float[] src, int threads)
        {
            fixed (float* d = dst, s = src) _copy(d, s, (nuint)dst.Length, threads);
        }
    }
}
