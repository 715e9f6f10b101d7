using ILGPU;
using Fused.Ir;

namespace Fused.Ilgpu
{
    /// <summary>
    /// The device half of a reduction: one thread per block of <see cref="Reduction.BlockSize"/> operands computes the
    /// block's float64 partial exactly as <see cref="Reduction.ReduceBlock"/> does — lane j of <see cref="Reduction.Lanes"/>
    /// accumulates elements j, j+16, ... in increasing order, the lanes fold by halving — and writes it at
    /// <c>block · stride + offset</c> (the executor's block-major layout of several reductions). The executor folds the
    /// partials across blocks. So the sum is the CPU's bit for bit, whatever the grid. A row-wise pass blocks each row on
    /// its own (rows of <c>rowLength</c> operands, <c>BlockCount(rowLength)</c> blocks each, row-major); a flat pass is one
    /// row. <see cref="ColumnSums"/> is ColSum's order: each column summed over groups of rows, the groups folded pairwise.
    /// </summary>
    public static class BlockReduce
    {
        /// <summary>The kernel: <paramref name="block"/> ranges over the blocks of every row of <paramref name="rowLength"/> operands.</summary>
        public static void Kernel(Index1D block, ArrayView<float> operands, ArrayView<double> partials, int rowLength, int stride, int offset, int max)
        {
            bool isMax = max != 0;
            int blocksPerRow = (rowLength + Reduction.BlockSize - 1) / Reduction.BlockSize;
            int row = block / blocksPerRow;
            int inRow = (block - row * blocksPerRow) * Reduction.BlockSize;
            int start = row * rowLength + inRow;
            int count = rowLength - inRow < Reduction.BlockSize ? rowLength - inRow : Reduction.BlockSize;
            double a0 = Lane(operands, start, count, 0, isMax), a1 = Lane(operands, start, count, 1, isMax);
            double a2 = Lane(operands, start, count, 2, isMax), a3 = Lane(operands, start, count, 3, isMax);
            double a4 = Lane(operands, start, count, 4, isMax), a5 = Lane(operands, start, count, 5, isMax);
            double a6 = Lane(operands, start, count, 6, isMax), a7 = Lane(operands, start, count, 7, isMax);
            double a8 = Lane(operands, start, count, 8, isMax), a9 = Lane(operands, start, count, 9, isMax);
            double a10 = Lane(operands, start, count, 10, isMax), a11 = Lane(operands, start, count, 11, isMax);
            double a12 = Lane(operands, start, count, 12, isMax), a13 = Lane(operands, start, count, 13, isMax);
            double a14 = Lane(operands, start, count, 14, isMax), a15 = Lane(operands, start, count, 15, isMax);
            // Reduction.FoldLanes, unrolled: lanes[j] = Combine(lanes[j], lanes[j + width]) for width 8, 4, 2, 1.
            a0 = Reduction.Combine(a0, a8, isMax); a1 = Reduction.Combine(a1, a9, isMax);
            a2 = Reduction.Combine(a2, a10, isMax); a3 = Reduction.Combine(a3, a11, isMax);
            a4 = Reduction.Combine(a4, a12, isMax); a5 = Reduction.Combine(a5, a13, isMax);
            a6 = Reduction.Combine(a6, a14, isMax); a7 = Reduction.Combine(a7, a15, isMax);
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

        /// <summary>Lane <paramref name="lane"/> of a block: its elements lane, lane + 16, ... combined in order from the identity.</summary>
        private static double Lane(ArrayView<float> operands, int start, int count, int lane, bool max)
        {
            double sum = max ? double.NegativeInfinity : 0.0;
            for (int i = lane; i < count; i += Reduction.Lanes) sum = Reduction.Combine(sum, operands[start + i], max);
            return sum;
        }
    }
}
