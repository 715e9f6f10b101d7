using System;
using Fused.Ir;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// The canonical reduction orders of <see cref="Reduction"/> on an OpenCL device: operands reduced block by block on
    /// the device (<c>fused_block_reduce</c>, <c>fused_row_block_reduce</c>), the per-block float64 partials read back for
    /// the host to fold; ColSum per column over groups of rows (<c>fused_column_sums</c>, <c>fused_column_sums16</c>).
    /// The support kernels are in <see cref="ClSupportKernels"/>.
    /// </summary>
    internal static class ClBlockReductions
    {
        /// <summary>The canonical block reduction on the device, folded on the host in fixed order.</summary>
        public static double Reduce(ClQueue queue, ClKernel reduce, ClBuffer values, int n, bool max, ClBuffer partials, double[] host)
        {
            int blocks = checked((int)Reduction.BlockCount(n));
            if (blocks == 0) return Reduction.Identity(max);
            var view = host.AsSpan(0, blocks);
            BlockPartials(queue, reduce, values, n, max, partials, view);
            return Reduction.FoldBlocks(view, max);
        }

        /// <summary>One float64 partial per block of <see cref="Reduction.BlockSize"/> operands, read into <paramref name="host"/> (BlockCount(n) of them).</summary>
        public static void BlockPartials(ClQueue queue, ClKernel reduce, ClBuffer values, int n, bool max, ClBuffer partials, Span<double> host)
        {
            int blocks = checked((int)Reduction.BlockCount(n));
            if (blocks == 0) return;
            reduce.SetArg(0, values);
            reduce.SetArg(1, n);
            reduce.SetArg(2, max ? 1 : 0);
            reduce.SetArg(3, partials);
            queue.Launch(reduce, (blocks + 15) / 16 * 16, 16);
            queue.Read<double>(partials, host.Slice(0, blocks));
        }

        /// <summary>
        /// The row-wise block reduction on the device: each row of <paramref name="cols"/> operands blocked on its own;
        /// the (row, block) partials, row-major, read into <paramref name="host"/> (rows · BlockCount(cols) of them).
        /// </summary>
        public static void RowPartials(ClQueue queue, ClKernel reduce, ClBuffer values, int n, int cols, bool max, ClBuffer partials, Span<double> host)
        {
            if (n == 0) return;
            int count = checked((int)(n / cols * Reduction.BlockCount(cols)));
            reduce.SetArg(0, values);
            reduce.SetArg(1, n);
            reduce.SetArg(2, cols);
            reduce.SetArg(3, max ? 1 : 0);
            reduce.SetArg(4, partials);
            queue.Launch(reduce, RoundUp(count, 16), 16);
            queue.Read<double>(partials, host.Slice(0, count));
        }

        /// <summary>
        /// ColSum on the device: column j of a rows×cols operand summed in float64 over groups of
        /// <see cref="Reduction.RowGroupSize"/> rows, the groups folded pairwise; the float results are read into
        /// <paramref name="sums"/>. <paramref name="columnSums"/> is <c>fused_column_sums</c> (a column per work-item,
        /// <paramref name="columnsPerItem"/> 1) or <c>fused_column_sums16</c> (16).
        /// </summary>
        public static void ColumnSums(ClQueue queue, ClKernel columnSums, int columnsPerItem, ClBuffer values, int rows, int cols, ClBuffer result, Span<float> sums)
        {
            if (cols == 0) return;
            columnSums.SetArg(0, values);
            columnSums.SetArg(1, rows);
            columnSums.SetArg(2, cols);
            columnSums.SetArg(3, checked((int)Reduction.RowGroupSize(rows)));
            columnSums.SetArg(4, result);
            long items = (cols + columnsPerItem - 1) / columnsPerItem;
            long local = Math.Min(Math.Min(16, columnSums.WorkGroupSize), items);
            queue.Launch(columnSums, RoundUp(items, local), local);
            queue.Read(result, sums.Slice(0, cols));
        }

        public static long RoundUp(long count, long multiple) => (count + multiple - 1) / multiple * multiple;
    }
}
