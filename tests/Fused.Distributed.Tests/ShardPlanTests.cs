using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Xunit;

namespace Fused.Distributed.Tests
{
    /// <summary>The shard plan's arithmetic, on random tensor lists (no MPI).</summary>
    public sealed class ShardPlanTests
    {
        [Theory]
        [InlineData(1, 11)]
        [InlineData(2, 12)]
        [InlineData(3, 13)]
        [InlineData(8, 14)]
        [InlineData(64, 15)]
        public void EveryElementHasExactlyOneOwnerAndCutsAreOnBlockBoundaries(int ranks, int seed)
        {
            var random = new Random(seed);
            for (int trial = 0; trial < 50; trial++)
            {
                var tensors = Enumerable.Range(0, random.Next(1, 12)).Select(_ =>
                {
                    long n = random.Next(1, 3) == 1 ? random.Next(1, 50) : random.Next(1, 200_000);
                    return new ShardTensor(n, random.Next(3) > 0, n * (1 + random.Next(3)));
                }).ToArray();
                var plan = new ShardPlan(tensors, ranks);
                var covered = tensors.Select(t => new List<(long Start, long End)>()).ToArray();
                for (int r = 0; r < ranks; r++)
                {
                    Assert.Equal(plan.SegmentsOf(r).Sum(s => s.Count), plan.Sizes[r]);
                    foreach (var s in plan.SegmentsOf(r))
                    {
                        Assert.True(s.Count > 0);
                        Assert.True(s.Start % Reduction.BlockSize == 0, $"segment starts at {s.Start}, not a block boundary");
                        Assert.True(s.End == tensors[s.Tensor].Numel || s.End % Reduction.BlockSize == 0, $"segment ends at {s.End} inside a block of a {tensors[s.Tensor].Numel}-element tensor");
                        if (!tensors[s.Tensor].Splittable) Assert.True(s.Start == 0 && s.Count == tensors[s.Tensor].Numel, "a tensor that cannot be split was split");
                        covered[s.Tensor].Add((s.Start, s.End));
                    }
                }
                for (int t = 0; t < tensors.Length; t++)
                {
                    var ranges = covered[t].OrderBy(c => c.Start).ToList();
                    long at = 0;
                    foreach (var (start, end) in ranges) { Assert.Equal(at, start); at = end; }
                    Assert.Equal(tensors[t].Numel, at);
                }
            }
        }

        [Fact]
        public void SplitElementsAreBalancedToWithinOneBlockPerBoundary()
        {
            var plan = new ShardPlan(new[] { new ShardTensor(1_000_003, true, 1_000_003), new ShardTensor(777_777, true, 777_777) }, 3);
            double mean = (1_000_003 + 777_777) / 3.0;
            foreach (long size in plan.Sizes) Assert.InRange(size, mean - 2 * Reduction.BlockSize, mean + 2 * Reduction.BlockSize);
        }

        [Fact]
        public void WholeTensorsGoLargestFirstToTheLeastLoadedRank()
        {
            var costs = new double[] { 5, 9, 4, 7, 3 };
            var plan = new ShardPlan(costs.Select(c => new ShardTensor((long)c, false, c)).ToArray(), 2);
            // By hand: 9 → rank 0; 7 → rank 1; 5 → rank 1 (7 < 9); 4 → rank 0 (9 < 12); 3 → rank 1 (12 < 13).
            Assert.Equal(new long[] { 1, 2 }, plan.SegmentsOf(0).Select(s => (long)s.Tensor).OrderBy(t => t));
            Assert.Equal(new long[] { 0, 3, 4 }, plan.SegmentsOf(1).Select(s => (long)s.Tensor).OrderBy(t => t));
        }
    }
}
