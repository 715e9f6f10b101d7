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
    /// operands to a small scratch array and reduce it with <see cref="SumBlock"/> (or the runtime's
    /// vectorised twin, which performs the same additions), so the SIMD width never enters the order.
    /// </summary>
    public static class Reduction
    {
        public const int BlockSize = 1024;
        public const int Lanes = 16;

        public static long BlockCount(long length) => (length + BlockSize - 1) / BlockSize;

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

        public static double Combine(double a, double b, bool max) => max ? (a > b ? a : b) : a + b;

        /// <summary>Identity of the reduction: 0 for sums, −∞ for maxima.</summary>
        public static double Identity(bool max) => max ? double.NegativeInfinity : 0.0;
    }
}
