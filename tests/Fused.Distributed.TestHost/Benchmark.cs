using System;
using System.Diagnostics;
using System.Linq;
using Fused.Catalog;
using Fused.Distributed.Mpi;
using Fused.Runtime.Engine;

namespace Fused.Distributed.TestHost
{
    /// <summary>
    /// "bench [threads] [rule] [no-journal]": AdamW (or a catalog rule by name, e.g. LAMB, whose norms are then exchanged
    /// between the owners of a cut tensor; float32 state) on 16.8M parameters (8 tensors of 2²¹, cut across ranks
    /// mid-tensor when 8 does not divide evenly, e.g. 3 ranks), all-or-nothing steps unless "no-journal". Per rank: the median sharded
    /// step and its phases, bytes sent per step, and a ceiling measured in the same run — one copy of the gradients
    /// (memory bandwidth). At one rank it also times the plain engine, the alternative a user would pick. Rank 0 prints
    /// the slowest rank's figures. Not a test: timings on a shared machine are indications.
    /// </summary>
    internal static class Benchmark
    {
        public static int Run(MpiCollectives mpi, int threads, string ruleName = "AdamW", bool journal = true)
        {
            var rule = CatalogRules.All.FirstOrDefault(r => string.Equals(r.Name, ruleName, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"no catalog rule '{ruleName}'");
            const int Tensors = 8, Length = 1 << 21, Warmup = 3, Steps = 15;
            long elements = (long)Tensors * Length;
            var parameters = Enumerable.Range(0, Tensors).Select(t => Enumerable.Range(0, Length).Select(i => (float)Math.Sin(i + t)).ToArray()).ToArray();
            var gradients = Enumerable.Range(0, Tensors).Select(t => Enumerable.Range(0, Length).Select(i => (float)Math.Cos(i * 0.5 + t) * 1e-2f).ToArray()).ToArray();

            var builder = new ShardedOptimizerBuilder(mpi).Threads(threads).AllOrNothingSteps(journal);
            for (int t = 0; t < Tensors; t++) builder.AddParameter($"w{t}", new[] { Length }, parameters[t], gradients[t]);
            using var sharded = builder.Route("all", _ => true, rule).ClipGlobalNorm(1.0).Build();

            double Median(Func<double> run)
            {
                for (int i = 0; i < Warmup; i++) run();
                var times = Enumerable.Range(0, Steps).Select(_ => run()).OrderBy(x => x).ToArray();
                return times[Steps / 2];
            }
            var copy = new float[Length];
            double ceiling = Median(() =>
            {
                var clock = Stopwatch.StartNew();
                foreach (var g in gradients) g.AsSpan().CopyTo(copy);
                return clock.Elapsed.TotalSeconds;
            });
            long bytesBefore = sharded.BytesSent;
            var phases = new System.Collections.Generic.List<(double Average, double Step, double Gather)>();
            double step = Median(() =>
            {
                var clock = Stopwatch.StartNew();
                sharded.Step();
                double s = clock.Elapsed.TotalSeconds;
                phases.Add(sharded.LastStepSeconds);
                return s;
            });
            double bytesPerStep = (sharded.BytesSent - bytesBefore) / (double)(Warmup + Steps);
            double PhaseMedian(Func<(double, double, double), double> pick) => phases.Skip(Warmup).Select(pick).OrderBy(x => x).ElementAt(Steps / 2);
            double average = PhaseMedian(p => p.Item1), engine = PhaseMedian(p => p.Item2), gather = PhaseMedian(p => p.Item3);

            double single = double.NaN;
            if (mpi.Size == 1)
            {
                var b = new OptimizerBuilder().Threads(threads);
                for (int t = 0; t < Tensors; t++) b.AddParameter($"w{t}", new[] { Length }, parameters[t], gradients[t]);
                using var plain = b.Route("all", _ => true, rule).ClipGlobalNorm(1.0).Build();
                single = Median(() => { var clock = Stopwatch.StartNew(); plain.Step(); return clock.Elapsed.TotalSeconds; });
            }
            var worst = new[] { step, average, engine, gather, bytesPerStep, ceiling };
            mpi.AllReduceMax(worst);
            var report = sharded.MemoryReport();
            var state = new double[] { report.StateBytes, report.Engine?.Groups.Sum(g => g.JournalBytes) ?? 0 };
            mpi.AllReduceMax(state);
            if (mpi.Rank == 0)
            {
                Console.WriteLine($"bench: {rule.Name} fp32, {elements:N0} parameters, {mpi.Size} rank(s) × {threads} thread(s), all-or-nothing steps {(journal && mpi.Size > 1 ? "on" : "off")}, CPU: {CpuName()}");
                Console.WriteLine($"  sharded step (median of {Steps}, slowest rank): {worst[0] * 1e3:0.0} ms = average gradients {worst[1] * 1e3:0.0} + engine step {worst[2] * 1e3:0.0} + gather parameters {worst[3] * 1e3:0.0} (medians)");
                Console.WriteLine($"  bytes sent per step per rank (modelled payload): {worst[4] / 1e6:0.0} MB = {worst[4] / elements:0.00} B/parameter");
                Console.WriteLine($"  ceiling: one copy of the gradients {worst[5] * 1e3:0.0} ms ({4.0 * elements * 2 / worst[5] / 1e9:0.0} GB/s read+write); step / copy = {worst[0] / worst[5]:0.0}");
                long oneProcess = 4L * elements * rule.Schedule.Buffers.Count(b => b.Kind == Fused.Ir.BufferKind.State && b.Shape == Fused.StateShape.Element);
                Console.WriteLine($"  largest state per rank: {state[0] / 1e6:0.0} MB (one process: {oneProcess / 1e6:0.0} MB); largest journal per rank: {state[1] / 1e6:0.0} MB");
                if (!double.IsNaN(single)) Console.WriteLine($"  plain engine step (one process, no exchange): {single * 1e3:0.0} ms; sharded / plain = {step / single:0.00}");
            }
            return 0;
        }

        private static string CpuName()
        {
            try { return System.IO.File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("model name")).Split(':')[1].Trim(); }
            catch (Exception) { return "unknown"; }
        }
    }
}
