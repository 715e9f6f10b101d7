using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.Intrinsics;
using Fused.Benchmarks.Elementwise;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;

namespace Fused.Benchmarks.Engine
{
    /// <summary>
    /// Full optimizer steps through <see cref="FusedOptimizer"/> against a hand-written pinned fused AdamW loop on the
    /// same <see cref="WorkerPool"/>, a copy-bandwidth ceiling and (if gcc is present) the C OpenMP AdamW, all in one run.
    /// Also: 1000 tensors × 4K vs one 4M tensor, and bf16 / 8-bit state vs fp32.
    /// Args: [--elements N] (default 64M) [--threads P] (default all) [--budget seconds per case].
    /// </summary>
    public static unsafe class EngineBenchmark
    {
        public static void Run(string[] args)
        {
            int elements = 64 << 20;
            int threads = 0;
            double budget = 2.0;
            for (int i = 0; i + 1 < args.Length; i += 2)
            {
                if (args[i] == "--elements") elements = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else if (args[i] == "--threads") threads = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else if (args[i] == "--budget") budget = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
            using var pool = new WorkerPool(threads);
            int p = pool.DegreeOfParallelism;
            Console.WriteLine($"# Engine benchmark: {elements:N0} parameters, {p} threads ({pool.PinningStatus}: {pool.PinningDetail}), Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}");
            Console.WriteLine();

            var param = Filled(elements, 0.5f);
            var grad = Filled(elements, 0.01f);
            var rows = new List<string[]>();
            double ceiling = 0;

            void Report(string name, Harness.Measurement m, double bytesPerParameter, int count)
            {
                double gbs = bytesPerParameter * count / m.MedianSeconds / 1e9;
                rows.Add(new[] { name, Harness.F(m.MedianSeconds * 1e3, 2), Harness.F(m.MinSeconds * 1e3, 2), Harness.F(bytesPerParameter, 1),
                    Harness.F(gbs, 1), ceiling > 0 ? Harness.F(100 * gbs / ceiling, 0) + "%" : "-" });
            }

            // Copy ceiling: read 4 B + write 4 B per element on the same pool.
            var destination = new float[elements];
            var copy = Harness.Time("copy", () => Copy(pool, destination, param), budget);
            ceiling = 8.0 * elements / copy.MedianSeconds / 1e9;
            Report("copy ceiling (Vector256, pool)", copy, 8, elements);
            if (NativeKernel.TryLoad())
                Report("copy (C OpenMP)", Harness.Time("copy-c", () => NativeKernel.Copy(destination, param, p), budget), 8, elements);
            destination = null!;
            GC.Collect();

            // Hand-written fused AdamW on the same pool: the target the engine should match.
            {
                var m = new float[elements];
                var v = new float[elements];
                long t = 0;
                Report("hand-written fused AdamW (Vector256, pool)", Harness.Time("hand", () => HandAdamW(pool, param, grad, m, v, ++t), budget), 28, elements);
                if (NativeKernel.TryLoad())
                {
                    long tc = 0;
                    Report("C OpenMP AdamW", Harness.Time("c", () =>
                    {
                        tc++;
                        NativeKernel.AdamW(param, grad, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1 - MathF.Pow(0.9f, tc), 1 - MathF.Pow(0.999f, tc), p);
                    }, budget), 28, elements);
                }
                else Console.WriteLine($"(C OpenMP skipped: {NativeKernel.Error})");
            }
            GC.Collect();

            Report("engine AdamW fp32", StepTime(param, grad, AdamW.Rule, StatePrecision.Float32, pool, budget, skipNonFinite: false), 28, elements);
            Report("engine AdamW fp32 + non-finite check", StepTime(param, grad, AdamW.Rule, StatePrecision.Float32, pool, budget, skipNonFinite: true), 32, elements);
            Report("engine Lion fp32", StepTime(param, grad, Lion.Rule, StatePrecision.Float32, pool, budget, skipNonFinite: false), 20, elements);
            var fp32 = StepTime(param, grad, AdamW.Rule, StatePrecision.Float32, pool, budget, skipNonFinite: false);
            var bf16 = StepTime(param, grad, AdamW.Rule, StatePrecision.BFloat16, pool, budget, skipNonFinite: false);
            Report("engine AdamW bf16 state", bf16, 20, elements);
            var int8 = StepTime(param, grad, AdamW.Rule, StatePrecision.Int8Blockwise, pool, budget, skipNonFinite: false);
            Report("engine AdamW 8-bit state", int8, 14 + 8.0 / 256, elements);

            Console.WriteLine("## Full step, one tensor");
            Harness.Table(new[] { "case", "median ms", "min ms", "B/param", "GB/s", "of copy ceiling" }, rows);
            Console.WriteLine($"bf16 vs fp32 AdamW (same run, medians): {Harness.F(fp32.MedianSeconds / bf16.MedianSeconds, 2)}x faster; byte ratio 28/20 = 1.40x is the bandwidth-bound limit.");
            Console.WriteLine($"8-bit vs fp32 AdamW: {Harness.F(fp32.MedianSeconds / int8.MedianSeconds, 2)}x.");
            Console.WriteLine();
            param = null!;
            grad = null!;
            GC.Collect();

            // Many small tensors vs one large one (same total, AdamW fp32).
            const int count = 1000, small = 4096;
            var one = StepTimeTensors(new[] { count * small }, AdamW.Rule, pool, budget);
            var many = StepTimeTensors(Enumerable.Repeat(small, count).ToArray(), AdamW.Rule, pool, budget);
            Console.WriteLine("## 1000 tensors × 4K vs one 4M tensor (AdamW fp32, full step)");
            Harness.Table(new[] { "case", "median ms", "min ms" }, new[]
            {
                new[] { "one tensor of 4,096,000", Harness.F(one.MedianSeconds * 1e3, 3), Harness.F(one.MinSeconds * 1e3, 3) },
                new[] { "1000 tensors of 4,096", Harness.F(many.MedianSeconds * 1e3, 3), Harness.F(many.MinSeconds * 1e3, 3) },
            });
            Console.WriteLine($"ratio many/one: {Harness.F(many.MedianSeconds / one.MedianSeconds, 2)} (target ≤ 1.25)");
        }

        private static float[] Filled(int n, float scale)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = scale * MathF.Sin(0.001f * i);
            return a;
        }

        private static Harness.Measurement StepTime(float[] param, float[] grad, Fused.Runtime.Kernels.FusedRule rule, StatePrecision precision, WorkerPool pool, double budget, bool skipNonFinite)
        {
            using var opt = new OptimizerBuilder().AddParameter("w", new[] { param.Length }, param, grad)
                .Route(x => true, rule, g => g.State(precision)).SkipNonFiniteSteps(skipNonFinite).Pool(pool).Build();
            var m = Harness.Time(rule.Name, () => opt.Step(), budget);
            return m;
        }

        private static Harness.Measurement StepTimeTensors(int[] sizes, Fused.Runtime.Kernels.FusedRule rule, WorkerPool pool, double budget)
        {
            var b = new OptimizerBuilder();
            for (int i = 0; i < sizes.Length; i++) b.AddParameter($"t{i}", new[] { sizes[i] }, Filled(sizes[i], 0.5f), Filled(sizes[i], 0.01f));
            using var opt = b.Route(x => true, rule).SkipNonFiniteSteps(false).Pool(pool).Build();
            return Harness.Time("tensors", () => opt.Step(), budget, warmup: 5);
        }

        // ---- copy ceiling ----

        private static void Copy(WorkerPool pool, float[] destination, float[] source)
        {
            fixed (float* d = destination, s = source)
            {
                var work = new CopyWork { Destination = d, Source = s };
                pool.Run(ref work, source.Length, 64 * 1024);
            }
        }

        private struct CopyWork : IRangeWork
        {
            public float* Destination, Source;

            public void Execute(long start, long end)
                => new ReadOnlySpan<float>(Source + start, (int)(end - start)).CopyTo(new Span<float>(Destination + start, (int)(end - start)));
        }

        // ---- hand-written fused AdamW ----

        private static void HandAdamW(WorkerPool pool, float[] p, float[] g, float[] m, float[] v, long t)
        {
            fixed (float* pp = p, pg = g, pm = m, pv = v)
            {
                var work = new HandAdamWWork
                {
                    P = pp, G = pg, M = pm, V = pv, Lr = 1e-3f, B1 = 0.9f, B2 = 0.999f, Eps = 1e-8f, Wd = 0.01f,
                    Bc1 = 1 - MathF.Pow(0.9f, t), Bc2 = 1 - MathF.Pow(0.999f, t),
                };
                pool.Run(ref work, p.Length, 64 * 1024);
            }
        }

        private struct HandAdamWWork : IRangeWork
        {
            public float* P, G, M, V;
            public float Lr, B1, B2, Eps, Wd, Bc1, Bc2;

            public void Execute(long start, long end)
            {
                var b1 = Vector256.Create(B1);
                var b2 = Vector256.Create(B2);
                var omb1 = Vector256.Create(1 - B1);
                var omb2 = Vector256.Create(1 - B2);
                var ibc1 = Vector256.Create(1 / Bc1);
                var ibc2 = Vector256.Create(1 / Bc2);
                var lr = Vector256.Create(Lr);
                var eps = Vector256.Create(Eps);
                var wd = Vector256.Create(Wd);
                long i = start;
                for (; i + 8 <= end; i += 8)
                {
                    var g = Vector256.Load(G + i);
                    var p = Vector256.Load(P + i);
                    var m = b1 * Vector256.Load(M + i) + omb1 * g;
                    var v = b2 * Vector256.Load(V + i) + omb2 * g * g;
                    var update = (m * ibc1) / (Vector256.Sqrt(v * ibc2) + eps) + wd * p;
                    (p - lr * update).Store(P + i);
                    m.Store(M + i);
                    v.Store(V + i);
                }
                for (; i < end; i++)
                {
                    float m = B1 * M[i] + (1 - B1) * G[i];
                    float v = B2 * V[i] + (1 - B2) * G[i] * G[i];
                    P[i] -= Lr * ((m / Bc1) / (MathF.Sqrt(v / Bc2) + Eps) + Wd * P[i]);
                    M[i] = m;
                    V[i] = v;
                }
            }
        }
    }
}
