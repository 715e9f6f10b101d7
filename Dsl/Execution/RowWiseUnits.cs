using System;
using System.Linq;
using System.Numerics;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// How host backends run a row-wise pass (a pass reading per-row or per-column values, or accumulating
    /// RowSum/ColSum) over one tensor viewed as Rows×Cols: the work is cut into units of (a group of
    /// <see cref="Reduction.RowGroupSize"/> rows, a range of <see cref="ChunkColumns"/> columns); a unit calls the
    /// kernel row after row in order, with the row's per-row values in its own copy of the uniforms, the column values
    /// and its own ColSum operand scratch sliced to its columns, and adds each row's ColSum operands into the group's
    /// float64 accumulators. Units never share a partial or an accumulator, so any number of threads may run them;
    /// <see cref="FoldColumnSums"/> then folds the groups pairwise. Nothing depends on the thread count.
    /// </summary>
    public sealed unsafe class RowWiseUnits
    {
        /// <summary>Columns per unit of work: whole reduction blocks.</summary>
        public const int ChunkColumns = 4 * Reduction.BlockSize;

        private readonly KernelSchedule _schedule;
        private readonly byte[] _kinds;                 // per kernel ordinal: 0 tensor, 1 column values, 2 ColSum operand

        /// <summary>The row-wise units of <paramref name="schedule"/>'s passes.</summary>
        public RowWiseUnits(KernelSchedule schedule)
        {
            _schedule = schedule;
            _kinds = schedule.KernelBuffers.Select(b => schedule.Buffers[b].Kind switch
            {
                BufferKind.Column => (byte)1,
                BufferKind.ColumnSumOperand => (byte)2,
                _ => (byte)0,
            }).ToArray();
        }

        /// <summary>Number of row groups a tensor of <paramref name="shape"/> is cut into.</summary>
        public static int GroupCount(ShapeInfo shape)
        {
            long size = Reduction.RowGroupSize(shape.Rows);
            return checked((int)((shape.Rows + size - 1) / size));
        }

        /// <summary>Number of column chunks a tensor of <paramref name="shape"/> is cut into (at least one).</summary>
        public static int ChunkCount(ShapeInfo shape) => checked((int)Math.Max(1, (shape.Cols + ChunkColumns - 1) / ChunkColumns));

        /// <summary>Number of (row group, column chunk) units of a tensor of <paramref name="shape"/>.</summary>
        public static int UnitCount(ShapeInfo shape) => GroupCount(shape) * ChunkCount(shape);

        /// <summary>Float64 accumulators one ColSum needs for a tensor: groups × cols.</summary>
        public static long AccumulatorLength(ShapeInfo shape) => (long)GroupCount(shape) * shape.Cols;

        /// <summary>Whether kernel buffer <paramref name="ordinal"/> is a ColSum operand scratch (groups × cols floats per tensor).</summary>
        public bool IsOperand(int ordinal) => _kinds[ordinal] == 2;

        /// <summary>Whether kernel buffer <paramref name="ordinal"/> holds column values (from <see cref="VectorValues"/>).</summary>
        public bool IsColumn(int ordinal) => _kinds[ordinal] == 1;

        /// <summary>
        /// Runs unit <paramref name="unit"/> of pass <paramref name="pass"/> over one tensor. <paramref name="bases"/> holds,
        /// per kernel buffer, the tensor's buffer (tensor-shaped buffers), ignored for column values (taken from
        /// <paramref name="vectors"/>), or the ColSum operand scratch (groups × cols floats). <paramref name="uniforms"/> is the
        /// unit's own copy of the tensor's uniforms; <paramref name="partials"/> the tensor's (row, block) partials;
        /// <paramref name="accumulators"/> per ColSum of the pass (in its order), groups × cols doubles, cleared beforehand.
        /// </summary>
        public void Run(IPassKernels kernels, PassProgram pass, ShapeInfo shape, int unit, IntPtr* bases, IntPtr* columnBases,
            Span<float> uniforms, VectorValues vectors, double* partials, double** accumulators)
        {
            int chunks = ChunkCount(shape);
            int group = unit / chunks;
            long cols = shape.Cols, rows = shape.Rows;
            long c0 = (long)(unit % chunks) * ChunkColumns, c1 = Math.Min(cols, c0 + ChunkColumns);
            int count = (int)(c1 - c0);
            long groupSize = Reduction.RowGroupSize(rows);
            long rowEnd = Math.Min(rows, (group + 1) * groupSize);
            int R = pass.Reductions.Count;
            long blocksPerRow = Reduction.BlockCount(cols);
            int buffers = _kinds.Length;
            IntPtr* table = stackalloc IntPtr[buffers];
            for (long row = (long)group * groupSize; row < rowEnd; row++)
            {
                vectors.WriteRowSlots(row, uniforms);
                for (int i = 0; i < buffers; i++)
                {
                    long offset = _kinds[i] switch { 0 => row * cols + c0, 1 => c0, _ => group * cols + c0 };
                    table[i] = (IntPtr)((float*)(_kinds[i] == 1 ? columnBases[i] : bases[i]) + offset);
                }
                var kernelBuffers = new KernelBuffers(table, buffers, 0, count);
                var rowPartials = R == 0 ? default : new Span<double>(partials + (row * blocksPerRow + c0 / Reduction.BlockSize) * R, (int)Reduction.BlockCount(count) * R);
                kernels.RunPass(pass.Index, uniforms, kernelBuffers, rowPartials);
                for (int k = 0; k < pass.ColumnSums.Count; k++)
                {
                    int ordinal = _schedule.KernelOrdinal(pass.ColumnSums[k].Buffer);
                    AddWidened((float*)table[ordinal], accumulators[k] + group * cols + c0, count);
                }
            }
        }

        /// <summary>target[j] += source[j] in float64 for each j: vectorised across j, the same additions as the scalar loop.</summary>
        private static void AddWidened(float* source, double* target, int count)
        {
            int j = 0;
            int width = Vector<float>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                int half = Vector<double>.Count;
                for (; j + width <= count; j += width)
                {
                    var values = System.Runtime.CompilerServices.Unsafe.Read<Vector<float>>(source + j);
                    Vector.Widen(values, out Vector<double> lower, out Vector<double> upper);
                    var t0 = System.Runtime.CompilerServices.Unsafe.Read<Vector<double>>(target + j) + lower;
                    var t1 = System.Runtime.CompilerServices.Unsafe.Read<Vector<double>>(target + j + half) + upper;
                    System.Runtime.CompilerServices.Unsafe.Write(target + j, t0);
                    System.Runtime.CompilerServices.Unsafe.Write(target + j + half, t1);
                }
            }
            for (; j < count; j++) target[j] += source[j];
        }

        /// <summary>
        /// Column j's ColSum: the groups' float64 sums folded pairwise (<see cref="Reduction.FoldBlocks"/>), rounded to float,
        /// for every column, into <paramref name="sums"/>.
        /// </summary>
        public static void FoldColumnSums(ShapeInfo shape, ReadOnlySpan<double> accumulators, Span<float> sums, Span<double> scratch)
        {
            int groups = GroupCount(shape);
            long cols = shape.Cols;
            for (long j = 0; j < cols; j++)
            {
                for (int g = 0; g < groups; g++) scratch[g] = accumulators[(int)(g * cols + j)];
                sums[(int)j] = (float)Reduction.FoldBlocks(scratch.Slice(0, groups), max: false);
            }
        }
    }
}
