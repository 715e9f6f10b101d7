using System;
using Fused.Ir;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// The device's reductions of row-wise passes against the orders <see cref="Reduction"/> defines, bit for bit:
    /// <c>fused_row_block_reduce</c> gives every (row, block) partial of rows blocked on their own, and both column-sum
    /// kernels (a column per work-item, 16 per work-item) give ColSum over groups of <see cref="Reduction.RowGroupSize"/>
    /// rows folded pairwise — their running fold (a binary counter) adds the same pairs as <see cref="Reduction.FoldBlocks"/>
    /// for every group count from 1 to 64.
    /// </summary>
    [Collection(OpenClCollection.Name)]
    public sealed class ClRowReductionTests
    {
        private readonly OpenClFixture _fixture;
        private readonly ITestOutputHelper _output;

        public ClRowReductionTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        [Theory]
        [InlineData(1, 70001, false)]
        [InlineData(37, 1001, false)]
        [InlineData(37, 1001, true)]
        [InlineData(5, 2048, false)]
        [InlineData(3, 5003, true)]
        [InlineData(200, 3, false)]
        public void Row_block_partials_are_the_CPU_order(int rows, int cols, bool max)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            int n = rows * cols;
            var values = Reference.RandomFloats(n, seed: 7 + n, low: -2f, high: max ? -1f : 3f);
            values[n / 3] = max ? -1e-30f : 1e30f; // magnitudes far apart make any change of order visible
            int blocksPerRow = (int)Reduction.BlockCount(cols);
            var expected = new double[rows * blocksPerRow];
            for (int r = 0; r < rows; r++)
                for (int b = 0; b < blocksPerRow; b++)
                {
                    int start = r * cols + b * Reduction.BlockSize;
                    expected[r * blocksPerRow + b] = Reduction.ReduceBlock(values.AsSpan(start, Math.Min(Reduction.BlockSize, (r + 1) * cols - start)), max);
                }

            var context = _fixture.Context;
            using var buffer = context.CreateBuffer<float>(values);
            using var partials = context.CreateBuffer<double>(expected.Length);
            using var reduce = context.Programs.Get(ClSupportKernels.Source).CreateKernel("fused_row_block_reduce");
            var actual = new double[expected.Length];
            ClBlockReductions.RowPartials(_fixture.Queue, reduce, buffer, n, cols, max, partials, actual);
            for (int k = 0; k < expected.Length; k++)
                Assert.True(BitConverter.DoubleToInt64Bits(expected[k]) == BitConverter.DoubleToInt64Bits(actual[k]),
                    $"row {k / blocksPerRow} block {k % blocksPerRow}: expected {expected[k]:R}, got {actual[k]:R}");
        }

        public static TheoryData<int, int, int> ColumnShapes()
        {
            var data = new TheoryData<int, int, int>();
            // Every group count from 1 to 64 (rows ≤ 64: one row per group), groups of several rows with a short last one,
            // columns that are and are not whole sixteens.
            for (int rows = 1; rows <= 64; rows++) data.Add(rows, rows % 3 == 0 ? 16 : 21, 16);
            foreach (int rows in new[] { 65, 127, 130, 200, 4097 })
                foreach (int cols in new[] { 1, 35 })
                    foreach (int perItem in new[] { 1, 16 })
                        data.Add(rows, cols, perItem);
            data.Add(1, 70001, 16);
            data.Add(64, 3, 1);
            return data;
        }

        [Theory]
        [MemberData(nameof(ColumnShapes))]
        public void Column_sums_are_the_CPU_order(int rows, int cols, int columnsPerItem)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            var values = Reference.RandomFloats(rows * cols, seed: rows * 31 + cols, low: -1f, high: 1f);
            // ±1e16 in two rows of different groups: in float64 they swallow what is added to them (an ulp there is 2), and
            // cancel, so which values were added to which, in what order, shows in the float result.
            if (rows >= 3)
                for (int j = 0; j < cols; j++)
                {
                    values[rows / 3 * cols + j] = 1e16f;
                    values[2 * rows / 3 * cols + j] = -1e16f;
                }
            long groupSize = Reduction.RowGroupSize(rows);
            int groups = (int)((rows + groupSize - 1) / groupSize);
            var expected = new float[cols];
            var fold = new double[groups];
            for (int j = 0; j < cols; j++)
            {
                Array.Clear(fold);
                for (int r = 0; r < rows; r++) fold[r / groupSize] += values[r * cols + j];
                expected[j] = (float)Reduction.FoldBlocks(fold, max: false);
            }

            var context = _fixture.Context;
            using var buffer = context.CreateBuffer<float>(values);
            using var result = context.CreateBuffer<float>(cols);
            using var kernel = context.Programs.Get(ClSupportKernels.Source).CreateKernel(columnsPerItem == 16 ? "fused_column_sums16" : "fused_column_sums");
            var actual = new float[cols];
            ClBlockReductions.ColumnSums(_fixture.Queue, kernel, columnsPerItem, buffer, rows, cols, result, actual);
            for (int j = 0; j < cols; j++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[j]) == BitConverter.SingleToInt32Bits(actual[j]),
                    $"{rows}x{cols}, {columnsPerItem} column(s) per work-item, column {j}: expected {expected[j]:R}, got {actual[j]:R}");
        }
    }
}
