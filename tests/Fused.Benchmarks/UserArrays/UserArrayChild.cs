using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime;
using System.Threading;
using Fused.Benchmarks.Elementwise;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;

namespace Fused.Benchmarks.UserArrays
{
    /// <summary>
    /// One configuration in a fresh process, as a user's training script meets it: parameters and gradients in ordinary
    /// <c>new float[]</c> arrays first touched by the caller's thread, the optimizer built, then steps 1..F timed one by
    /// one (JIT warm-up included), then the steady state interleaved with a copy ceiling over user arrays (and, for AdamW
    /// with float32 state, the C OpenMP fused kernel over the same arrays) in rounds. Prints <c>RESULT key value</c> lines
    /// the parent (<see cref="UserArrayBenchmark"/>) reads.
    /// </summary>
    internal static class UserArrayChild
    {
        public static int Run(string[] args)
        {
            var o = ChildOptions.Parse(args);
            KernelDispatch.MaxVectorBits = o.MaxBits;
            KernelDispatch.AlignStores = o.AlignStores;
            KernelDispatch.BFloat16InKernel = o.Precision != "bf16-scratch";
            var shapes = UserArrayBenchmark.ShapesOf(o.Case);
            long total = shapes.Sum(s => (long)s);
            var rule = UserArrayBenchmark.RuleOf(o.Rule);
            var precision = UserArrayBenchmark.PrecisionOf(o.Precision);

            // The caller allocates and first-touches its tensors on its own thread (what a model's constructor does).
            var parameters = shapes.Select((n, i) => Random(n, 0.02f, 2 * i + 1)).ToArray();
            var gradients = shapes.Select((n, i) => Random(n, 1f, 2 * i + 2)).ToArray();

            using var pool = new WorkerPool(o.Threads);
            long buildStart = Stopwatch.GetTimestamp();
            var builder = new OptimizerBuilder();
            // bf16 gradients: the caller's backward pass produced them in bf16 (here: the same values rounded once, before timing).
            var halfGradients = UserArrayBenchmark.BFloat16Gradients(o.Precision) ? gradients.Select(g => NearestEven(g)).ToArray() : null;
            for (int i = 0; i < shapes.Length; i++)
            {
                if (halfGradients != null) builder.AddParameter($"t{i}", new[] { shapes[i] }, parameters[i], halfGradients[i]);
                else builder.AddParameter($"t{i}", new[] { shapes[i] }, parameters[i], gradients[i]);
                if (UserArrayBenchmark.WritesCopy(o.Precision)) builder.WriteBFloat16Copy($"t{i}", new ushort[shapes[i]]);
            }
            using var optimizer = builder.Route(_ => true, rule, g => g.State(precision)).SkipNonFiniteSteps(o.CheckFinite).Pool(pool).Build();
            Report("build_ms", Stopwatch.GetElapsedTime(buildStart).TotalMilliseconds);
            // Where the caller's arrays and the engine's states start within a cache line (bytes): the store-aligning
            // head lines up the parameter; the others gain too when they share its offset.
            Report("param_offset_in_line", OffsetInLine(parameters[0]));
            Report("grad_offset_in_line", OffsetInLine(gradients[0]));
            if (o.Precision == "fp32") Report("state_offset_in_line", OffsetInLine(optimizer.Float32StateBuffer("t0", rule.Layout.StateBufferNames[0])));

            // Per step also the JIT's work during it (all threads): a load-independent sign of code still being promoted.
            for (int s = 1; s <= o.FreshSteps; s++)
            {
                var jitBefore = JitInfo.GetCompilationTime();
                long methodsBefore = JitInfo.GetCompiledMethodCount();
                long start = Stopwatch.GetTimestamp();
                optimizer.Step();
                Report($"fresh_step_{s}_ms", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Report($"fresh_step_{s}_jit_ms", (JitInfo.GetCompilationTime() - jitBefore).TotalMilliseconds);
                Report($"fresh_step_{s}_jit_methods", JitInfo.GetCompiledMethodCount() - methodsBefore);
            }

            // Transparent huge pages behind the caller's arrays and the engine's state (touched by now): kB of 2 MB pages.
            ReportHugePages("param", Address(parameters[0]));
            ReportHugePages("grad", Address(gradients[0]));
            if (o.Precision == "fp32") ReportHugePages("state", Address(optimizer.Float32StateBuffer("t0", rule.Layout.StateBufferNames[0])));

            // Steady state: past the tiering thresholds (30 calls), then a pause for the background tier-1 compiles.
            for (int s = o.FreshSteps; s < 40; s++) optimizer.Step();
            Thread.Sleep(500);

            var copySource = new float[total];
            var copyDestination = new float[total];
            copySource.AsSpan().Fill(1f);
            copyDestination.AsSpan().Clear();
            var cases = new List<(string Key, Action Step)>
            {
                ("copy", () => CopyCeiling.Copy(pool, copyDestination, copySource)),
                ("engine", () => optimizer.Step()),
            };
            if (o.Precision == "fp32")
            {
                // The step's own traffic as a ceiling: the parameter and each element state read and written, the gradient read.
                int written = 1 + rule.Layout.StateBufferNames.Count;
                if (written <= TrafficTwin.MaxWritten)
                {
                    var twinWritten = Enumerable.Range(0, written).Select(k => Random(checked((int)total), 0.02f, 100 + k)).ToArray();
                    var twinGradient = Random(checked((int)total), 1f, 99);
                    Report("twin_bytes_per_parameter", 8 * written + 4);
                    var twin = new TrafficTwin(twinWritten, twinGradient); // pinned for the rest of this process
                    cases.Add(("twin", () => twin.Run(pool)));
                }
            }
            if (o.Rule == "adamw" && o.Precision == "fp32" && NativeKernel.TryLoad())
            {
                var m = shapes.Select(n => new float[n]).ToArray();
                var v = shapes.Select(n => new float[n]).ToArray();
                long t = 0;
                cases.Add(("c_adamw", () =>
                {
                    t++;
                    float bc1 = 1 - MathF.Pow(0.9f, t), bc2 = 1 - MathF.Pow(0.999f, t);
                    for (int i = 0; i < shapes.Length; i++)
                        NativeKernel.AdamW(parameters[i], gradients[i], m[i], v[i], 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, bc1, bc2, pool.DegreeOfParallelism);
                }));
            }
            foreach (var c in cases) { c.Step(); c.Step(); }
            for (int round = 0; round < o.Rounds; round++)
            {
                foreach (var c in cases)
                {
                    Thread.Sleep(20); // spinning workers of the previous case go to sleep first
                    var samples = new double[o.SteadySteps];
                    for (int s = 0; s < samples.Length; s++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        c.Step();
                        samples[s] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }
                    Array.Sort(samples);
                    Report($"round_{round}_{c.Key}_ms", samples[samples.Length / 2]);
                }
            }
            Report("elements", total);
            return 0;
        }

        private static ushort[] NearestEven(float[] values)
        {
            var half = new ushort[values.Length];
            Fused.Runtime.Precision.BFloat16.NarrowToNearestEven(values, half);
            return half;
        }

        private static long OffsetInLine(Memory<float> buffer) => (long)((nuint)Address(buffer) % KernelDispatch.CacheLineBytes);

        private static unsafe nint Address(Memory<float> buffer)
        {
            fixed (float* p = buffer.Span) return (nint)p;
        }

        private static void ReportHugePages(string what, nint address)
        {
            if (HugePages.Of(address) is not { } m) return;
            Report($"{what}_huge_kb", m.HugeKb);
            Report($"{what}_mapping_kb", m.SizeKb);
        }

        private static void Report(string key, double value)
            => Console.WriteLine($"RESULT {key} {value.ToString("R", CultureInfo.InvariantCulture)}");

        /// <summary>A user's tensor: a fresh array filled on this thread (uniform in ±scale, deterministic).</summary>
        private static float[] Random(int n, float scale, int seed)
        {
            var a = new float[n];
            uint x = 0x9E3779B9u * (uint)seed | 1;
            for (int i = 0; i < a.Length; i++)
            {
                x ^= x << 13; x ^= x >> 17; x ^= x << 5;
                a[i] = scale * ((x >> 8) * (2f / (1 << 24)) - 1f);
            }
            return a;
        }

        private sealed record ChildOptions(string Case, string Rule, string Precision, int MaxBits, int Threads, int FreshSteps, int SteadySteps, int Rounds, bool CheckFinite, bool AlignStores)
        {
            public static ChildOptions Parse(string[] args)
            {
                string Get(string name, string fallback)
                {
                    int i = Array.IndexOf(args, name);
                    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
                }
                int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
                return new ChildOptions(Get("--case", "16M"), Get("--rule", "adamw"), Get("--precision", "fp32"), Int("--max-bits", 512),
                    Int("--threads", 0), Int("--fresh-steps", 11), Int("--steady-steps", 7), Int("--rounds", 5), Get("--check-finite", "false") == "true", Get("--align-stores", "on") == "on");
            }
        }
    }
}
