using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;

namespace Fused.Benchmarks.OpenCL
{
    /// <summary>
    /// Lion's step in plain C (gcc -O3 -march=native -fopenmp, no FMA contraction), the CPU ceiling for the device's
    /// Lion kernels beside <see cref="Elementwise.NativeKernel"/>'s AdamW. Sign keeps ±0 and NaN like the DSL's.
    /// </summary>
    public static unsafe class NativeLion
    {
        private const string Source = @"
#include <stddef.h>
#include <omp.h>
void lion_step(float* restrict p, const float* restrict g, float* restrict m, size_t n,
               float lr, float b1, float b2, float wd, int threads)
{
    const float omb1 = 1.0f - b1, omb2 = 1.0f - b2;
    #pragma omp parallel for simd num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i], mi = m[i], pi = p[i];
        float c = b1 * mi + omb1 * gi;
        float s = c > 0.0f ? 1.0f : (c < 0.0f ? -1.0f : c);
        p[i] = pi - lr * (s + wd * pi);
        m[i] = b2 * mi + omb2 * gi;
    }
}
";
        private static delegate* unmanaged<float*, float*, float*, nuint, float, float, float, float, int, void> _lion;

        public static string? Error { get; private set; }

        /// <summary>Builds the kernel once per process; false with <see cref="Error"/> when gcc is missing.</summary>
        public static bool TryLoad()
        {
            if (_lion != null) return true;
            if (Error != null) return false;
            try
            {
                var dir = Path.Combine(Path.GetTempPath(), "fused-bench-native");
                Directory.CreateDirectory(dir);
                var c = Path.Combine(dir, "lion.c");
                var so = Path.Combine(dir, "libfusedlion.so");
                File.WriteAllText(c, Source);
                var psi = new ProcessStartInfo("gcc", $"-O3 -march=native -fopenmp -fno-math-errno -ffp-contract=off -shared -fPIC -o \"{so}\" \"{c}\"")
                { RedirectStandardError = true, RedirectStandardOutput = true };
                using var proc = Process.Start(psi)!;
                string err = proc.StandardError.ReadToEnd();
                proc.WaitForExit();
                if (proc.ExitCode != 0) { Error = "gcc failed: " + err; return false; }
                _lion = (delegate* unmanaged<float*, float*, float*, nuint, float, float, float, float, int, void>)NativeLibrary.GetExport(NativeLibrary.Load(so), "lion_step");
                return true;
            }
            catch (Exception e)
            {
                Error = e.Message;
                return false;
            }
        }

        public static void Lion(float[] p, float[] g, float[] m, float lr, float b1, float b2, float wd, int threads)
        {
            fixed (float* pp = p, pg = g, pm = m)
                _lion(pp, pg, pm, (nuint)p.Length, lr, b1, b2, wd, threads);
        }
    }
}
