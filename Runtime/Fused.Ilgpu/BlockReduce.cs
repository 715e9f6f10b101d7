using ILGPU;
using Fused.Ir;

namespace Fused.Ilgpu
{
    /// <summary>
    /// The device half of a reduction, in two kernels that together compute each block's float64 partial exactly as
    /// <see cref="Reduction.ReduceBlock"/> does. <see cref="Lanes"/>: one thread per (block, lane) — lane j of
    /// <see cref="Reduction.Lanes"/> accumulates the block's elements j, j+16, ... in increasing order (neighbouring threads
    /// read neighbouring floats: coalesced on GPUs). <see cref="FoldLanes"/>: one thread per block folds its 16 lanes by
    /// halving and writes the partial at <c>block · stride + offset</c> (the executor's block-major layout of several
    /// reductions). The executor folds the partials across blocks. So the sum is the CPU's bit for bit, whatever the grid.
    /// A row-wise pass blocks each row on its own (rows of <c>rowLength</c> operands, <c>BlockCount(rowLength)</c> blocks
    /// each, row-major); a flat pass is one row. <see cref="ColumnSums"/> is ColSum's order: each column summed over groups
    /// of rows, the groups folded pairwise.
    /// </summary>
    public static class BlockReduce
    {
        /// <summary>Thread <paramref name="item"/> = block · 16 + lane: that lane's accumulator of that block, into <paramref name="lanes"/>[item].</summary>
        public static void Lanes(Index1D item, ArrayView<float> operands, ArrayView<double> lanes, int rowLength, int max)
        {
            bool isMax = max != 0;
            int block = item / Reduction.Lanes;
            int lane = item - block * Reduction.Lanes;
            int blocksPerRow = (rowLength + Reduction.BlockSize - 1) / Reduction.BlockSize;
            int row = block / blocksPerRow;
            int inRow = (block - row * blocksPerRow) * Reduction.BlockSize;
            int start = row * rowLength + inRow;
            int count = rowLength - inRow < Reduction.BlockSize ? rowLength - inRow : Reduction.BlockSize;
            double sum = isMax ? double.NegativeInfinity : 0.0;
            for (int i = lane; i < count; i += Reduction.Lanes) sum = Reduction.Combine(sum, operands[start + i], isMax);
            lanes[item] = sum;
        }

        /// <summary>Thread <paramref name="block"/>: <see cref="Reduction.FoldLanes"/> of the block's 16 lanes, unrolled, into its partial.</summary>
        public static void FoldLanes(Index1D block, ArrayView<double> lanes, ArrayView<double> partials, int stride, int offset, int max)
        {
            bool isMax = max != 0;
            int at = block * Reduction.Lanes;
            // lanes[j] = Combine(lanes[j], lanes[j + width]) for width 8, 4, 2, 1.
            double a0 = Reduction.Combine(lanes[at + 0], lanes[at + 8], isMax), a1 = Reduction.Combine(lanes[at + 1], lanes[at + 9], isMax);
            double a2 = Reduction.Combine(lanes[at + 2], lanes[at + 10], isMax), a3 = Reduction.Combine(lanes[at + 3], lanes[at + 11], isMax);
            double a4 = Reduction.Combine(lanes[at + 4], lanes[at + 12], isMax), a5 = Reduction.Combine(lanes[at + 5], lanes[at + 13], isMax);
            double a6 = Reduction.Combine(lanes[at + 6], lanes[at + 14], isMax), a7 = Reduction.Combine(lanes[at + 7], lanes[at + 15], isMax);
            a0 = Reduction.Combine(a0, a4, isMax); a1 = Reduction.Combine(a1, a5, isMax);
            a2 = Reduction.Combine(a2, a6, isMax); a3 = Reduction.Combine(a3, a7, isMax);
            a0 = Reduction.Combine(a0, a2, isMax); a1 = Reduction.Combine(a1, a3, isMax);
            partials[block * stride + offset] = Reduction.Combine(a0, a1, isMax);
        }

        /// <summary>
        /// ColSum: thread <paramref name="col"/> sums column col of a rows×cols operand in float64 over consecutive groups of
        /// <paramref name="groupSize"/> rows (row order inside a group) into <paramref name="groups"/> (its
        /// <see cref="Reduction.MaxRowGroups"/> slots), folds them there pairwise as <see cref="Reduction.FoldBlocks"/> does,
        /// and writes the float32 result.
        /// </summary>
        public static void ColumnSums(Index1D col, ArrayView<float> operands, int rows, int cols, int groupSize, ArrayView<double> groups, ArrayView<float> sums)
        {
            int at = col * Reduction.MaxRowGroups;
            int count = 0;
            for (int first = 0; first < rows; first += groupSize)
            {
                int last = rows - first < groupSize ? rows : first + groupSize;
                double sum = 0.0;
                for (int r = first; r < last; r++) sum += operands[r * cols + col];
                groups[at + count] = sum;
                count++;
            }
            if (count == 0)
            {
                sums[col] = 0f;
                return;
            }
            while (count > 1)
            {
                int half = count / 2;
                for (int i = 0; i < half; i++) groups[at + i] = groups[at + 2 * i] + groups[at + 2 * i + 1];
                if ((count & 1) != 0) groups[at + half] = groups[at + count - 1];
                count = half + (count & 1);
            }
            sums[col] = (float)groups[at];
        }
    }
}
