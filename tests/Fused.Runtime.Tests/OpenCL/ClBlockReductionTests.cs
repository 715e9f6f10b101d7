using System;
using Fused.Ir;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// The device's canonical block reduction (fused_block_reduce, which reduces the operands the rule passes write)
    /// gives every block's partial and the folded total of <see cref="Reduction"/> bit for bit: the same additions and
    /// selects in the same order, so sums and maxima agree with the CPU's on equal operands.
    /// </summary>
    [Collection(OpenClCollection.Name)]
    public sealed class ClBlockReductionTests
    {
        private readonly OpenClFixture _fixture;
        private readonly ITestOutputHelper _output;

        public ClBlockReductionTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        [Theory]
        [InlineData(1, false, false)]
        [InlineData(1023, false, false)]
        [InlineData(1025, true, false)]
        [InlineData(100_003, false, false)]
        [InlineData(100_003, true, false)]
        [InlineData(100_003, true, true)]
        [InlineData(100_003, false, true)]
        [InlineData(1_000_003, false, false)]
        [InlineData(1_000_003, true, false)]
        public void Device_block_reduction_is_bit_identical_to_the_CPU_order(int n, bool max, bool special)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            // For maxima, all values negative or zero: which signed zero wins then depends on the order.
            var values = Reference.RandomFloats(n, seed: 91 + n, low: -2f, high: max ? -1f : 3f);
            values[n / 2] = max ? -1e-30f : 1e30f; // magnitudes far apart make any change of order visible
            values[n - 1] = -1e-30f;
            // Lane 3 holds -0 and +0 in turn: a maximum keeps the last of equal zeros (lane > x is false).
            for (int i = 3; i < n; i += Reduction.Lanes) values[i] = i / Reduction.Lanes % 2 == 0 ? -0f : 0f;
            if (special)
            {
                // NaN last in lane 15 of block 2: lane > NaN is false, so the maximum takes it, and lane 15 is the right
                // operand at every level of the fold; a NaN first in lane 7 of block 5 is replaced by the next element.
                values[3 * Reduction.BlockSize - 1] = float.NaN;
                values[5 * Reduction.BlockSize + 7] = float.NaN;
            }
            int blocks = (int)Reduction.BlockCount(n);
            var cpuBlocks = new double[blocks];
            for (int b = 0; b < blocks; b++)
            {
                int start = b * Reduction.BlockSize;
                cpuBlocks[b] = Reduction.ReduceBlock(values.AsSpan(start, Math.Min(Reduction.BlockSize, n - start)), max);
            }

            var context = _fixture.Context;
            using var buffer = context.CreateBuffer<float>(values);
            using var partials = context.CreateBuffer<double>(blocks);
            using var reduce = context.Programs.Get(ClSupportKernels.Source).CreateKernel("fused_block_reduce");
            var host = new double[blocks];
            double actual = ClBlockReductions.Reduce(_fixture.Queue, reduce, buffer, n, max, partials, host);
            var devicePartials = new double[blocks];
            _fixture.Queue.Read<double>(partials, devicePartials);
            for (int b = 0; b < blocks; b++) AssertSame(cpuBlocks[b], devicePartials[b], $"block {b}");
            AssertSame(Reduction.FoldBlocks(cpuBlocks, max), actual, "total");
        }

        private static void AssertSame(double expected, double actual, string what)
        {
            if (double.IsNaN(expected)) Assert.True(double.IsNaN(actual), $"{what}: expected NaN, got {actual:R}");
            else Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual), $"{what}: expected {expected:R}, got {actual:R}");
        }
    }
}
