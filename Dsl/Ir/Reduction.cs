using System;

namespace Fused.Ir
{
    /// <summary>
    /// The one summation order every backend uses for whole-tensor reductions, so that a sum is the
    /// same bit for bit whatever the thread count or SIMD width: the tensor is cut into blocks of
    /// <see cref="BlockSize"/> elements; inside a block, lane j of <see cref="Lanes"/> accumulates
    /// elements j, j+16, j+32, ... in float64 in increasing order; the 16 lanes fold by halving
    /// (j += j+8, then +4, +2, +1); block results fold pairwise by halving over block index.
    /// Threads own whole blocks, so the split never changes the order. Kernels write a block's
    /// operands to a small scratch array and reduce it with <c>SumBlock</c> (or the runtime's
    /// vectorised twin, which performs the same additions), so the SIMD width never enters the order.
    /// <para>Row-wise passes (rules with per-row or per-column values) block each row on its own: row r
    /// has <c>BlockCount(cols)</c> blocks starting at its first column, and a whole-tensor reduction folds
    /// all (row, block) partials row-major. RowSum of row r folds that row's partials. ColSum accumulates
    /// each column in float64 over consecutive groups of <see cref="RowGroupSize"/> rows (in row order
    /// inside a group), then folds the groups' sums pairwise like blocks. Reductions of per-row or
    /// per-column values reduce the vector in this same block order; a sum counts each row value once per
    /// column (and each column value once per row), as though broadcast to every element.</para>
    /// </summary>
    public static class Reduction
    {
        /// <summary>Elements per reduction block: one float64 partial per block, folded in a fixed order.</summary>
        public const int BlockSize = 1024;
        /// <summary>Lanes of the in-block accumulation (the widest vector's float count), so every path sums in the same order.</summary>
        public const int Lanes = 16;

        /// <summary>Number of blocks of <paramref name="length"/> elements (the last may be partial).</summary>
        public static long BlockCount(long length) => (length + BlockSize - 1) / BlockSize;

        /// <summary>ColSum accumulates over at most this many groups of consecutive rows.</summary>
        public const int MaxRowGroups = 64;

        /// <summary>Rows per ColSum group: a function of the row count alone, never of the thread count.</summary>
        public static long RowGroupSize(long rows) => Math.Max(1, (rows + MaxRowGroups - 1) / MaxRowGroups);

        /// <summary>The canonical reduction of a whole vector (blocks, then blocks folded).</summary>
        public static double ReduceVector(ReadOnlySpan<float> values, bool max)
        {
            int blocks = (int)BlockCount(values.Length);
            if (blocks == 0) return Identity(max);
            Span<double> partials = blocks <= 256 ? stackalloc double[blocks] : new double[blocks];
            for (int b = 0; b < blocks; b++)
            {
                int start = b * BlockSize;
                partials[b] = ReduceBlock(values.Slice(start, Math.Min(BlockSize, values.Length - start)), max);
            }
            return FoldBlocks(partials, max);
        }

        /// <summary>The canonical reduction of one block's operands (at most <see cref="BlockSize"/>).</summary>
        public static double ReduceBlock(ReadOnlySpan<float> values, bool max)
        {
            Span<double> lanes = stackalloc double[Lanes];
            lanes.Fill(Identity(max));
            for (int i = 0; i < values.Length; i++) lanes[i % Lanes] = Combine(lanes[i % Lanes], values[i], max);
            return FoldLanes(lanes, max);
        }

        /// <summary>Folds 16 lane accumulators by halving.</summary>
        public static double FoldLanes(Span<double> lanes, bool max)
        {
            for (int width = Lanes / 2; width >= 1; width /= 2)
                for (int j = 0; j < width; j++)
                    lanes[j] = Combine(lanes[j], lanes[j + width], max);
            return lanes[0];
        }

        /// <summary>Folds per-block results pairwise by halving (in place).</summary>
        public static double FoldBlocks(Span<double> blocks, bool max)
        {
            if (blocks.Length == 0) return max ? double.NegativeInfinity : 0.0;
            int count = blocks.Length;
            while (count > 1)
            {
                int half = count / 2;
                for (int i = 0; i < half; i++) blocks[i] = Combine(blocks[2 * i], blocks[2 * i + 1], max);
                if ((count & 1) != 0) blocks[half] = blocks[count - 1];
                count = half + (count & 1);
            }
            return blocks[0];
        }

        /// <summary>Combines two partials: the larger for a max reduction (NaN-ordering as a &gt; b ? a : b), else the sum.</summary>
        public static double Combine(double a, double b, bool max) => max ? (a > b ? a : b) : a + b;

        /// <summary>Identity of the reduction: 0 for sums, −∞ for maxima.</summary>
        public static double Identity(bool max) => max ? double.NegativeInfinity : 0.0;
    }
}
