using ILGPU;
using Fused.Ir;

namespace Fused.Ilgpu
{
    /// <summary>
    /// The device half of a reduction: one thread per block of <see cref="Reduction.BlockSize"/> operands computes the
    /// block's float64 partial exactly as <see cref="Reduction.ReduceBlock"/> does — lane j of <see cref="Reduction.Lanes"/>
    /// accumulates elements j, j+16, ... in increasing order, the lanes fold by halving — and writes it at
    /// <c>block · stride + offset</c> (the executor's block-major layout of several reductions). The executor folds the
    /// partials across blocks. So the sum is the CPU's bit for bit, whatever the grid.
    /// </summary>
    public static class BlockReduce
    {
        /// <summary>The kernel: <paramref name="block"/> ranges over the blocks of <paramref name="n"/> operands.</summary>
        public static void Kernel(Index1D block, ArrayView<float> operands, ArrayView<double> partials, int n, int stride, int offset, int max)
        {
            bool isMax = max != 0;
            int start = block * Reduction.BlockSize;
            int count = n - start < Reduction.BlockSize ? n - start : Reduction.BlockSize;
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

        /// <summary>Lane <paramref name="lane"/> of a block: its elements lane, lane + 16, ... combined in order from the identity.</summary>
        private static double Lane(ArrayView<float> operands, int start, int count, int lane, bool max)
        {
            double sum = max ? double.NegativeInfinity : 0.0;
            for (int i = lane; i < count; i += Reduction.Lanes) sum = Reduction.Combine(sum, operands[start + i], max);
            return sum;
        }
    }
}
