using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// The simplest backend: tensors in managed arrays, every pass on the calling thread, through any
    /// <see cref="IPassKernels"/> (the interpreter, or a rule's generated kernels). It is the interpreter's backend
    /// (<see cref="Interpreter"/>) and the search's, whose proxy tasks step many tiny tensors where threads would cost
    /// more than they save. Temporaries and ColSum scratch are its own; one tensor per wave.
    /// </summary>
    public sealed unsafe class ArrayBackend : IScheduleBackend
    {
        private readonly KernelSchedule _schedule;
        private readonly IPassKernels _kernels;
        private readonly IMatrixKernels? _matrix;
        private readonly RowWiseUnits _rowWise;
        private readonly int[] _kernelBuffers;
        private float[][][] _tensors = Array.Empty<float[][]>();  // [t][schedule buffer]: program buffers the caller's, the rest ours
        private ShapeInfo[] _shapes = Array.Empty<ShapeInfo>();
        private double[][] _accumulators;                          // per ColSum operand buffer k (largest tensor): groups × cols
        private readonly double[] _foldScratch = new double[Reduction.MaxRowGroups];
        private float[] _rowUniforms = Array.Empty<float>();

        /// <summary>A backend over managed arrays for <paramref name="schedule"/>, running element passes with <paramref name="kernels"/> and matrix passes with <paramref name="matrix"/> (required when the schedule has any).</summary>
        public ArrayBackend(KernelSchedule schedule, IPassKernels kernels, IMatrixKernels? matrix = null)
        {
            _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
            _kernels = kernels ?? throw new ArgumentNullException(nameof(kernels));
            _matrix = matrix;
            if (schedule.Matrices.Count > 0 && matrix is null)
                throw new ArgumentException($"{schedule.Name} has matrix passes ({string.Join(", ", schedule.Matrices.Select(m => m.Op))}); pass an IMatrixKernels");
            _rowWise = new RowWiseUnits(schedule);
            _kernelBuffers = schedule.KernelBuffers.ToArray();
            _accumulators = new double[schedule.Passes.Max(p => (int?)p.ColumnSums.Count) ?? 0][];
            for (int k = 0; k < _accumulators.Length; k++) _accumulators[k] = Array.Empty<double>();
        }

        /// <inheritdoc/>
        public long WaveElements => 0;

        /// <summary>
        /// The tensors to step: per tensor, its buffers indexed like the schedule's (parameter, gradient, states; element
        /// buffers Numel long, the others may be null — scalar and row/column states live in the executor).
        /// Temporaries and ColSum scratch are (re)allocated here for the shapes.
        /// </summary>
        public void SetTensors(IReadOnlyList<ShapeInfo> shapes, IReadOnlyList<float[][]> buffers)
        {
            if (shapes.Count != buffers.Count) throw new ArgumentException("one shape per tensor");
            int B = _schedule.Buffers.Count, programBuffers = _schedule.ProgramBufferCount;
            bool sameShapes = shapes.Count == _shapes.Length && shapes.Select((s, t) => s.Numel == _shapes[t].Numel && s.Cols == _shapes[t].Cols).All(x => x);
            var tensors = new float[shapes.Count][][];
            for (int t = 0; t < shapes.Count; t++)
            {
                var shape = shapes[t];
                var own = buffers[t] ?? throw new ArgumentNullException(nameof(buffers));
                if (own.Length != programBuffers)
                    throw new ArgumentException($"{_schedule.Name} takes {programBuffers} buffers ({string.Join(", ", _schedule.Buffers.Take(programBuffers).Select(b => b.Name))}), got {own.Length}", nameof(buffers));
                var all = new float[B][];
                for (int b = 0; b < B; b++)
                {
                    var decl = _schedule.Buffers[b];
                    if (b < programBuffers)
                    {
                        if (decl.Shape != StateShape.Element) continue;
                        if (own[b] == null || own[b].Length != shape.Numel)
                            throw new ArgumentException($"{_schedule.Name}: buffer '{decl.Name}' has {own[b]?.Length ?? 0} elements, expected {shape.Numel}", nameof(buffers));
                        all[b] = own[b];
                    }
                    else if (decl.Kind == BufferKind.Temp)
                        all[b] = sameShapes && _tensors[t][b] != null ? _tensors[t][b] : new float[shape.Numel];
                    else if (decl.Kind == BufferKind.ColumnSumOperand)
                        all[b] = sameShapes && _tensors[t][b] != null ? _tensors[t][b] : new float[RowWiseUnits.GroupCount(shape) * shape.Cols];
                }
                tensors[t] = all;
                for (int k = 0; k < _accumulators.Length; k++)
                    if (_accumulators[k].Length < RowWiseUnits.AccumulatorLength(shape)) _accumulators[k] = new double[RowWiseUnits.AccumulatorLength(shape)];
            }
            _tensors = tensors;
            _shapes = shapes.ToArray();
        }

        /// <inheritdoc/>
        public void BeginWave(int first, int end) { }

        /// <inheritdoc/>
        public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step)
        {
            var source = _tensors[tensor][matrix.Source];
            int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols);
            if (matrix.Op == MatrixOp.Orthogonalize) _matrix!.Orthogonalize(source, rows, cols);
            else _matrix!.Precondition(source, rows, cols, step, _tensors[tensor][RuleProgram.ParamBuffer]);
        }

        /// <inheritdoc/>
        public void RunPass(PassProgram pass, int first, int end, PassArguments args)
        {
            int count = _kernelBuffers.Length, sums = pass.ColumnSums.Count;
            // Pinned per tensor and call: the caller may hand other arrays at every step. Nothing here allocates.
            GCHandle* handles = stackalloc GCHandle[count];
            GCHandle* sumHandles = stackalloc GCHandle[Math.Max(1, sums)];
            IntPtr* bases = stackalloc IntPtr[count];
            IntPtr* columns = stackalloc IntPtr[count];
            double** accumulators = stackalloc double*[Math.Max(1, sums)];
            for (int t = first; t < end; t++)
            {
                var shape = _shapes[t];
                var vectors = args.Vectors[t];
                for (int i = 0; i < count; i++) handles[i] = default;
                for (int k = 0; k < sums; k++) sumHandles[k] = default;
                try
                {
                    for (int i = 0; i < count; i++)
                    {
                        var decl = _schedule.Buffers[_kernelBuffers[i]];
                        bool column = decl.Kind == BufferKind.Column;
                        handles[i] = GCHandle.Alloc(column ? vectors!.Array(decl.Vector) : _tensors[t][_kernelBuffers[i]], GCHandleType.Pinned);
                        (column ? columns : bases)[i] = handles[i].AddrOfPinnedObject();
                    }
                    var uniforms = args.UniformsOf(t);
                    int R = pass.Reductions.Count;
                    fixed (double* partialBase = args.Partials)
                    {
                        double* partials = partialBase + args.PartialOffset[t];
                        if (!pass.RowWise)
                        {
                            int n = checked((int)shape.Numel);
                            var span = R == 0 ? default : new Span<double>(partials, (int)Reduction.BlockCount(n) * R);
                            _kernels.RunPass(pass.Index, uniforms, new KernelBuffers(bases, count, 0, n), span);
                            continue;
                        }
                        int length = checked((int)RowWiseUnits.AccumulatorLength(shape));
                        for (int k = 0; k < sums; k++)
                        {
                            Array.Clear(_accumulators[k], 0, length);
                            sumHandles[k] = GCHandle.Alloc(_accumulators[k], GCHandleType.Pinned);
                            accumulators[k] = (double*)sumHandles[k].AddrOfPinnedObject();
                        }
                        // Per-row slots are written into a copy of the tensor's uniforms.
                        if (_rowUniforms.Length < uniforms.Length) _rowUniforms = new float[uniforms.Length];
                        var copy = _rowUniforms.AsSpan(0, uniforms.Length);
                        uniforms.CopyTo(copy);
                        int units = shape.Numel == 0 ? 0 : RowWiseUnits.UnitCount(shape);
                        for (int u = 0; u < units; u++)
                            _rowWise.Run(_kernels, pass, shape, u, bases, columns, copy, vectors!, partials, accumulators);
                        for (int k = 0; k < sums; k++)
                        {
                            var target = vectors!.Values(pass.ColumnSums[k].Vector);
                            if (units == 0) target.Clear();
                            else RowWiseUnits.FoldColumnSums(shape, _accumulators[k], target, _foldScratch);
                        }
                    }
                }
                finally
                {
                    for (int i = 0; i < count; i++) if (handles[i].IsAllocated) handles[i].Free();
                    for (int k = 0; k < sums; k++) if (sumHandles[k].IsAllocated) sumHandles[k].Free();
                }
            }
        }

        /// <inheritdoc/>
        public void EndStep() { }
    }
}
