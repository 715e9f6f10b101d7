using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Distributed;
using Fused.Distributed.Mpi;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Fused.Runtime.OpenCL;

namespace Fused.Distributed.TestHost
{
    /// <summary>
    /// Started by tests/Fused.Distributed.Tests under <c>mpirun -np N</c>. Every rank steps a sharded optimizer and,
    /// in the same process, one ordinary optimizer over full copies whose gradient is the mean of every rank's local
    /// gradients accumulated in rank order (one process training on the same global batch); it then compares every
    /// parameter bit for bit, and its own state segments with the reference's. Prints one line per check; the exit code
    /// is the number of failed checks (0 = all passed). Modes: rules, clip, nonfinite, fail, mismatch, die, hang, save DIR, resume DIR M; and bench [threads] (Benchmark.cs).
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            string mode = args.Length > 0 ? args[0] : "rules";
            var mpi = MpiCollectives.Initialize(mode == "hang" ? TimeSpan.FromSeconds(HangTimeoutSeconds) : null);
            int failures;
            try
            {
                failures = mode switch
                {
                    "rules" => CatalogRules.All.Sum(rule => Compare(mpi, rule, StatePrecision.Float32, clip: double.PositiveInfinity, nanAt: -1))
                               + Compare(mpi, AdamW.Rule, StatePrecision.Int8Blockwise, double.PositiveInfinity, -1)
                               + Compare(mpi, AdamW.Rule, StatePrecision.BFloat16, double.PositiveInfinity, -1)
                               + Compare(mpi, Lion.Rule, StatePrecision.BFloat16, double.PositiveInfinity, -1)
                               + Compare(mpi, Lamb.Rule, StatePrecision.Int8Blockwise, double.PositiveInfinity, -1)
                               + Compare(mpi, Lamb.Rule, StatePrecision.BFloat16, double.PositiveInfinity, -1)
                               + Compare(mpi, CautiousAdamW.Rule, StatePrecision.BFloat16, double.PositiveInfinity, -1),
                    "clip" => Compare(mpi, AdamW.Rule, StatePrecision.Float32, clip: 0.05, nanAt: -1) + Compare(mpi, Muon.Rule, StatePrecision.Float32, clip: 0.05, nanAt: -1),
                    "nonfinite" => Compare(mpi, AdamW.Rule, StatePrecision.Float32, clip: 1.0, nanAt: 2) + Compare(mpi, Lion.Rule, StatePrecision.Float32, double.PositiveInfinity, nanAt: 3),
                    "opencl" => OpenCl(mpi),
                    "fail" => FailedStep(mpi, Lamb.Rule) + FailedStep(mpi, AdamW.Rule),
                    "mismatch" => Mismatch(mpi),
                    "die" => Die(mpi),
                    "hang" => Hang(mpi),
                    "bench" => Benchmark.Run(mpi, args.Length > 1 ? int.Parse(args[1]) : 1, args.Length > 2 ? args[2] : "AdamW", !args.Contains("no-journal")),
                    "save" => CheckpointChecks.Save(mpi, args[1]),
                    "resume" => CheckpointChecks.Resume(mpi, args[1], int.Parse(args[2])),
                    _ => throw new ArgumentException($"unknown mode '{mode}'"),
                };
            }
            catch (Exception e)
            {
                Console.WriteLine($"rank {mpi.Rank}: FAIL {e.GetType().Name}: {e.Message}");
                failures = 1;
            }
            mpi.Dispose();
            return failures;
        }

        /// <summary>
        /// Four steps sharded against one process. Exchanges run in rounds of 2001 / N elements per owner (several rounds,
        /// odd sizes) except in the clipping runs, which use the default single round.
        /// </summary>
        private static int Compare(MpiCollectives mpi, FusedRule rule, StatePrecision precision, double clip, int nanAt, OpenClDevice? device = null)
        {
            const int Steps = 4;
            int N = mpi.Size, me = mpi.Rank;
            float gradientScale = double.IsFinite(clip) ? 3f : 0.1f;
            var model = new Replica(gradientScale);
            var reference = new Replica(gradientScale);
            using var one = reference.Single(rule, precision, clip, device: device);
            using var many = model.Sharded(mpi, rule, precision, clip, double.IsFinite(clip) ? ShardedOptimizerBuilder.DefaultStagingElements : 2001, device: device);

            string what = $"{rule.Name} ({precision}{(device != null ? ", OpenCL" : "")}{(double.IsFinite(clip) ? $", clip {clip}" : "")}{(nanAt > 0 ? $", NaN at step {nanAt}" : "")}), {N} ranks";
            int failures = 0;
            if (device != null && (!one.Backend.StartsWith("OpenCL") || (many.Engine != null && !many.Engine.Backend.StartsWith("OpenCL"))))
            {
                Console.WriteLine($"rank {me}: FAIL {what}: the engines run on {one.Backend} and {many.Engine?.Backend}, not OpenCL");
                failures++;
            }
            for (int step = 1; step <= Steps; step++)
            {
                // One NaN in the last rank's gradient: every rank must skip, as one process does.
                var expected = reference.StepSingle(one, step, N, r => { if (step == nanAt && r == N - 1) reference.Gradients[2][4321] = float.NaN; });
                var got = model.StepSharded(many, step, () => { if (step == nanAt && me == N - 1) model.Gradients[2][4321] = float.NaN; });
                if (got.Status != expected.Status || BitConverter.DoubleToInt64Bits(got.GradientNorm) != BitConverter.DoubleToInt64Bits(expected.GradientNorm) || got.ClipScale != expected.ClipScale)
                {
                    Console.WriteLine($"rank {me}: FAIL {what} step {step}: status {got.Status} norm {got.GradientNorm:R} scale {got.ClipScale:R}, one process {expected.Status} {expected.GradientNorm:R} {expected.ClipScale:R}");
                    failures++;
                }
                if (step == nanAt && got.Status != StepStatus.SkippedNonFiniteGradient)
                {
                    Console.WriteLine($"rank {me}: FAIL {what} step {step} was not skipped");
                    failures++;
                }
                failures += model.Differences(reference, $"{what} step {step}", me);
            }
            failures += CompareStates(many, one, what);
            failures += ExpectCut(mpi, many, rule, what);
            failures += CompareStateBytes(mpi, many, one, what);
            if (failures == 0) Console.WriteLine($"rank {me}: OK {what}: {Steps} steps bit-identical, states of {many.Plan.SegmentsOf(me).Count} segment(s) too");
            return failures;
        }

        /// <summary>
        /// Each rank's engine on OpenCL (PoCL in CI), against one process on the same device: element-wise (AdamW), split
        /// whole-tensor reductions (LAMB, C-AdamW), row/column states (Adafactor) and a matrix rule (Muon), with clipping.
        /// </summary>
        private static int OpenCl(MpiCollectives mpi)
        {
            var device = OpenClDevice.Select();
            return new[] { AdamW.Rule, Lamb.Rule, CautiousAdamW.Rule, Adafactor.Rule, Muon.Rule }
                .Sum(rule => Compare(mpi, rule, StatePrecision.Float32, clip: 0.05, nanAt: -1, device: device));
        }

        /// <summary>
        /// All or nothing across ranks. Muon steps w3, <paramref name="rule"/> the rest (split across ranks, LAMB with its
        /// norms exchanged between piece owners), non-finite steps not skipped. At step 3 the last rank's local gradient of
        /// w3 holds a NaN: the averaged w3 is NaN, Newton–Schulz refuses it on w3's owner (which also owns a piece of a cut
        /// tensor, so with LAMB its peers learn of the failure inside the exchange of partials), every rank's step throws, and
        /// every rank puts back what its step wrote — parameters equal one process's (whose own step failed alike and was
        /// undone) bit for bit after every step, and so do the states after two more steps.
        /// </summary>
        private static int FailedStep(MpiCollectives mpi, FusedRule rule)
        {
            const int Steps = 5, FailAt = 3;
            int N = mpi.Size, me = mpi.Rank, failures = 0;
            var model = new Replica();
            var reference = new Replica();
            using var one = reference.Single(rule, StatePrecision.Float32, ruleOfW3: Muon.Rule);
            using var many = model.Sharded(mpi, rule, StatePrecision.Float32, stagingElements: 2001, ruleOfW3: Muon.Rule);
            string what = $"failed step (Muon on w3, {rule.Name} elsewhere), {N} ranks";
            int owner = Enumerable.Range(0, N).Single(r => many.Plan.SegmentsOf(r).Any(s => s.Tensor == 3));
            if (!many.Plan.SegmentsOf(owner).Any(s => s.Count < Replica.Numel(s.Tensor)))
            {
                Console.WriteLine($"rank {me}: FAIL {what}: w3's owner shares no cut tensor, so a failure inside the exchange is not tested");
                failures++;
            }
            for (int step = 1; step <= Steps; step++)
            {
                string? expected = null, got = null;
                try { reference.StepSingleMean(one, step, N, r => { if (step == FailAt && r == N - 1) reference.Gradients[3][5] = float.NaN; }); }
                catch (OptimizerStepException e) { expected = e.Message; }
                try { model.StepSharded(many, step, () => { if (step == FailAt && me == N - 1) model.Gradients[3][5] = float.NaN; }); }
                catch (OptimizerStepException e) when (me == owner) { got = e.Message; }
                catch (ShardedStepException e) when (me != owner) { got = e.Message; }
                if ((step == FailAt) != (expected != null) || (expected != null) != (got != null))
                {
                    Console.WriteLine($"rank {me}: FAIL {what} step {step}: one process {(expected == null ? "stepped" : "failed")}, sharded {(got == null ? "stepped" : $"failed: {got}")}");
                    failures++;
                }
                if (got != null) Console.WriteLine($"rank {me}: step {step} failed as expected: {got}");
                if (many.StepCount != one.StepCount)
                {
                    Console.WriteLine($"rank {me}: FAIL {what} step {step}: {many.StepCount} steps taken, one process {one.StepCount}");
                    failures++;
                }
                failures += model.Differences(reference, $"{what} step {step}", me);
            }
            failures += CompareStates(many, one, what);
            if (failures == 0) Console.WriteLine($"rank {me}: OK {what}: step {FailAt} undone on every rank, {Steps} steps bit-identical");
            return failures;
        }

        /// <summary>A rule that may be split (element-wise, with or without whole-tensor reductions) must have a tensor cut mid-tensor by this model.</summary>
        private static int ExpectCut(MpiCollectives mpi, ShardedOptimizer many, FusedRule rule, string what)
        {
            if (!ShardPlan.CanSplit(rule.Schedule)) return 0;
            int cut = Enumerable.Range(0, Replica.Shapes.Length).Count(t => Enumerable.Range(0, mpi.Size)
                .Any(r => many.Plan.SegmentsOf(r).Any(s => s.Tensor == t && s.Count < Replica.Numel(t))));
            if (cut > 0) return 0;
            Console.WriteLine($"rank {mpi.Rank}: FAIL {what}: no tensor was cut across ranks, so splitting is not tested");
            return 1;
        }

        /// <summary>
        /// The ranks' state bytes add up to one process's, plus one copy of the scalar states per extra piece of a split
        /// tensor; and no rank holds more than its segments' share.
        /// </summary>
        private static int CompareStateBytes(MpiCollectives mpi, ShardedOptimizer many, FusedOptimizer one, string what)
        {
            var report = many.MemoryReport();
            var sums = new double[] { report.StateBytes, many.Plan.SegmentsOf(mpi.Rank).Count };
            mpi.AllReduceSum(sums);
            int scalars = one.RuleOf("all").Schedule.ScalarBuffers.Count;
            long expected = one.MemoryReport().Groups.Sum(g => g.StateBytes) + 4L * scalars * ((long)sums[1] - one.Parameters.Count);
            if ((long)sums[0] == expected && report.ParameterBytes == 4 * one.Parameters.Sum(p => p.Numel)) return 0;
            Console.WriteLine($"rank {mpi.Rank}: FAIL {what}: the ranks hold {sums[0]} B of state, expected {expected} B ({report})");
            return 1;
        }

        /// <summary>Each of this rank's segments' element states against the same range of the reference's.</summary>
        private static int CompareStates(ShardedOptimizer many, FusedOptimizer one, string what)
        {
            if (many.Engine == null) return 0;
            int failures = 0;
            foreach (var s in many.Plan.SegmentsOf(many.Rank))
            {
                string full = $"w{s.Tensor}";
                string local = s.Count == one.Parameters[s.Tensor].Numel ? full : ShardedOptimizer.SegmentName(full, s);
                var elementStates = one.StateNames(full).Where(n => one.RuleOf(one.GroupOf(full)).Schedule.Buffers.Any(b => b.Name == n && b.Shape == Fused.StateShape.Element));
                foreach (var state in elementStates)
                {
                    var expected = new float[one.Parameters[s.Tensor].Numel];
                    var got = new float[s.Count];
                    one.ReadState(full, state, expected);
                    many.Engine.ReadState(local, state, got);
                    int bad = Replica.FirstDifference(got, expected.AsSpan((int)s.Start, (int)s.Count));
                    if (bad < 0) continue;
                    Console.WriteLine($"rank {many.Rank}: FAIL {what}: state {state} of {local}[{bad}] = {got[bad]:R}, one process {expected[s.Start + bad]:R}");
                    failures++;
                }
            }
            return failures;
        }

        /// <summary>The last rank sets a different learning rate: every rank's Build must throw, naming that rank and the difference.</summary>
        private static int Mismatch(MpiCollectives mpi)
        {
            int last = mpi.Size - 1;
            var builder = new ShardedOptimizerBuilder(mpi).AddParameter("w", new[] { 100 }, new float[100], new float[100])
                .Route("adamw", _ => true, AdamW.Rule, o => o.Set("lr", mpi.Rank == last ? 2e-3f : 1e-3f));
            try
            {
                using var optimizer = builder.Build();
                Console.WriteLine($"rank {mpi.Rank}: FAIL Build accepted ranks configured differently");
                return 1;
            }
            catch (OptimizerConfigurationException e)
            {
                Console.WriteLine($"rank {mpi.Rank}: mismatch: {e.Message}");
                bool named = e.Message.Contains($"rank {last}") && e.Message.Contains("lr=0.002") && e.Message.Contains("lr=0.001");
                if (!named) Console.WriteLine($"rank {mpi.Rank}: FAIL the message does not name rank {last} and both learning rates");
                return named ? 0 : 1;
            }
        }

        /// <summary>The timeout of the "hang" mode's collectives.</summary>
        private const int HangTimeoutSeconds = 5;

        /// <summary>
        /// The last rank stops taking part after the first step without dying (it sleeps 10 minutes); the others must end
        /// the job within the timeout, naming the call they waited in. LAMB: the rank also shares a tensor's norms.
        /// </summary>
        private static int Hang(MpiCollectives mpi) => StepUntilTheLastRankStops(mpi, Lamb.Rule, "hanging", "a hung rank",
            () => System.Threading.Thread.Sleep(TimeSpan.FromMinutes(10)));

        /// <summary>The last rank dies after the first step without finalizing MPI; the others keep stepping (mpirun must end the job).</summary>
        private static int Die(MpiCollectives mpi) => StepUntilTheLastRankStops(mpi, AdamW.Rule, "dying", "a dead rank", () => Environment.Exit(42));

        /// <summary>Every rank steps up to 1000 times; after step 1 the last rank says what it is <paramref name="doing"/> and stops (<paramref name="stop"/>).</summary>
        private static int StepUntilTheLastRankStops(MpiCollectives mpi, FusedRule rule, string doing, string what, Action stop)
        {
            var w = new float[50000];
            var g = new float[50000];
            using var optimizer = new ShardedOptimizerBuilder(mpi).AddParameter("w", new[] { 50000 }, w, g).Route("all", _ => true, rule).Build();
            for (int step = 1; step <= 1000; step++)
            {
                g.AsSpan().Fill(0.01f);
                optimizer.Step();
                if (step == 1 && mpi.Rank == mpi.Size - 1)
                {
                    Console.WriteLine($"rank {mpi.Rank}: {doing} after step 1");
                    Console.Out.Flush();
                    stop();
                }
            }
            Console.WriteLine($"rank {mpi.Rank}: FAIL stepped 1000 times with {what}");
            return 1;
        }
    }
}
