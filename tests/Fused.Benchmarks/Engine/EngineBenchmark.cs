using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading;
using Fused.Benchmarks.Elementwise;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;

namespace Fused.Benchmarks.Engine
{
    /// <summary>
    /// Full optimizer steps through <see cref="FusedOptimizer"/> against hand-written pinned fused AdamW and Lion loops
    /// on the same <see cref="WorkerPool"/>, a copy-bandwidth ceiling and (if gcc is present) the C OpenMP AdamW, all in
    /// one run; then bf16 and 8-bit state against fp32 (and, for scale, hand-written loops with the bf16 conversion
    /// fused in), and 1000 tensors × 4K against one 4M tensor.
    /// </summary>
    /// <remarks>
    /// The cases are measured interleaved: each round runs a few steps of every case in turn (after a pause, so threads
    /// spinning after the previous case have gone to sleep), and ratios are taken within a round and reported as the
    /// median over rounds. A load change on a shared machine then hits both sides of a ratio alike.
    /// <para>On a shared Linux machine each round waits until the other processes have left the CPUs idle for a
    /// second, and a round during which they used more than 5% of the CPU time is discarded and run again (up to
    /// --max-minutes); the report counts them. Disable with --no-wait.</para>
    /// Args: [--elements N] (default 64M) [--threads P] (default all) [--rounds R] (default 7) [--steps S] (per case
    /// and round, default 4) [--only fp32|low|tensors] [--no-wait] [--max-minutes M] (default 20).
    /// </remarks>
    public static unsafe class EngineBenchmark
    {
        private sealed class Case
        {
            public Case(string name, Action step, double bytesPerParameter, int elements)
            {
                Name = name;
                Step = step;
                BytesPerParameter = bytesPerParameter;
                Elements = elements;
            }

            public string Name { get; }
            public Action Step { get; }
            public double BytesPerParameter { get; }
            public int Elements { get; }
            public List<double> Samples { get; } = new();
            public List<double> RoundMedians { get; } = new();
            public double Median => MedianOf(Samples);
        }

        public static void Run(string[] args)
        {
            int elements = 64 << 20;
            int threads = 0, rounds = 7, steps = 4;
            string only = "";
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--no-wait") _wait = false;
            }
            for (int i = 0; i + 1 < args.Length; i += 2)
            {
                if (args[i] == "--no-wait") { i--; continue; }
                if (args[i] == "--max-minutes") _deadline = TimeSpan.FromMinutes(double.Parse(args[i + 1], CultureInfo.InvariantCulture));
                if (args[i] == "--elements") elements = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else if (args[i] == "--threads") threads = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else if (args[i] == "--rounds") rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else if (args[i] == "--steps") steps = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else if (args[i] == "--only") only = args[i + 1];
            }
            using var pool = new WorkerPool(threads);
            int p = pool.DegreeOfParallelism;
            Console.WriteLine($"# Engine benchmark: CPU {Harness.CpuModel()}, {elements:N0} parameters, {p} threads ({pool.PinningStatus}: {pool.PinningDetail}), Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}; kernels: {Fused.Runtime.Kernels.KernelDispatch.Describe()} ({Fused.Runtime.Kernels.KernelDispatch.WidthChoice})");
            _clock.Restart();
            Console.WriteLine($"load average at start: {Harness.LoadAverage()}; {rounds} rounds × {steps} steps per case, interleaved" +
                (_wait && CpuSample.Available ? "; rounds wait for idle CPUs and are discarded if other processes ran" : ""));
            Console.WriteLine();

            if (only is "" or "fp32" or "low") FullSteps(pool, elements, rounds, steps, only);
            if (only is "" or "tensors") ManyTensors(pool, rounds, steps * 5);
            Console.WriteLine($"load average at end: {Harness.LoadAverage()}");
        }

        private static void FullSteps(WorkerPool pool, int elements, int rounds, int steps, string only)
        {
            int p = pool.DegreeOfParallelism;
            var param = Filled(elements, 0.5f);
            var grad = Filled(elements, 0.01f);
            var cases = new List<Case>();
            var disposables = new List<IDisposable>();
            FusedOptimizer Engine(Fused.Runtime.Kernels.FusedRule rule, StatePrecision precision, bool skipNonFinite = false)
            {
                var opt = new OptimizerBuilder().AddParameter("w", new[] { elements }, param, grad)
                    .Route(x => true, rule, g => g.State(precision)).SkipNonFiniteSteps(skipNonFinite).Pool(pool).Build();
                disposables.Add(opt);
                return opt;
            }

            var destination = new float[elements];
            cases.Add(new Case("copy (Vector256, pool)", () => CopyCeiling.Copy(pool, destination, param), 8, elements));
            if (NativeKernel.TryLoad()) cases.Add(new Case("copy (C OpenMP)", () => NativeKernel.Copy(destination, param, p), 8, elements));
            // The engine's states live in AlignedBuffer (huge pages on Linux), the arrays above do not: the same copy there.
            var hugeSource = new Fused.Runtime.Cpu.AlignedBuffer<float>(elements);
            var hugeDestination = new Fused.Runtime.Cpu.AlignedBuffer<float>(elements);
            disposables.Add(hugeSource);
            disposables.Add(hugeDestination);
            hugeSource.Span.Fill(0.5f);
            cases.Add(new Case("copy (Vector256, pool, engine memory: huge pages)", () => CopyCeiling.Copy(pool, hugeDestination, hugeSource), 8, elements));
            // The baselines run on the engine's own state buffers (same memory on both sides of each ratio: the same
            // loop on two freshly allocated buffer sets differs by up to 9% on this machine). They take turns with the
            // engine on those buffers, which only moves the moments along a little faster.
            var adamW = Engine(AdamW.Rule, StatePrecision.Float32);
            var lion = Engine(Lion.Rule, StatePrecision.Float32);
            var m = adamW.Float32StateBuffer("w", "m");
            var v = adamW.Float32StateBuffer("w", "v");
            var ml = lion.Float32StateBuffer("w", "momentum");
            Case? handAdamW = null, handLion = null, nativeAdamW = null;
            if (only != "low")
            {
                long t = 0;
                cases.Add(handAdamW = new Case("hand-written fused AdamW (Vector256, pool)", () => HandAdamW(pool, param, grad, m.Span, v.Span, ++t), 28, elements));
                if (NativeKernel.TryLoad())
                {
                    long tc = 0;
                    cases.Add(nativeAdamW = new Case("C OpenMP AdamW", () =>
                    {
                        tc++;
                        NativeKernel.AdamW(param, grad, m.Span, v.Span, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1 - MathF.Pow(0.9f, tc), 1 - MathF.Pow(0.999f, tc), p);
                    }, 28, elements));
                }
                else Console.WriteLine($"(C OpenMP skipped: {NativeKernel.Error})");
                cases.Add(handLion = new Case("hand-written fused Lion (Vector256, pool)", () => HandLion(pool, param, grad, ml.Span), 20, elements));
            }

            Case engineAdamW, engineLion;
            cases.Add(engineAdamW = new Case("engine AdamW fp32", () => adamW.Step(), 28, elements));
            cases.Add(engineLion = new Case("engine Lion fp32", () => lion.Step(), 20, elements));
            if (only != "low")
            {
                var checkedAdamW = Engine(AdamW.Rule, StatePrecision.Float32, skipNonFinite: true);
                cases.Add(new Case("engine AdamW fp32 + non-finite check", () => checkedAdamW.Step(), 32, elements));
            }
            // What fusing the conversion into the kernel's own loop would give: the hand-written AdamW and Lion loops with
            // bf16 state widened on load and stochastically rounded on store (the engine's rounding definition, NaN
            // handling left out) in the same loop. Compare them with the hand-written fp32 loops (same math).
            Case? handAdamWBf16 = null, handLionBf16 = null;
            if (only != "fp32")
            {
                var m16 = new ushort[elements];
                var v16 = new ushort[elements];
                long t16 = 0;
                cases.Add(handAdamWBf16 = new Case("hand-written fused AdamW, bf16 state in the loop", () => HandAdamWBf16(pool, param, grad, m16, v16, ++t16), 20, elements));
                var l16 = new ushort[elements];
                long tl16 = 0;
                cases.Add(handLionBf16 = new Case("hand-written fused Lion, bf16 state in the loop", () => HandLionBf16(pool, param, grad, l16, ++tl16), 16, elements));
            }
            Case? adamBf16 = null, adamInt8 = null, lionBf16 = null, lionInt8 = null, adamBf16Scratch = null, lionBf16Scratch = null;
            Case? adamBf16Grads = null, adamBf16GradsCopy = null, lionBf16Grads = null;
            if (only != "fp32")
            {
                var a16 = Engine(AdamW.Rule, StatePrecision.BFloat16);
                var a8 = Engine(AdamW.Rule, StatePrecision.Int8Blockwise);
                var l16 = Engine(Lion.Rule, StatePrecision.BFloat16);
                var l8 = Engine(Lion.Rule, StatePrecision.Int8Blockwise);
                cases.Add(adamBf16 = new Case("engine AdamW bf16 state", () => a16.Step(), 20, elements));
                cases.Add(adamInt8 = new Case("engine AdamW 8-bit state", () => a8.Step(), Int8Bytes(states: 2), elements));
                cases.Add(lionBf16 = new Case("engine Lion bf16 state", () => l16.Step(), 16, elements));
                cases.Add(lionInt8 = new Case("engine Lion 8-bit state", () => l8.Step(), Int8Bytes(states: 1), elements));
                // The same bf16 optimizers through the scratch path (widen chunks, fp32 kernel, narrow): same bits, what the in-kernel conversion replaced.
                void Scratch(FusedOptimizer o)
                {
                    Fused.Runtime.Kernels.KernelDispatch.BFloat16InKernel = false;
                    try { o.Step(); } finally { Fused.Runtime.Kernels.KernelDispatch.BFloat16InKernel = true; }
                }
                cases.Add(adamBf16Scratch = new Case("engine AdamW bf16 state through scratch", () => Scratch(a16), 20, elements));
                cases.Add(lionBf16Scratch = new Case("engine Lion bf16 state through scratch", () => Scratch(l16), 16, elements));
                // bf16 gradients as the input (as a bf16 backward pass hands them over) and the bf16 copy of the parameters
                // written by the same pass; bytes from the rule's layout.
                var grad16 = new ushort[elements];
                Fused.Runtime.Precision.BFloat16.NarrowToNearestEven(grad, grad16);
                var copy16 = new ushort[elements];
                Case Bf16Inputs(Fused.Runtime.Kernels.FusedRule rule, string name, bool copy)
                {
                    var b = new OptimizerBuilder().AddParameter("w", new[] { elements }, param, grad16);
                    if (copy) b.WriteBFloat16Copy("w", copy16);
                    var opt = b.Route(x => true, rule, g => g.State(StatePrecision.BFloat16)).SkipNonFiniteSteps(false).Pool(pool).Build();
                    disposables.Add(opt);
                    var layout = rule.Layout;
                    var c = new Case($"engine {name} bf16 state + bf16 gradients{(copy ? " + bf16 copy" : "")}", () => opt.Step(),
                        layout.BytesMovedPerParameterFor(bfloat16State: true, bfloat16Gradient: true, parameterCopy: copy), elements);
                    cases.Add(c);
                    return c;
                }
                adamBf16Grads = Bf16Inputs(AdamW.Rule, "AdamW", copy: false);
                adamBf16GradsCopy = Bf16Inputs(AdamW.Rule, "AdamW", copy: true);
                lionBf16Grads = Bf16Inputs(Lion.Rule, "Lion", copy: false);
            }

            Measure(cases, rounds, steps);

            var copy = cases[0];
            double ceiling = copy.BytesPerParameter * elements / copy.Median / 1e9;
            Console.WriteLine("## Full step, one tensor");
            Harness.Table(new[] { "case", "median ms", "min ms", "ns/param", "B/param", "GB/s", "of copy ceiling" },
                cases.Select(c =>
                {
                    double gbs = c.BytesPerParameter * c.Elements / c.Median / 1e9;
                    return new[] { c.Name, Harness.F(c.Median * 1e3, 2), Harness.F(c.Samples.Min() * 1e3, 2), Harness.F(c.Median * 1e9 / c.Elements, 3),
                        Harness.F(c.BytesPerParameter, 1), Harness.F(gbs, 1), Harness.F(100 * gbs / ceiling, 0) + "%" };
                }));

            Console.WriteLine("Ratios within a round, median over rounds (> 1: the first is faster):");
            void Ratio(string what, Case? fast, Case? slow, string note = "")
            {
                if (fast == null || slow == null) return;
                Console.WriteLine($"- {what}: {Harness.F(RoundRatio(slow, fast), 3)}x{note}");
            }
            Ratio("engine AdamW fp32 vs hand-written AdamW (speed of engine / hand)", engineAdamW, handAdamW, " (target >= 0.95)");
            Ratio("engine Lion fp32 vs hand-written Lion", engineLion, handLion, " (target >= 0.95)");
            Ratio("engine AdamW fp32 vs C OpenMP AdamW", engineAdamW, nativeAdamW, " (target >= 0.91, i.e. within 10%)");
            Ratio("hand-written AdamW vs C OpenMP AdamW", handAdamW, nativeAdamW);
            Ratio("AdamW bf16 state vs fp32 state", adamBf16, engineAdamW, " (issue target >= 1.2; byte bound 28/20 = 1.40)");
            Ratio("AdamW bf16 state through scratch vs fp32 state", adamBf16Scratch, engineAdamW);
            Ratio("AdamW bf16 state in the kernel vs through scratch", adamBf16, adamBf16Scratch);
            Ratio("hand-written fused AdamW: bf16 state in the loop vs fp32 state", handAdamWBf16, handAdamW, " (what a kernel with the conversion fused in reaches)");
            Ratio("hand-written fused Lion: bf16 state in the loop vs fp32 state", handLionBf16, handLion, " (same, Lion)");
            Ratio("Lion bf16 state vs fp32 state", lionBf16, engineLion, " (issue target >= 1.2; byte bound 20/16 = 1.25)");
            Ratio("Lion bf16 state through scratch vs fp32 state", lionBf16Scratch, engineLion);
            Ratio("Lion bf16 state in the kernel vs through scratch", lionBf16, lionBf16Scratch);
            string Bound(Case? low, Case fp32) => low == null ? "" : $" (byte bound {Harness.F(fp32.BytesPerParameter, 0)}/{Harness.F(low.BytesPerParameter, 0)} = {Harness.F(fp32.BytesPerParameter / low.BytesPerParameter, 2)})";
            Ratio("AdamW bf16 state and gradients vs fp32", adamBf16Grads, engineAdamW, " (issue target >= 1.4)" + Bound(adamBf16Grads, engineAdamW));
            Ratio("AdamW bf16 state and gradients + bf16 parameter copy vs fp32", adamBf16GradsCopy, engineAdamW, Bound(adamBf16GradsCopy, engineAdamW));
            Ratio("Lion bf16 state and gradients vs fp32", lionBf16Grads, engineLion, " (issue target >= 1.4)" + Bound(lionBf16Grads, engineLion));
            Ratio("AdamW 8-bit state vs fp32 state", adamInt8, engineAdamW, $" (byte bound 28/{Harness.F(Int8Bytes(2), 2)} = {Harness.F(28 / Int8Bytes(2), 2)})");
            Ratio("Lion 8-bit state vs fp32 state", lionInt8, engineLion, $" (byte bound 20/{Harness.F(Int8Bytes(1), 2)} = {Harness.F(20 / Int8Bytes(1), 2)})");
            Console.WriteLine();

            foreach (var d in disposables) d.Dispose();
        }

        /// <summary>Bytes per parameter with 8-bit state: param read+write, gradient read, per state a code and 1/256 of a float scale read and written.</summary>
        private static double Int8Bytes(int states) => 12 + states * 2 * (1 + 4.0 / 256);

        private static void ManyTensors(WorkerPool pool, int rounds, int steps)
        {
            const int count = 1000, small = 4096;
            var one = Optimizer(new[] { count * small }, AdamW.Rule, pool);
            var many = Optimizer(Enumerable.Repeat(small, count).ToArray(), AdamW.Rule, pool);
            var cases = new List<Case>
            {
                new Case("one tensor of 4,096,000", () => one.Step(), 28, count * small),
                new Case("1000 tensors of 4,096", () => many.Step(), 28, count * small),
            };
            Measure(cases, rounds, steps);
            Console.WriteLine("## 1000 tensors × 4K vs one 4M tensor (AdamW fp32, full step)");
            Harness.Table(new[] { "case", "median ms", "min ms" },
                cases.Select(c => new[] { c.Name, Harness.F(c.Median * 1e3, 3), Harness.F(c.Samples.Min() * 1e3, 3) }));
            Console.WriteLine($"ratio many/one (median over rounds of the per-round ratio): {Harness.F(RoundRatio(cases[1], cases[0]), 3)} (target <= 1.25)");
            Console.WriteLine();
            one.Dispose();
            many.Dispose();
        }

        private static bool _wait = true;
        private static TimeSpan _deadline = TimeSpan.FromMinutes(20);
        private static readonly Stopwatch _clock = new();

        private static void Measure(List<Case> cases, int rounds, int steps)
        {
            foreach (var c in cases)
                for (int i = 0; i < 3; i++) c.Step();
            bool wait = _wait && CpuSample.Available;
            int discarded = 0, kept = 0;
            while (kept < rounds)
            {
                bool late = _clock.Elapsed > _deadline;
                if (wait && !late) WaitForIdle();
                var before = CpuSample.Take();
                var round = cases.Select(_ => new List<double>()).ToList();
                for (int k = 0; k < cases.Count; k++)
                {
                    Thread.Sleep(20);
                    for (int s = 0; s < steps; s++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        cases[k].Step();
                        round[k].Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                    }
                }
                double others = CpuSample.OthersBusyFraction(before, CpuSample.Take());
                if (wait && !late && others > 0.05)
                {
                    discarded++;
                    continue;
                }
                kept++;
                for (int k = 0; k < cases.Count; k++)
                {
                    cases[k].Samples.AddRange(round[k]);
                    cases[k].RoundMedians.Add(MedianOf(round[k]));
                }
            }
            if (wait) Console.WriteLine($"({kept} rounds kept, {discarded} discarded because other processes used the CPUs{(_clock.Elapsed > _deadline ? "; deadline reached, later rounds taken as they came" : "")})");
        }

        /// <summary>Waits until other processes have used under 3% of the CPU time for one second (or the deadline).</summary>
        private static void WaitForIdle()
        {
            while (_clock.Elapsed < _deadline)
            {
                var a = CpuSample.Take();
                Thread.Sleep(1000);
                if (CpuSample.OthersBusyFraction(a, CpuSample.Take()) < 0.03) return;
            }
        }

        /// <summary>Busy and total CPU time of the machine (/proc/stat) and this process's own CPU time (/proc/self/stat), in clock ticks.</summary>
        private readonly struct CpuSample
        {
            private CpuSample(long busy, long total, long self)
            {
                Busy = busy;
                Total = total;
                Self = self;
            }

            public long Busy { get; }
            public long Total { get; }
            public long Self { get; }

            public static bool Available { get; } = File.Exists("/proc/stat") && File.Exists("/proc/self/stat");

            public static CpuSample Take()
            {
                if (!Available) return default;
                var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
                long busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu.Length > 7 ? cpu[7] : 0);
                long total = busy + cpu[3] + cpu[4];
                // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
                string self = File.ReadAllText("/proc/self/stat");
                var fields = self.Substring(self.LastIndexOf(')') + 2).Split(' ');
                return new CpuSample(busy, total, long.Parse(fields[11]) + long.Parse(fields[12]));
            }

            /// <summary>Share of all CPU time between the samples used by processes other than this one.</summary>
            public static double OthersBusyFraction(CpuSample a, CpuSample b)
            {
                long total = b.Total - a.Total;
                return total <= 0 ? 0 : Math.Max(0, (b.Busy - a.Busy) - (b.Self - a.Self)) / (double)total;
            }
        }

        /// <summary>Median over rounds of numerator / denominator round medians.</summary>
        private static double RoundRatio(Case numerator, Case denominator)
            => MedianOf(numerator.RoundMedians.Zip(denominator.RoundMedians, (a, b) => a / b).ToList());

        private static double MedianOf(List<double> values)
        {
            var sorted = values.OrderBy(x => x).ToList();
            int n = sorted.Count;
            return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }

        private static float[] Filled(int n, float scale)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = scale * MathF.Sin(0.001f * i);
            return a;
        }

        private static FusedOptimizer Optimizer(int[] sizes, Fused.Runtime.Kernels.FusedRule rule, WorkerPool pool)
        {
            var b = new OptimizerBuilder();
            for (int i = 0; i < sizes.Length; i++) b.AddParameter($"t{i}", new[] { sizes[i] }, Filled(sizes[i], 0.5f), Filled(sizes[i], 0.01f));
            return b.Route(x => true, rule).SkipNonFiniteSteps(false).Pool(pool).Build();
        }

        // ---- hand-written fused AdamW ----

        private static void HandAdamW(WorkerPool pool, Span<float> p, Span<float> g, Span<float> m, Span<float> v, long t)
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

        // ---- hand-written fused AdamW with bf16 state converted inside the loop ----

        private static void HandAdamWBf16(WorkerPool pool, float[] p, float[] g, ushort[] m, ushort[] v, long t)
        {
            fixed (float* pp = p, pg = g)
            fixed (ushort* pm = m, pv = v)
            {
                var work = new HandAdamWBf16Work
                {
                    P = pp, G = pg, M = pm, V = pv, Lr = 1e-3f, B1 = 0.9f, B2 = 0.999f, Eps = 1e-8f, Wd = 0.01f,
                    Bc1 = 1 - MathF.Pow(0.9f, t), Bc2 = 1 - MathF.Pow(0.999f, t),
                    KeyM = new Fused.Runtime.Precision.CounterRngKey(7, t, 2), KeyV = new Fused.Runtime.Precision.CounterRngKey(7, t, 3),
                };
                pool.Run(ref work, p.Length, 64 * 1024);
            }
        }

        private struct HandAdamWBf16Work : IRangeWork
        {
            public float* P, G;
            public ushort* M, V;
            public float Lr, B1, B2, Eps, Wd, Bc1, Bc2;
            public Fused.Runtime.Precision.CounterRngKey KeyM, KeyV;

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
                var m0 = Vector256.Create(KeyM.K0);
                var m1 = Vector256.Create(KeyM.K1);
                var v0 = Vector256.Create(KeyV.K0);
                var v1 = Vector256.Create(KeyV.K1);
                // start is a multiple of 64 and the tensor far below 2^33 elements: the pair counters' high half is 0.
                var pair = Vector256.Create((uint)(start >> 1)) + Vector256<uint>.Indices;
                for (long i = start; i + 16 <= end; i += 16)
                {
                    var (mLo, mHi) = Vector256.Widen(Vector256.Load(M + i));
                    var (vLo, vHi) = Vector256.Widen(Vector256.Load(V + i));
                    var (ma, va, pa) = Update(Vector256.Load(P + i), Vector256.Load(G + i), (mLo << 16).AsSingle(), (vLo << 16).AsSingle());
                    var (mb, vb, pb) = Update(Vector256.Load(P + i + 8), Vector256.Load(G + i + 8), (mHi << 16).AsSingle(), (vHi << 16).AsSingle());
                    pa.Store(P + i);
                    pb.Store(P + i + 8);
                    Round(ma, mb, Draws(pair, m0, m1)).Store(M + i);
                    Round(va, vb, Draws(pair, v0, v1)).Store(V + i);
                    pair += Vector256.Create(8u);
                }

                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                (Vector256<float>, Vector256<float>, Vector256<float>) Update(Vector256<float> p, Vector256<float> g, Vector256<float> m, Vector256<float> v)
                {
                    m = b1 * m + omb1 * g;
                    v = b2 * v + omb2 * g * g;
                    var update = (m * ibc1) / (Vector256.Sqrt(v * ibc2) + eps) + wd * p;
                    return (m, v, p - lr * update);
                }
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            internal static Vector256<uint> Draws(Vector256<uint> pair, Vector256<uint> k0, Vector256<uint> k1)
                => LowBias32(LowBias32(pair ^ k0) ^ k1);

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<uint> LowBias32(Vector256<uint> x)
            {
                x ^= x >> 16;
                x *= Vector256.Create(0x7FEB352Du);
                x ^= x >> 15;
                x *= Vector256.Create(0x846CA68Bu);
                return x ^ (x >> 16);
            }

            /// <summary>Stochastic rounding of 16 values with the 16-bit lanes of the draws (NaN handling left out).</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            internal static Vector256<ushort> Round(Vector256<float> a, Vector256<float> b, Vector256<uint> draws)
            {
                var (ra, rb) = Vector256.Widen(draws.AsUInt16());
                return Vector256.Narrow((a.AsUInt32() + ra) >> 16, (b.AsUInt32() + rb) >> 16);
            }
        }

        private static void HandLionBf16(WorkerPool pool, float[] p, float[] g, ushort[] m, long t)
        {
            fixed (float* pp = p, pg = g)
            fixed (ushort* pm = m)
            {
                var work = new HandLionBf16Work { P = pp, G = pg, M = pm, Lr = 1e-4f, B1 = 0.9f, B2 = 0.99f, Wd = 0f, Key = new Fused.Runtime.Precision.CounterRngKey(7, t, 2) };
                pool.Run(ref work, p.Length, 64 * 1024);
            }
        }

        private struct HandLionBf16Work : IRangeWork
        {
            public float* P, G;
            public ushort* M;
            public float Lr, B1, B2, Wd;
            public Fused.Runtime.Precision.CounterRngKey Key;

            public void Execute(long start, long end)
            {
                var b1 = Vector256.Create(B1);
                var b2 = Vector256.Create(B2);
                var omb1 = Vector256.Create(1 - B1);
                var omb2 = Vector256.Create(1 - B2);
                var lr = Vector256.Create(Lr);
                var wd = Vector256.Create(Wd);
                var one = Vector256.Create(1f);
                var signBit = Vector256.Create(-0f);
                var k0 = Vector256.Create(Key.K0);
                var k1 = Vector256.Create(Key.K1);
                var pair = Vector256.Create((uint)(start >> 1)) + Vector256<uint>.Indices;
                for (long i = start; i + 16 <= end; i += 16)
                {
                    var (mLo, mHi) = Vector256.Widen(Vector256.Load(M + i));
                    var (pa, ma) = Update(Vector256.Load(P + i), Vector256.Load(G + i), (mLo << 16).AsSingle());
                    var (pb, mb) = Update(Vector256.Load(P + i + 8), Vector256.Load(G + i + 8), (mHi << 16).AsSingle());
                    pa.Store(P + i);
                    pb.Store(P + i + 8);
                    HandAdamWBf16Work.Round(ma, mb, HandAdamWBf16Work.Draws(pair, k0, k1)).Store(M + i);
                    pair += Vector256.Create(8u);
                }

                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                (Vector256<float>, Vector256<float>) Update(Vector256<float> p, Vector256<float> g, Vector256<float> m)
                {
                    var c = b1 * m + omb1 * g;
                    var sign = ((c & signBit) | one) & ~Vector256.Equals(c, Vector256<float>.Zero);
                    return (p - lr * (sign + wd * p), b2 * m + omb2 * g);
                }
            }
        }

        // ---- hand-written fused Lion (the catalog's defaults: lr 1e-4, beta1 0.9, beta2 0.99, weight decay 0) ----

        private static void HandLion(WorkerPool pool, Span<float> p, Span<float> g, Span<float> m)
        {
            fixed (float* pp = p, pg = g, pm = m)
            {
                var work = new HandLionWork { P = pp, G = pg, M = pm, Lr = 1e-4f, B1 = 0.9f, B2 = 0.99f, Wd = 0f };
                pool.Run(ref work, p.Length, 64 * 1024);
            }
        }

        private struct HandLionWork : IRangeWork
        {
            public float* P, G, M;
            public float Lr, B1, B2, Wd;

            public void Execute(long start, long end)
            {
                var b1 = Vector256.Create(B1);
                var b2 = Vector256.Create(B2);
                var omb1 = Vector256.Create(1 - B1);
                var omb2 = Vector256.Create(1 - B2);
                var lr = Vector256.Create(Lr);
                var wd = Vector256.Create(Wd);
                var one = Vector256.Create(1f);
                var signBit = Vector256.Create(-0f);
                long i = start;
                for (; i + 8 <= end; i += 8)
                {
                    var g = Vector256.Load(G + i);
                    var p = Vector256.Load(P + i);
                    var m = Vector256.Load(M + i);
                    var c = b1 * m + omb1 * g;
                    // sign(c): ±1 with c's sign, 0 where c is 0.
                    var sign = ((c & signBit) | one) & ~Vector256.Equals(c, Vector256<float>.Zero);
                    (p - lr * (sign + wd * p)).Store(P + i);
                    (b2 * m + omb2 * g).Store(M + i);
                }
                for (; i < end; i++)
                {
                    float c = B1 * M[i] + (1 - B1) * G[i];
                    P[i] -= Lr * (MathF.Sign(c) + Wd * P[i]);
                    M[i] = B2 * M[i] + (1 - B2) * G[i];
                }
            }
        }
    }
}
