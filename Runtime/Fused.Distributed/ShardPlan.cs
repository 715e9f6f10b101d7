using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Distributed
{
    /// <summary>A range of one tensor's elements, [<see cref="Start"/>, <see cref="Start"/> + <see cref="Count"/>), owned by one rank.</summary>
    public readonly record struct ShardSegment(int Tensor, long Start, long Count)
    {
        public long End => Start + Count;
    }

    /// <summary>What the planner needs to know about one tensor.</summary>
    /// <param name="Numel">Elements.</param>
    /// <param name="Splittable">Whether its rule may step any block-aligned range of it on its own (see <see cref="ShardPlan.CanSplit"/>).</param>
    /// <param name="Cost">Relative cost of stepping it whole (elements, × the short side for matrix rules).</param>
    public readonly record struct ShardTensor(long Numel, bool Splittable, double Cost);

    /// <summary>
    /// Which rank steps which elements (ZeRO-1: each rank keeps optimizer state for its segments only). Tensors whose
    /// rule is element-wise, with or without whole-tensor reductions, are cut by elements at multiples of
    /// <see cref="Reduction.BlockSize"/> (so reduction blocks — and the global norm's partials — are the same as in one
    /// process); every other tensor (row/column states, matrix passes) goes whole to one rank, largest cost first to the least loaded
    /// rank. The split tensors then fill the ranks up to an even load. A pure function of its inputs: every rank
    /// computes the same plan.
    /// </summary>
    public sealed class ShardPlan
    {
        private readonly ShardSegment[][] _segments;

        public ShardPlan(IReadOnlyList<ShardTensor> tensors, int ranks)
        {
            if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "at least one rank");
            Tensors = tensors.ToArray();
            Ranks = ranks;
            var owned = Enumerable.Range(0, ranks).Select(_ => new List<ShardSegment>()).ToArray();
            var load = new double[ranks];

            // Whole tensors: longest-processing-time-first (ties: lower tensor index, then lower rank).
            foreach (int t in Enumerable.Range(0, Tensors.Length).Where(t => !Tensors[t].Splittable)
                         .OrderByDescending(t => Tensors[t].Cost).ThenBy(t => t))
            {
                int r = 0;
                for (int q = 1; q < ranks; q++) if (load[q] < load[r]) r = q;
                owned[r].Add(new ShardSegment(t, 0, Tensors[t].Numel));
                load[r] += Tensors[t].Cost;
            }

            // Split tensors, laid end to end: rank r takes a contiguous share that tops it up towards the mean load.
            var split = Enumerable.Range(0, Tensors.Length).Where(t => Tensors[t].Splittable).ToArray();
            long total = split.Sum(t => Tensors[t].Numel);
            if (total > 0)
            {
                double mean = (load.Sum() + total) / ranks;
                var room = load.Select(l => Math.Max(0, mean - l)).ToArray();
                double roomTotal = room.Sum();
                var boundary = new long[ranks + 1];
                double cumulative = 0;
                for (int r = 0; r < ranks; r++)
                {
                    cumulative += room[r];
                    boundary[r + 1] = r + 1 == ranks ? total : Math.Max(boundary[r], Snap(split, (long)Math.Round(total * cumulative / roomTotal)));
                }
                long at = 0;
                foreach (int t in split)
                {
                    long n = Tensors[t].Numel;
                    for (int r = 0; r < ranks; r++)
                    {
                        long from = Math.Max(boundary[r], at), to = Math.Min(boundary[r + 1], at + n);
                        if (to > from) owned[r].Add(new ShardSegment(t, from - at, to - from));
                    }
                    at += n;
                }
            }
            _segments = owned.Select(o => o.OrderBy(s => s.Tensor).ThenBy(s => s.Start).ToArray()).ToArray();
            Sizes = _segments.Select(s => s.Sum(x => x.Count)).ToArray();
        }

        /// <summary>A flat position among the split tensors moved to the nearest block boundary of the tensor holding it.</summary>
        private long Snap(int[] split, long flat)
        {
            long at = 0;
            foreach (int t in split)
            {
                long n = Tensors[t].Numel;
                if (flat < at + n)
                {
                    long offset = (long)Math.Round((flat - at) / (double)Reduction.BlockSize) * Reduction.BlockSize;
                    return at + Math.Min(offset, n);
                }
                at += n;
            }
            return at;
        }

        public ShardTensor[] Tensors { get; }

        public int Ranks { get; }

        /// <summary>Elements rank r steps (and keeps state for).</summary>
        public long[] Sizes { get; }

        /// <summary>Rank <paramref name="rank"/>'s segments, by tensor then start.</summary>
        public IReadOnlyList<ShardSegment> SegmentsOf(int rank) => _segments[rank];

        /// <summary>
        /// Whether a rule may step a block-aligned range of a tensor as a tensor of its own, with the same results as
        /// stepping the whole: no matrix passes, no row/column values or states, no row-wise pass. Whole-tensor
        /// reductions are completed from every piece's block partials and uniforms read the whole tensor's shape
        /// (<see cref="PieceReductions"/>), so scalar states evolve alike in every piece. bfloat16 state splits too: a
        /// piece continues its full parameter's rounding stream from its first element.
        /// </summary>
        public static bool CanSplit(KernelSchedule schedule)
        {
            if (schedule.Matrices.Count > 0 || schedule.VectorBuffers.Count > 0 || schedule.Vectors.Count > 0 || schedule.VectorReductions.Count > 0) return false;
            if (schedule.Passes.Any(p => p.RowWise)) return false;
            return schedule.Uniforms.All(u => u.Kind != UniformKind.PerRow);
        }

        /// <summary>Cost of stepping a tensor whole: its elements, times its short side when the rule has matrix passes (matrix products).</summary>
        public static double CostOf(KernelSchedule schedule, long rows, long cols)
            => (double)rows * cols * (schedule.Matrices.Count > 0 ? Math.Max(1, Math.Min(rows, cols)) : 1);
    }
}
