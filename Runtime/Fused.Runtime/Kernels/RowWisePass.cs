using System;
using System.Buffers;
using System.Linq;
using System.Runtime.Intrinsics;
using Fused.Ir;
using Fused.Runtime.Execution;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// Runs a row-wise element pass (<see cref="ElementPass.RowWise"/>) of one tensor viewed as Rows×Cols:
    /// the work is cut into units of (a group of <see cref="Reduction.RowGroupSize"/> rows, a range of
    /// <see cref="ChunkColumns"/> columns); a unit calls the kernel row after row in order, with the row's
    /// per-row values in its own copy of the uniforms, the column values and its own ColSum operand
    /// scratch sliced to its columns. Then the reductions fold in the order <see cref="Reduction"/> fixes:
    /// whole-tensor sums over (row, block) partials, RowSum per row, ColSum per column over the row
    /// groups. Nothing depends on the thread count. Buffers grow with the largest tensor seen; steady-state
    /// calls allocate nothing.
    /// </summary>
    public sealed unsafe class RowWisePass
    {
        /// <summary>Columns per unit of work: whole reduction blocks.</summary>
        public const int ChunkColumns = 4 * Reduction.BlockSize;

        private readonly FusedRule _rule;
        private readonly KernelPlan _plan;
        private readonly int[] _elementBuffers;
        private float[] _uniformCopies = Array.Empty<float>();   // unit · U
        private float[][] _operands;                              // per ColSum operand buffer: groups · cols
        private double[][] _columnSums;                           // per ColSum operand buffer: groups · cols
        private double[] _partials = Array.Empty<double>();       // (row · blocksPerRow + block) · R + r
        private double[] _fold = Array.Empty<double>();
        private readonly MemoryHandle[] _vectorHandles;
        private readonly bool[][] _writesOperand;                 // [pass][ColSum operand k]: the pass stores it

        public RowWisePass(FusedRule rule)
        {
            _rule = rule;
            _plan = rule.Plan;
            _elementBuffers = _plan.ElementBuffers.ToArray();
            int operands = _plan.Extras.Count(e => e.Kind == ExtraKind.ColumnSumOperand);
            _operands = new float[operands][];
            _columnSums = new double[operands][];
            for (int k = 0; k < operands; k++) { _operands[k] = Array.Empty<float>(); _columnSums[k] = Array.Empty<double>(); }
            _vectorHandles = new MemoryHandle[_elementBuffers.Length];
            // Every pass takes the same buffers, but only the pass that computes a ColSum operand may add it up:
            // the others would add the stale scratch and overwrite the column sums with it.
            var operandBuffers = Enumerable.Range(0, _plan.Extras.Count)
                .Where(e => _plan.Extras[e].Kind == ExtraKind.ColumnSumOperand).Select(e => _plan.Program.Buffers.Count + e).ToArray();
            _writesOperand = _plan.Passes.Select(p => operandBuffers.Select(b => p.Stores.Any(o => o.Buffer == b)).ToArray()).ToArray();
        }

        /// <summary>
        /// One row-wise pass over one tensor. <paramref name="pointers"/> holds, in
        /// <see cref="KernelPlan.ElementBuffers"/> order, the start of each tensor-sized buffer (parameter,
        /// gradient, element states, temporaries); entries of column buffers are ignored (they come from
        /// <paramref name="vectors"/>). Results land in <paramref name="uniforms"/> (whole-tensor reductions)
        /// and <paramref name="vectors"/> (RowSum, ColSum).
        /// </summary>
        public void Run(int pass, ShapeInfo shape, ReadOnlySpan<float> uniformsF, Span<double> uniforms,
            ReadOnlySpan<nint> pointers, VectorValues vectors, WorkerPool? pool)
        {
            var plan = _plan.Passes[pass];
            if (!plan.RowWise) throw new ArgumentException($"pass {pass} of {_rule.Name} is not row-wise", nameof(pass));
            long rows = shape.Rows, cols = shape.Cols;
            if (rows * cols != shape.Numel) throw new ArgumentException($"shape {rows}×{cols} does not hold {shape.Numel} elements", nameof(shape));
            int R = plan.Reductions.Count;
            long blocksPerRow = Reduction.BlockCount(cols);
            long groupSize = Reduction.RowGroupSize(rows);
            int groups = (int)((rows + groupSize - 1) / groupSize);
            int chunks = (int)Math.Max(1, (cols + ChunkColumns - 1) / ChunkColumns);
            int units = groups * chunks;
            int U = uniformsF.Length;

            // Grow (once per larger tensor) and clear what accumulates.
            if (_uniformCopies.Length < units * U) _uniformCopies = GC.AllocateUninitializedArray<float>(units * U, pinned: true);
            long partialCount = rows * blocksPerRow * R;
            if (_partials.Length < partialCount) _partials = GC.AllocateUninitializedArray<double>(checked((int)partialCount), pinned: true);
            if (_fold.Length < Math.Max(rows * blocksPerRow, groups)) _fold = new double[checked((int)Math.Max(rows * blocksPerRow, groups))];
            for (int k = 0; k < _operands.Length; k++)
            {
                if (_operands[k].Length < groups * cols)
                {
                    _operands[k] = GC.AllocateUninitializedArray<float>(checked((int)(groups * cols)), pinned: true);
                    _columnSums[k] = GC.AllocateUninitializedArray<double>(checked((int)(groups * cols)), pinned: true);
                }
                if (_writesOperand[pass][k]) Array.Clear(_columnSums[k], 0, (int)(groups * cols));
            }
            for (int u = 0; u < units; u++) uniformsF.CopyTo(_uniformCopies.AsSpan(u * U, U));

            // Column values are pinned for the dispatch; everything else is pinned already.
            var bases = stackalloc nint[_elementBuffers.Length];
            var kinds = stackalloc byte[_elementBuffers.Length]; // 0 tensor, 1 column, 2 ColSum operand
            var operandOf = stackalloc int[_elementBuffers.Length];
            int programBuffers = _plan.Program.Buffers.Count;
            try
            {
                int operand = 0;
                for (int i = 0; i < _elementBuffers.Length; i++)
                {
                    var extra = _plan.ExtraOf(_elementBuffers[i]);
                    if (extra?.Kind == ExtraKind.Column)
                    {
                        _vectorHandles[i] = vectors.Memory(vectors.IndexOf(extra.Node)).Pin();
                        bases[i] = (nint)_vectorHandles[i].Pointer;
                        kinds[i] = 1;
                    }
                    else if (extra?.Kind == ExtraKind.ColumnSumOperand)
                    {
                        fixed (float* o = _operands[operand]) bases[i] = (nint)o; // pinned array
                        operandOf[i] = operand++;
                        kinds[i] = 2;
                    }
                    else
                    {
                        bases[i] = pointers[i];
                        kinds[i] = 0;
                    }
                }
                fixed (float* copies = _uniformCopies)
                fixed (double* partials = _partials)
                {
                    var work = new Work(this, pass, vectors, bases, kinds, operandOf, copies, U, partials, R, rows, cols, groupSize, chunks);
                    if (pool == null || pool.DegreeOfParallelism == 1 || shape.Numel < Cpu.CpuRuleRunner.ParallelThreshold || units == 1)
                        work.Execute(0, (long)units * WorkerPool.ChunkAlignment);
                    else
                        pool.Run(ref work, (long)units * WorkerPool.ChunkAlignment, grain: WorkerPool.ChunkAlignment);
                }
            }
            finally
            {
                for (int i = 0; i < _elementBuffers.Length; i++) _vectorHandles[i].Dispose();
            }

            // Fold in the fixed orders.
            var slots = _plan.Uniforms;
            for (int r = 0; r < R; r++)
            {
                var node = plan.Reductions[r];
                if (node.Op == Op.RowSum)
                {
                    var sums = vectors.Values(vectors.IndexOf(node));
                    for (long row = 0; row < rows; row++)
                    {
                        for (long b = 0; b < blocksPerRow; b++) _fold[b] = _partials[(row * blocksPerRow + b) * R + r];
                        sums[(int)row] = (float)Reduction.FoldBlocks(_fold.AsSpan(0, (int)blocksPerRow), max: false);
                    }
                }
                else
                {
                    long count = rows * blocksPerRow;
                    for (long b = 0; b < count; b++) _fold[b] = _partials[b * R + r];
                    uniforms[_plan.SlotOf(node)!.Slot] = Reduction.FoldBlocks(_fold.AsSpan(0, (int)count), node.Op == Op.ReduceMax);
                }
            }
            int k2 = 0;
            foreach (var extra in _plan.Extras)
            {
                if (extra.Kind != ExtraKind.ColumnSumOperand) continue;
                if (!_writesOperand[pass][k2]) { k2++; continue; }
                var sums = vectors.Values(vectors.IndexOf(extra.Node));
                var acc = _columnSums[k2++];
                for (long j = 0; j < cols; j++)
                {
                    for (int g = 0; g < groups; g++) _fold[g] = acc[g * cols + j];
                    sums[(int)j] = (float)Reduction.FoldBlocks(_fold.AsSpan(0, groups), max: false);
                }
            }
        }

        /// <summary>target[j] += source[j] in float64 for each j: vectorised across j, the same additions as the scalar loop.</summary>
        private static void AddWidened(float* source, double* target, int count)
        {
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 8 <= count; j += 8)
                {
                    var (lower, upper) = Vector256.Widen(Vector256.Load(source + j));
                    Vector256.Store(Vector256.Load(target + j) + lower, target + j);
                    Vector256.Store(Vector256.Load(target + j + 4) + upper, target + j + 4);
                }
            }
            for (; j < count; j++) target[j] += source[j];
        }

        private readonly struct Work : IRangeWork
        {
            private readonly RowWisePass _owner;
            private readonly int _pass;
            private readonly VectorValues _vectors;
            private readonly nint* _bases;
            private readonly byte* _kinds;
            private readonly int* _operandOf;
            private readonly float* _copies;
            private readonly int _uniformCount;
            private readonly double* _partials;
            private readonly int _reductions;
            private readonly long _rows, _cols, _groupSize;
            private readonly int _chunks;

            public Work(RowWisePass owner, int pass, VectorValues vectors, nint* bases, byte* kinds, int* operandOf, float* copies, int uniformCount,
                double* partials, int reductions, long rows, long cols, long groupSize, int chunks)
            {
                _owner = owner; _pass = pass; _vectors = vectors; _bases = bases; _kinds = kinds; _operandOf = operandOf;
                _copies = copies; _uniformCount = uniformCount; _partials = partials; _reductions = reductions;
                _rows = rows; _cols = cols; _groupSize = groupSize; _chunks = chunks;
            }

            /// <summary>[start, end) counts units × <see cref="WorkerPool.ChunkAlignment"/>.</summary>
            public void Execute(long start, long end)
            {
                int first = (int)(start / WorkerPool.ChunkAlignment), last = (int)((end + WorkerPool.ChunkAlignment - 1) / WorkerPool.ChunkAlignment);
                int buffers = _owner._elementBuffers.Length;
                long blocksPerRow = Reduction.BlockCount(_cols);
                for (int unit = first; unit < last; unit++)
                {
                    int group = unit / _chunks;
                    long c0 = (long)(unit % _chunks) * ChunkColumns, c1 = Math.Min(_cols, c0 + ChunkColumns);
                    int count = (int)(c1 - c0);
                    var uniforms = new Span<float>(_copies + (long)unit * _uniformCount, _uniformCount);
                    long rowEnd = Math.Min(_rows, (group + 1) * _groupSize);
                    for (long row = group * _groupSize; row < rowEnd; row++)
                    {
                        _vectors.WriteRowSlots(row, uniforms);
                        var kernelBuffers = new KernelBuffers();
                        for (int i = 0; i < buffers; i++)
                        {
                            long offset = _kinds[i] switch { 0 => row * _cols + c0, 1 => c0, _ => group * _cols + c0 };
                            kernelBuffers.Add(new Span<float>((float*)_bases[i] + offset, count));
                        }
                        var partials = _reductions == 0 ? default
                            : new Span<double>(_partials + (row * blocksPerRow + c0 / Reduction.BlockSize) * _reductions, (int)Reduction.BlockCount(count) * _reductions);
                        _owner._rule.RunPass(_pass, uniforms, in kernelBuffers, partials);
                        for (int i = 0; i < buffers; i++)
                        {
                            if (_kinds[i] != 2 || !_owner._writesOperand[_pass][_operandOf[i]]) continue;
                            var operand = (float*)_bases[i] + group * _cols;
                            fixed (double* acc = _owner._columnSums[_operandOf[i]])
                                AddWidened(operand + c0, acc + group * _cols + c0, count);
                        }
                    }
                }
            }
        }
    }
}
