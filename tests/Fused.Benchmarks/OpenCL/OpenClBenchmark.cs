using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Fused.Runtime.OpenCL;

namespace Fused.Benchmarks.OpenCL
{
    /// <summary>
    /// OpenCL host-layer benchmark: program start-up (cold build vs disk cache vs memory), a fused AdamW
    /// element-wise kernel against a plain copy kernel (bandwidth ceiling), and SGEMM. Prints a markdown table.
    /// Options: <c>--sizes 16,64</c> (millions of floats), <c>--iterations N</c>, <c>--gemm N</c>.
    /// </summary>
    public static class OpenClBenchmark
    {
        private const string AdamWSource = @"
// uniforms: lr, beta1, beta2, eps, weight decay, 1 - beta1^t, 1 - beta2^t
__kernel void adamw_step(__global float* p, __global const float* g, __global float* m, __global float* v,
                         __constant float* u, const int n)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float lr = u[0], beta1 = u[1], beta2 = u[2], eps = u[3], wd = u[4], bc1 = u[5], bc2 = u[6];
    const float gi = g[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    const float pi = p[i];
    p[i] = pi - lr * ((mi / bc1) / (sqrt(vi / bc2) + eps) + wd * pi);
    m[i] = mi;
    v[i] = vi;
}";

        private const string CopySource = @"
__kernel void copy_floats(__global const float* src, __global float* dst, __constant float* u, const int n)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    dst[i] = src[i];
}";

        private static readonly float[] AdamWUniforms = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.271f, 0.002997f };

        /// <summary>Runs the benchmark and prints the results as a markdown table.</summary>
        public static void Run(string[] args)
        {
            int[] sizesMillions = { 16, 64 };
            int iterations = 5;
            int gemmSize = 1024;
            for (int i = 0; i + 1 < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--sizes":
                        sizesMillions = Array.ConvertAll(args[++i].Split(','), s => int.Parse(s, CultureInfo.InvariantCulture));
                        break;
                    case "--iterations":
                        iterations = int.Parse(args[++i], CultureInfo.InvariantCulture);
                        break;
                    case "--gemm":
                        gemmSize = int.Parse(args[++i], CultureInfo.InvariantCulture);
                        break;
                }
            }

            OpenClDevice device;
            try
            {
                device = OpenClDevice.Select();
            }
            catch (OpenClUnavailableException unavailable)
            {
                Console.WriteLine("OpenCL benchmark skipped: " + unavailable.Message);
                return;
            }

            Console.WriteLine("## OpenCL benchmark");
            Console.WriteLine();
            Console.WriteLine("Device: " + device.Describe());
            Console.WriteLine();
            var rows = new List<string[]>();
            string cacheRoot = Path.Combine(Path.GetTempPath(), "fused-opencl-bench-" + Guid.NewGuid().ToString("N"));
            try
            {
                MeasureStartup(device, cacheRoot, rows);
                using ClContext context = ClContext.Create(device, Path.Combine(cacheRoot, "main"));
                using ClQueue queue = context.CreateQueue();
                foreach (int millions in sizesMillions)
                {
                    MeasureElementwise(context, queue, millions * 1024 * 1024, iterations, rows);
                }
                MeasureGemm(context, queue, gemmSize, Math.Max(2, iterations / 2), rows);
            }
            finally
            {
                try
                {
                    Directory.Delete(cacheRoot, recursive: true);
                }
                catch (IOException)
                {
                }
            }

            Console.WriteLine("| benchmark | size | time | throughput | notes |");
            Console.WriteLine("| --- | --- | --- | --- | --- |");
            foreach (string[] row in rows)
            {
                Console.WriteLine("| " + string.Join(" | ", row) + " |");
            }
        }

        /// <summary>
        /// Start to first kernel completion with a fresh context and a fresh <see cref="ProgramCache"/> each time:
        /// cold (empty cache directory, source made unique so no driver-side cache can help), then a second fresh
        /// context reading the disk cache, then a repeat in the same cache (memory).
        /// </summary>
        private static void MeasureStartup(OpenClDevice device, string cacheRoot, List<string[]> rows)
        {
            string directory = Path.Combine(cacheRoot, "startup");
            string source = AdamWSource + "\n// nonce " + Guid.NewGuid().ToString("N") + "\n";
            (double coldMs, ProgramOrigin coldOrigin) = StartToFirstKernel(device, directory, source, repeatInSameCache: false);
            (double diskMs, ProgramOrigin diskOrigin) = StartToFirstKernel(device, directory, source, repeatInSameCache: false);
            (double memoryMs, ProgramOrigin memoryOrigin) = StartToFirstKernel(device, directory, source, repeatInSameCache: true);
            rows.Add(new[] { "start→first kernel, cold build", "1 program", Ms(coldMs), "-", "origin " + coldOrigin + "; empty cache dir, unique source" });
            rows.Add(new[] { "start→first kernel, disk cache", "1 program", Ms(diskMs), "-", "origin " + diskOrigin + "; fresh context + ProgramCache" });
            rows.Add(new[] { "program lookup + launch, memory", "1 program", Ms(memoryMs), "-", "origin " + memoryOrigin + "; same ProgramCache" });
        }

        private static (double Milliseconds, ProgramOrigin Origin) StartToFirstKernel(OpenClDevice device, string directory, string source, bool repeatInSameCache)
        {
            const int n = 4096;
            var stopwatch = Stopwatch.StartNew();
            using ClContext context = ClContext.Create(device, directory);
            if (repeatInSameCache)
            {
                // Warm the cache first; the measured request is then served from memory.
                context.Programs.Get(source);
                stopwatch.Restart();
            }
            using ClQueue queue = context.CreateQueue();
            CachedProgram program = context.Programs.GetOrBuild(source);
            ProgramOrigin origin = program.Origin;
            using ClKernel kernel = program.Program.CreateKernel("adamw_step");
            using ClBuffer p = context.CreateBuffer<float>(n);
            using ClBuffer g = context.CreateBuffer<float>(n);
            using ClBuffer m = context.CreateBuffer<float>(n);
            using ClBuffer v = context.CreateBuffer<float>(n);
            using ClBuffer u = context.CreateBuffer<float>(AdamWUniforms, ClMemoryAccess.ReadOnly);
            queue.Fill(p, 1f, 0, n);
            queue.Fill(g, 0.5f, 0, n);
            queue.Fill(m, 0f, 0, n);
            queue.Fill(v, 0f, 0, n);
            new ClElementwise(kernel, 4).Launch(queue, new[] { p, g, m, v }, u, n);
            queue.Finish();
            stopwatch.Stop();
            return (stopwatch.Elapsed.TotalMilliseconds, origin);
        }

        private static void MeasureElementwise(ClContext context, ClQueue queue, int n, int iterations, List<string[]> rows)
        {
            string size = (n / (1024 * 1024)) + "M floats";
            using ClBuffer p = context.CreateBuffer<float>(n);
            using ClBuffer g = context.CreateBuffer<float>(n);
            using ClBuffer m = context.CreateBuffer<float>(n);
            using ClBuffer v = context.CreateBuffer<float>(n);
            using ClBuffer u = context.CreateBuffer<float>(AdamWUniforms, ClMemoryAccess.ReadOnly);
            queue.Fill(p, 1f, 0, n);
            queue.Fill(g, 0.01f, 0, n);
            queue.Fill(m, 0f, 0, n);
            queue.Fill(v, 0f, 0, n);
            queue.Finish();

            var adamW = new ClElementwise(context.Programs.Get(AdamWSource).GetKernel("adamw_step"), 4);
            ClBuffer[] adamWBuffers = { p, g, m, v };
            double adamWSeconds = Time(queue, iterations, () => adamW.Launch(queue, adamWBuffers, u, n));
            double adamWGBs = 28.0 * n / adamWSeconds / 1e9;
            rows.Add(new[] { "AdamW fused step", size, Ms(adamWSeconds * 1000), Gbs(adamWGBs), "28 B/param; local size " + adamW.LocalSize });

            var copy = new ClElementwise(context.Programs.Get(CopySource).GetKernel("copy_floats"), 2);
            ClBuffer[] copyBuffers = { g, p };
            double copySeconds = Time(queue, iterations, () => copy.Launch(queue, copyBuffers, u, n));
            double copyGBs = 8.0 * n / copySeconds / 1e9;
            rows.Add(new[] { "copy kernel (ceiling)", size, Ms(copySeconds * 1000), Gbs(copyGBs), "8 B/float; AdamW at " + (100 * adamWGBs / copyGBs).ToString("0", CultureInfo.InvariantCulture) + "% of it" });

            double enqueueCopySeconds = Time(queue, iterations, () => queue.Copy(g, p, (long)n * sizeof(float)));
            rows.Add(new[] { "clEnqueueCopyBuffer", size, Ms(enqueueCopySeconds * 1000), Gbs(8.0 * n / enqueueCopySeconds / 1e9), "driver copy, 8 B/float" });
        }

        private static void MeasureGemm(ClContext context, ClQueue queue, int size, int iterations, List<string[]> rows)
        {
            var random = new Random(1);
            var a = new float[size * size];
            var b = new float[size * size];
            for (int i = 0; i < a.Length; i++)
            {
                a[i] = (float)random.NextDouble();
                b[i] = (float)random.NextDouble();
            }
            using ClBuffer aBuffer = context.CreateBuffer<float>(a);
            using ClBuffer bBuffer = context.CreateBuffer<float>(b);
            using ClBuffer cBuffer = context.CreateBuffer<float>((long)size * size);
            double seconds = Time(queue, iterations, () => ClGemm.Sgemm(queue, false, false, size, size, size, 1f, aBuffer, bBuffer, 0f, cBuffer));
            double gflops = 2.0 * size * size * size / seconds / 1e9;
            rows.Add(new[] { "SGEMM NN", size + "²", Ms(seconds * 1000), gflops.ToString("0.0", CultureInfo.InvariantCulture) + " GFLOP/s", ClGemm.Describe(context) });
            double secondsTT = Time(queue, iterations, () => ClGemm.Sgemm(queue, true, true, size, size, size, 1f, aBuffer, bBuffer, 0f, cBuffer));
            rows.Add(new[] { "SGEMM TT", size + "²", Ms(secondsTT * 1000), (2.0 * size * size * size / secondsTT / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + " GFLOP/s", "both operands transposed" });
        }

        /// <summary>Mean seconds per call over back-to-back calls after one finished warm-up call.</summary>
        private static double Time(ClQueue queue, int iterations, Action launch)
        {
            launch();
            queue.Finish();
            var stopwatch = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
            {
                launch();
            }
            queue.Finish();
            return stopwatch.Elapsed.TotalSeconds / iterations;
        }

        private static string Ms(double milliseconds) => milliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";

        private static string Gbs(double gigabytesPerSecond) => gigabytesPerSecond.ToString("0.0", CultureInfo.InvariantCulture) + " GB/s";
    }
}
