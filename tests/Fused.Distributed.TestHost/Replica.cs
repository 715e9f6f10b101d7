using System;
using System.Linq;
using Fused.Distributed.Mpi;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Fused.Runtime.OpenCL;

namespace Fused.Distributed.TestHost
{
    /// <summary>
    /// The test model: a few tensors with odd lengths and tails — cut across ranks mid-row (at 2 ranks in w2, at 3 in
    /// w1 and w2), a matrix, a vector smaller than a reduction block, a rank-3 tensor (sides ≤ 1024 for Shampoo) — with full parameter and gradient buffers, fixed initial values, and
    /// each rank's gradient at each step a pure function of (tensor, step, rank), so any process can compute any rank's.
    /// </summary>
    internal sealed class Replica
    {
        public static readonly int[][] Shapes = { new[] { 3, 1001 }, new[] { 37, 53 }, new[] { 7, 1000 }, new[] { 17 }, new[] { 2, 3, 41 } };

        public readonly float[][] Parameters;
        public readonly float[][] Gradients;
        private readonly float _gradientScale;

        public Replica(float gradientScale = 0.1f)
        {
            _gradientScale = gradientScale;
            Parameters = Enumerable.Range(0, Shapes.Length).Select(t =>
            {
                var random = new Random(77 + t);
                return Enumerable.Range(0, Numel(t)).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            }).ToArray();
            Gradients = Enumerable.Range(0, Shapes.Length).Select(t => new float[Numel(t)]).ToArray();
        }

        public static int Numel(int t) => Shapes[t].Aggregate(1, (a, d) => a * d);

        /// <summary>Rank <paramref name="rank"/>'s local gradients at <paramref name="step"/>, into <see cref="Gradients"/>.</summary>
        public void LoadGradients(int step, int rank)
        {
            for (int t = 0; t < Shapes.Length; t++)
            {
                var random = new Random(1000 * step + 31 * rank + t);
                var g = Gradients[t];
                for (int i = 0; i < g.Length; i++) g[i] = (float)(random.NextDouble() * 2 - 1) * _gradientScale;
            }
        }

        /// <summary>A sharded optimizer; <paramref name="stagingElements"/> small makes the exchanges run in several rounds of odd sizes.</summary>
        public ShardedOptimizer Sharded(MpiCollectives mpi, FusedRule rule, StatePrecision precision, double clip = double.PositiveInfinity,
            int stagingElements = ShardedOptimizerBuilder.DefaultStagingElements, FusedRule? ruleOfW3 = null, OpenClDevice? device = null)
        {
            var builder = new ShardedOptimizerBuilder(mpi).Threads(1).StagingElements(stagingElements).SkipNonFiniteSteps(ruleOfW3 == null);
            if (device != null) builder.UseOpenCl(device);
            for (int t = 0; t < Shapes.Length; t++) builder.AddParameter($"w{t}", Shapes[t], Parameters[t], Gradients[t]);
            if (ruleOfW3 != null) builder.Route("w3", p => p.Name == "w3", ruleOfW3);
            builder.Route("all", p => ruleOfW3 == null || p.Name != "w3", rule, o => o.State(precision));
            if (double.IsFinite(clip)) builder.ClipGlobalNorm(clip);
            return builder.Build();
        }

        /// <summary>One process, configured as <see cref="Sharded"/>: <paramref name="ruleOfW3"/> (if any) steps w3, without skipping non-finite steps.</summary>
        public FusedOptimizer Single(FusedRule rule, StatePrecision precision, double clip = double.PositiveInfinity, FusedRule? ruleOfW3 = null, OpenClDevice? device = null)
        {
            var builder = new OptimizerBuilder().Threads(1).SkipNonFiniteSteps(ruleOfW3 == null);
            if (device != null) builder.UseOpenCl(device);
            for (int t = 0; t < Shapes.Length; t++) builder.AddParameter($"w{t}", Shapes[t], Parameters[t], Gradients[t]);
            if (ruleOfW3 != null) builder.Route("w3", p => p.Name == "w3", ruleOfW3);
            builder.Route("all", p => ruleOfW3 == null || p.Name != "w3", rule, o => o.State(precision));
            if (double.IsFinite(clip)) builder.ClipGlobalNorm(clip);
            return builder.Build();
        }

        /// <summary>One process over the global batch of <paramref name="ranks"/> ranks: their gradients as micro-batches in rank order.</summary>
        public StepResult StepSingle(FusedOptimizer optimizer, int step, int ranks, Action<int>? tamper = null)
        {
            for (int r = 0; r < ranks; r++)
            {
                LoadGradients(step, r);
                tamper?.Invoke(r);
                optimizer.AccumulateGradients();
            }
            return optimizer.Step();
        }

        /// <summary>
        /// As <see cref="StepSingle"/>, but the mean of the ranks' gradients is computed here (float32, summed in rank
        /// order, then divided by the rank count) and stepped without accumulation: a failed step leaves nothing behind
        /// for the next (the engine keeps a failed step's accumulated mean for a retry).
        /// </summary>
        public StepResult StepSingleMean(FusedOptimizer optimizer, int step, int ranks, Action<int>? tamper = null)
        {
            var sums = Gradients.Select(g => new float[g.Length]).ToArray();
            for (int r = 0; r < ranks; r++)
            {
                LoadGradients(step, r);
                tamper?.Invoke(r);
                for (int t = 0; t < sums.Length; t++)
                    for (int i = 0; i < sums[t].Length; i++) sums[t][i] = r == 0 ? Gradients[t][i] : sums[t][i] + Gradients[t][i];
            }
            for (int t = 0; t < sums.Length; t++)
                for (int i = 0; i < sums[t].Length; i++) Gradients[t][i] = sums[t][i] / ranks;
            return optimizer.Step();
        }

        public StepResult StepSharded(ShardedOptimizer optimizer, int step, Action? tamper = null)
        {
            LoadGradients(step, optimizer.Rank);
            tamper?.Invoke();
            return optimizer.Step();
        }

        /// <summary>Lines naming the first differing element of each tensor against <paramref name="other"/>, bit for bit.</summary>
        public int Differences(Replica other, string what, int rank)
        {
            int failures = 0;
            for (int t = 0; t < Shapes.Length; t++)
            {
                int bad = FirstDifference(Parameters[t], other.Parameters[t]);
                if (bad < 0) continue;
                Console.WriteLine($"rank {rank}: FAIL {what}: w{t}[{bad}] = {Parameters[t][bad]:R}, expected {other.Parameters[t][bad]:R}");
                failures++;
            }
            return failures;
        }

        public static int FirstDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            for (int i = 0; i < a.Length; i++)
                if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) return i;
            return -1;
        }
    }
}
