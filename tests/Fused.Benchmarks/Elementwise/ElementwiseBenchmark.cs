using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;

namespace Fused.Benchmarks.Elementwise
{
    /// <summary>
    /// Generated AdamW and Lion steps next to the alternatives a user would pick, at 1M/16M/64M floats
    /// on 1 and 2 threads, with a copy loop measuring the memory bandwidth ceiling in the same run.
    /// GB/s counts the minimal bytes (AdamW 28 B/param: read p, g, m, v, write p, m, v; Lion 20 B).
    /// All multi-threaded candidates run on the same pinned WorkerPool.
    /// </summary>
    public static class ElementwiseBenchmark
    {
        public static void Run(string[] args)
        {
            var sizes = args.Length > 0 ? args.Select(a => int.Parse(a) * (1 << 20)).ToArray() : new[] { 1 << 20, 16 << 20, 64 << 20 };
            Console.WriteLine($"# Element-wise kernels: generated vs hand-written vs TensorPrimitives vs C (-O3 -march=native -fopenmp)");
            Console.WriteLine($"SIMD path: {KernelDispatch.Describe()}; processors: {Environment.ProcessorCount}; native C: {(NativeKernel.TryLoad() ? "built" : NativeKernel.Error)}");
            Console.WriteLine();
            var rows = new List<string[]>();
            var multiPass = new List<string[]>();
            foreach (int threads in new[] { 1, 2 })
            {
                using var pool = new WorkerPool(threads);
                Console.WriteLine($"threads={threads}: pinning {pool.PinningStatus}");
                foreach (int n in sizes)
                {
                    rows.AddRange(Measure(n, threads, pool));
                    multiPass.AddRange(MeasureMultiPass(n, threads, pool));
                }
            }
            Harness.Table(new[] { "rule", "floats", "threads", "candidate", "ns/param", "GB/s", "× copy BW", "generated ÷ this (speed)" }, rows);
            Console.WriteLine("## Two-pass rules next to their one-pass parents (same run)");
            Harness.Table(new[] { "rule", "floats", "threads", "passes", "bytes/param", "ns/param", "time ÷ parent" }, multiPass);
        }

        private static IEnumerable<string[]> Measure(int n, int threads, WorkerPool pool)
        {
            var rnd = new Random(42);
            float[] Fill(float scale) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rnd.NextDouble() - 0.5) * scale; return a; }
            var p = Fill(1); var g = Fill(0.1f); var m = Fill(0.01f); var v = Fill(0.001f).Select(Math.Abs).ToArray();
            var t1 = new float[n]; var t2 = new float[n];
            var src = Fill(1); var dst = new float[n];

            // Copy ceiling: 8 bytes per float (read + write).
            var copy = Harness.Time("copy", () => Chunks(pool, n, (s, e) => src.AsSpan(s, e - s).CopyTo(dst.AsSpan(s, e - s))));
            double copyGBs = 8.0 * n / copy.MedianSeconds / 1e9;
            string sz = (n >> 20) + "M";
            yield return new[] { "(copy)", sz, threads.ToString(), "managed copy", Harness.F(copy.MedianSeconds / n * 1e9, 3), Harness.F(copyGBs), "1.00", "" };
            if (NativeKernel.TryLoad())
            {
                var ccopy = Harness.Time("c copy", () => NativeKernel.Copy(dst, src, threads));
                yield return new[] { "(copy)", sz, threads.ToString(), "C copy", Harness.F(ccopy.MedianSeconds / n * 1e9, 3), Harness.F(8.0 * n / ccopy.MedianSeconds / 1e9), Harness.F(8.0 * n / ccopy.MedianSeconds / 1e9 / copyGBs), "" };
            }

            // AdamW
            var h = new AdamW.Hyperparameters().ToArray();
            float lr = h[0], b1 = h[1], b2 = h[2], eps = h[3], wd = h[4];
            long step = 10;
            float bc1 = (float)(1 - Math.Pow(b1, step)), bc2 = (float)(1 - Math.Pow(b2, step));
            using var adamw = new CpuRuleRunner(AdamW.Rule, pool);
            var results = new List<(string name, Harness.Measurement m)>
            {
                ("generated (Fused)", Harness.Time("gen", () => adamw.Step(h, step, ShapeInfo.Vector(n), p, g, m, v))),
                ("hand-written Vector<float>", Harness.Time("hand", () => Chunks(pool, n, (s, e) => HandWritten.AdamW(p.AsSpan(s, e - s), g.AsSpan(s, e - s), m.AsSpan(s, e - s), v.AsSpan(s, e - s), lr, b1, b2, eps, wd, bc1, bc2)))),
                ("TensorPrimitives chain", Harness.Time("tp", () => Chunks(pool, n, (s, e) => TensorPrimitivesChain.AdamW(p.AsSpan(s, e - s), g.AsSpan(s, e - s), m.AsSpan(s, e - s), v.AsSpan(s, e - s), t1.AsSpan(s, e - s), t2.AsSpan(s, e - s), lr, b1, b2, eps, wd, bc1, bc2)))),
            };
            if (NativeKernel.TryLoad())
                results.Add(("C -O3 OpenMP", Harness.Time("c", () => NativeKernel.AdamW(p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2, threads))));
            foreach (var row in Rows("AdamW", 28, sz, threads, n, copyGBs, results)) yield return row;

            // Lion
            var hl = new Lion.Hyperparameters().ToArray();
            using var lion = new CpuRuleRunner(Lion.Rule, pool);
            var lionResults = new List<(string name, Harness.Measurement m)>
            {
                ("generated (Fused)", Harness.Time("gen", () => lion.Step(hl, step, ShapeInfo.Vector(n), p, g, m))),
                ("hand-written Vector<float>", Harness.Time("hand", () => Chunks(pool, n, (s, e) => HandWritten.Lion(p.AsSpan(s, e - s), g.AsSpan(s, e - s), m.AsSpan(s, e - s), hl[0], hl[1], hl[2], hl[3])))),
                ("TensorPrimitives chain", Harness.Time("tp", () => Chunks(pool, n, (s, e) => TensorPrimitivesChain.Lion(p.AsSpan(s, e - s), g.AsSpan(s, e - s), m.AsSpan(s, e - s), t1.AsSpan(s, e - s), hl[0], hl[1], hl[2], hl[3])))),
            };
            foreach (var row in Rows("Lion", 20, sz, threads, n, copyGBs, lionResults)) yield return row;
        }

        // The cautious variants need the mask's mean before the update: two passes over memory.
        private static IEnumerable<string[]> MeasureMultiPass(int n, int threads, WorkerPool pool)
        {
            var rnd = new Random(7);
            float[] Fill(float scale) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rnd.NextDouble() - 0.5) * scale; return a; }
            var p = Fill(1); var g = Fill(0.1f); var m = Fill(0.01f); var v = Fill(0.001f).Select(Math.Abs).ToArray();
            string sz = (n >> 20) + "M";
            var pairs = new (FusedRule parent, FusedRule child, int bytesParent, int bytesChild, int passesChild, float[][] buffers)[]
            {
                (AdamW.Rule, CautiousAdamW.Rule, AdamW.Layout.BytesMovedPerParameter, CautiousAdamW.Layout.BytesMovedPerParameter, CautiousAdamW.Layout.PassCount, new[] { p, g, m, v }),
                (Lion.Rule, CautiousLion.Rule, Lion.Layout.BytesMovedPerParameter, CautiousLion.Layout.BytesMovedPerParameter, CautiousLion.Layout.PassCount, new[] { p, g, m }),
            };
            foreach (var (parent, child, bytesParent, bytesChild, passesChild, buffers) in pairs)
            {
                using var parentRunner = new CpuRuleRunner(parent, pool);
                using var childRunner = new CpuRuleRunner(child, pool);
                var hp = parent.DefaultHyperparameters();
                var hc = child.DefaultHyperparameters();
                var tp = Harness.Time(parent.Name, () => parentRunner.Step(hp, 10, ShapeInfo.Vector(n), buffers));
                var tc = Harness.Time(child.Name, () => childRunner.Step(hc, 10, ShapeInfo.Vector(n), buffers));
                yield return new[] { parent.Name, sz, threads.ToString(), "1", bytesParent.ToString(), Harness.F(tp.MedianSeconds / n * 1e9, 3), "1.00" };
                yield return new[] { child.Name, sz, threads.ToString(), passesChild.ToString(), bytesChild.ToString(), Harness.F(tc.MedianSeconds / n * 1e9, 3), Harness.F(tc.MedianSeconds / tp.MedianSeconds) };
            }

            // Adafactor keeps Rows + Cols floats instead of AdamW's 2 per parameter; on a square matrix,
            // next to AdamW on the same buffers.
            int side = (int)Math.Sqrt(n);
            var shape = ShapeInfo.Matrix(side, n / side);
            using var adamw = new CpuRuleRunner(AdamW.Rule, pool);
            using var adafactor = new CpuRuleRunner(Adafactor.Rule, pool);
            var rowState = new float[shape.Rows];
            var colState = new float[shape.Cols];
            int used = (int)shape.Numel;
            var pa = p.AsMemory(0, used); var ga = g.AsMemory(0, used);
            var ha = AdamW.Rule.DefaultHyperparameters();
            var hf = Adafactor.Rule.DefaultHyperparameters();
            var adamwBuffers = new[] { pa, ga, m.AsMemory(0, used), v.AsMemory(0, used) };
            var adafactorBuffers = new Memory<float>[] { pa, ga, rowState, colState };
            var ta = Harness.Time("AdamW", () => adamw.Step(ha, 10, shape, adamwBuffers));
            var tf = Harness.Time("Adafactor", () => adafactor.Step(hf, 10, shape, adafactorBuffers));
            string square = $"{shape.Rows}x{shape.Cols}";
            yield return new[] { "AdamW", square, threads.ToString(), "1", AdamW.Layout.BytesMovedPerParameter.ToString(), Harness.F(ta.MedianSeconds / used * 1e9, 3), "1.00" };
            yield return new[] { "Adafactor", square, threads.ToString(), Adafactor.Layout.PassCount.ToString(), Adafactor.Layout.BytesMovedPerParameter.ToString(), Harness.F(tf.MedianSeconds / used * 1e9, 3), Harness.F(tf.MedianSeconds / ta.MedianSeconds) };
        }

        private static IEnumerable<string[]> Rows(string rule, int bytes, string sz, int threads, int n, double copyGBs, List<(string name, Harness.Measurement m)> results)
        {
            double generated = results[0].m.MedianSeconds;
            foreach (var (name, m) in results)
            {
                double gbs = (double)bytes * n / m.MedianSeconds / 1e9;
                yield return new[] { rule, sz, threads.ToString(), name, Harness.F(m.MedianSeconds / n * 1e9, 3), Harness.F(gbs), Harness.F(gbs / copyGBs), Harness.F(m.MedianSeconds / generated) };
            }
        }

        // Runs body over contiguous chunks on the pool (so every candidate gets the same threads).
        private static void Chunks(WorkerPool pool, int n, Action<int, int> body)
        {
            var work = new DelegateWork(body);
            pool.Run(ref work, n);
        }

        private readonly struct DelegateWork : IRangeWork
        {
            private readonly Action<int, int> _body;
            public DelegateWork(Action<int, int> body) { _body = body; }
            public void Execute(long start, long end) => _body((int)start, (int)end);
        }
    }
}
