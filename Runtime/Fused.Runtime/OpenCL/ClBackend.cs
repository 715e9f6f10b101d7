using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Execution;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// The OpenCL backend of the <see cref="ScheduleExecutor"/>: a group of tensors' element buffers (parameter,
    /// gradient, element states) on the device, the rule's passes run by its <see cref="ClRuleProgram"/>, reductions
    /// in the canonical block orders on the device (<see cref="ClBlockReductions"/>) with the float64 partials read back
    /// for the executor to fold. One tensor per wave, so the backend's own buffers — temporaries, column values, ColSum
    /// operands, reduction operands, partials, per-row values, column sums, uniforms — are one set, sized for the
    /// largest tensor. Orthogonalize runs on the device (<see cref="ClNewtonSchulz"/>); Precondition (Shampoo) runs on
    /// the host (its eigendecompositions): the temporary goes down, through <see cref="MatrixPasses.Precondition(Span{float}, int, int, long, long)"/>,
    /// and back up, counted in <see cref="HostMatrixSeconds"/> and <see cref="HostMatrixBytes"/>.
    /// <para>
    /// Each pass has a scalar kernel (one element per work-item) and a vector kernel (<see cref="ClKernelChoice.VectorWidth"/>
    /// elements per work-item, the scalar kernel on the tail); <see cref="ClRuleProgram.Kernels"/> says which runs and why.
    /// A row-wise pass gets the column values it reads as device buffers of Cols floats and the per-row slots packed row by
    /// row (<see cref="KernelSchedule.PerRowSlots"/> order), both from the executor's <see cref="VectorValues"/>; its
    /// reductions are blocked row by row (<c>fused_row_block_reduce</c>) and its ColSums summed per column on the device
    /// over groups of <see cref="Reduction.RowGroupSize"/> rows (<c>fused_column_sums16</c> beside the vector kernels,
    /// <c>fused_column_sums</c> beside the scalar ones), the results written into the tensor's vectors.
    /// </para>
    /// <para>
    /// Uploads are blocking writes on an in-order queue, so a scratch buffer (the uniforms, say) is rewritten for the next
    /// tensor only after every launch queued before has run. Steady-state steps allocate nothing. Not thread-safe.
    /// </para>
    /// </summary>
    public sealed class ClBackend : Engine.IDeviceBackend
    {
        private readonly ClRuleProgram _program;
        private readonly KernelSchedule _schedule;
        private readonly ClQueue _queue;
        private readonly int[] _kernelBuffers;         // per ordinal: the schedule buffer
        private readonly int _reductionOperandCount;   // most reductions of any pass
        private readonly RowInputs _rowInputs;         // what a row-wise pass reads besides its element buffers
        private readonly ClNewtonSchulz? _newtonSchulz;
        private readonly MatrixPasses? _hostMatrix;

        private readonly DeviceTensors<ClBuffer> _tensors;  // per tensor: shape, element buffers, allocation key (Shampoo statistics)

        // Scratch shared by the tensors, sized for the largest one.
        private long _scratchElements = -1, _scratchCols = -1, _scratchRows = -1, _scratchBlocks = -1;
        private readonly ClBuffer?[] _scratch;        // per ordinal: temporaries (Numel), column values (Cols), ColSum operands (Numel)
        private readonly ClBuffer?[] _operands;       // per reduction of a pass (Numel)
        private ClBuffer? _partials, _rowValues, _columnSums;
        private readonly ClBuffer _uniforms;
        private double[] _hostPartials = Array.Empty<double>();
        private float[] _hostRowValues = Array.Empty<float>();
        private float[] _hostMatrixScratch = Array.Empty<float>();

        /// <param name="program">The rule's kernels on the queue the backend runs on.</param>
        /// <param name="newtonSchulz">Newton-Schulz settings for rules with Orthogonalize (Muon).</param>
        /// <param name="shampoo">Settings for rules with Precondition (Shampoo).</param>
        public ClBackend(ClRuleProgram program, NewtonSchulzOptions? newtonSchulz = null, ShampooOptions? shampoo = null)
        {
            _program = program ?? throw new ArgumentNullException(nameof(program));
            _schedule = program.Schedule;
            _queue = program.Queue;
            _kernelBuffers = _schedule.KernelBuffers.ToArray();
            _tensors = new DeviceTensors<ClBuffer>(_schedule, AllocateZeroed);
            _reductionOperandCount = _schedule.Passes.Max(p => (int?)p.Reductions.Count) ?? 0;
            _rowInputs = new RowInputs(_schedule);
            _scratch = new ClBuffer?[_kernelBuffers.Length];
            _operands = new ClBuffer?[_reductionOperandCount];
            _uniforms = _queue.Context.CreateBuffer<float>(Math.Max(1, _schedule.UniformCount), ClMemoryAccess.ReadOnly);
            if (_schedule.Matrices.Any(m => m.Op == MatrixOp.Orthogonalize)) _newtonSchulz = new ClNewtonSchulz(_queue, newtonSchulz);
            if (_schedule.Matrices.Any(m => m.Op == MatrixOp.Precondition)) _hostMatrix = new MatrixPasses(newtonSchulz, shampoo);
        }

        /// <summary>One tensor per wave: the backend's buffers hold one tensor's temporaries and reduction operands.</summary>
        public long WaveElements => 0;

        /// <summary>The compiled OpenCL program of the group's rule.</summary>
        public ClRuleProgram Program => _program;
        /// <summary>The rule's schedule.</summary>
        public KernelSchedule Schedule => _schedule;
        /// <summary>The shapes of the group's tensors, in order.</summary>
        public IReadOnlyList<ShapeInfo> Shapes => _tensors.Shapes;

        /// <summary>Time spent on the host in matrix passes (Shampoo), transfers included.</summary>
        public double HostMatrixSeconds { get; private set; }

        /// <summary>Bytes moved between device and host for matrix passes on the host (down and up).</summary>
        public long HostMatrixBytes { get; private set; }

        /// <summary>
        /// The tensors to step, in the executor's order (<see cref="ScheduleExecutor.SetShapes"/> takes the same shapes).
        /// Element buffers start at zero; a tensor whose shape is unchanged keeps its buffers and their contents.
        /// </summary>
        public void SetTensors(IReadOnlyList<ShapeInfo> shapes)
        {
            _tensors.Set(shapes);
            ReserveScratch();
        }

        private ClBuffer AllocateZeroed(long length)
        {
            var buffer = _queue.Context.CreateBuffer<float>(length);
            _queue.Fill(buffer, 0f, 0, length);
            return buffer;
        }

        /// <summary>Grows the shared buffers to the largest tensor (they never shrink).</summary>
        private void ReserveScratch()
        {
            var (elements, cols, rows, blocks) = DeviceScratch.Of(_schedule, _tensors.Shapes);
            var context = _queue.Context;
            if (elements > _scratchElements)
            {
                DeviceScratch.Regrow(_schedule, _scratch, columns: false, elements, n => context.CreateBuffer<float>(n));
                for (int k = 0; k < _operands.Length; k++)
                {
                    _operands[k]?.Dispose();
                    _operands[k] = context.CreateBuffer<float>(elements);
                }
                _scratchElements = elements;
            }
            bool rowWise = _schedule.Passes.Any(p => p.RowWise);
            if (rowWise && cols > _scratchCols)
            {
                DeviceScratch.Regrow(_schedule, _scratch, columns: true, cols, n => context.CreateBuffer<float>(n));
                _columnSums?.Dispose();
                _columnSums = context.CreateBuffer<float>(cols);
                _scratchCols = cols;
            }
            if (rowWise && rows > _scratchRows)
            {
                long packed = Math.Max(1, rows * _rowInputs.PerRowCount);
                _rowValues?.Dispose();
                _rowValues = context.CreateBuffer<float>(packed, ClMemoryAccess.ReadOnly);
                _hostRowValues = new float[packed];
                _scratchRows = rows;
            }
            if (blocks > _scratchBlocks)
            {
                _partials?.Dispose();
                _partials = context.CreateBuffer<double>(blocks);
                // One reduction's partials before they are interleaved with the others' (block-major).
                _hostPartials = new double[_reductionOperandCount > 1 ? blocks : 0];
                _scratchBlocks = blocks;
            }
        }

        /// <summary>Shampoo's statistics and inverse roots (on the host), when the schedule preconditions.</summary>
        public MatrixPasses? HostMatrix => _hostMatrix;

        /// <summary>The key of tensor <paramref name="tensor"/>'s Shampoo statistics in <see cref="HostMatrix"/>.</summary>
        public long MatrixKey(int tensor) => _tensors.Key(tensor);

        /// <summary>The device buffer holding buffer <paramref name="buffer"/> (in the schedule's numbering) of tensor <paramref name="tensor"/>.</summary>
        public ClBuffer Buffer(int tensor, int buffer)
        {
            int ordinal = _schedule.KernelOrdinal(buffer);
            if (ordinal < 0)
                throw new ArgumentException($"{_schedule.Name}: buffer '{_schedule.Buffers[buffer].Name}' has no value per element; it is held by the executor", nameof(buffer));
            return BufferOf(tensor, ordinal);
        }

        private ClBuffer BufferOf(int tensor, int ordinal) => (_tensors.IsTensorOwned(ordinal) ? _tensors.Buffer(tensor, ordinal) : _scratch[ordinal])!;

        /// <summary>
        /// Copies host data into tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> (the parameter,
        /// the gradient or an element state, by name): Numel floats. Scalar and row/column states are the executor's
        /// (<see cref="ScheduleExecutor.Scalars"/>, <see cref="ScheduleExecutor.VectorState"/>).
        /// </summary>
        public void Upload(int tensor, string buffer, ReadOnlySpan<float> data)
        {
            int b = _tensors.ElementBufferNamed(tensor, buffer, data.Length);
            if (data.Length > 0) _queue.Write(Buffer(tensor, b), data);
        }

        /// <summary>Host data into tensor <paramref name="tensor"/>'s element buffer of schedule buffer <paramref name="buffer"/> (a blocking write).</summary>
        public void Upload(int tensor, int buffer, ReadOnlySpan<float> data)
        {
            if (data.Length > 0) _queue.Write(Buffer(tensor, buffer), data);
        }

        /// <summary>Tensor <paramref name="tensor"/>'s element buffer of schedule buffer <paramref name="buffer"/> to the host (a blocking read).</summary>
        public void Download(int tensor, int buffer, Span<float> data)
        {
            if (data.Length > 0) _queue.Read(Buffer(tensor, buffer), data);
        }

        /// <summary>Copies tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> to the host (Numel floats).</summary>
        public void Download(int tensor, string buffer, Span<float> data)
        {
            int b = _tensors.ElementBufferNamed(tensor, buffer, data.Length);
            if (data.Length > 0) _queue.Read(Buffer(tensor, b), data);
        }

        /// <inheritdoc/>
        public void BeginWave(int first, int end) { }

        /// <inheritdoc/>
        public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step)
        {
            int ordinal = _schedule.KernelOrdinal(matrix.Source);
            var source = BufferOf(tensor, ordinal);
            int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols), n = checked(rows * cols);
            if (matrix.Op == MatrixOp.Orthogonalize)
            {
                _newtonSchulz!.Orthogonalize(source, rows, cols);
                return;
            }
            // Shampoo's inverse roots are eigendecompositions: on the host, the matrix down and back up.
            long start = Stopwatch.GetTimestamp();
            if (_hostMatrixScratch.Length < n) _hostMatrixScratch = new float[n]; // once per larger tensor
            var host = _hostMatrixScratch.AsSpan(0, n);
            _queue.Read(source, host);
            _hostMatrix!.Precondition(host, rows, cols, step, _tensors.Key(tensor));
            _queue.Write<float>(source, host);
            HostMatrixSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
            HostMatrixBytes += 2L * sizeof(float) * n;
        }

        /// <inheritdoc/>
        public void RunPass(PassProgram pass, int first, int end, PassArguments args)
        {
            for (int t = first; t < end; t++)
            {
                var shape = args.Shapes[t];
                var vectors = args.Vectors[t];
                int n = checked((int)shape.Numel);
                if (n == 0)
                {
                    // Nothing to launch: no partials; every column sums nothing.
                    foreach (var sum in pass.ColumnSums) vectors!.Values(sum.Vector).Clear();
                    continue;
                }
                // Blocking on an in-order queue: launches of the previous tensor that read the uniforms have run.
                _queue.Write<float>(_uniforms, args.UniformsOf(t));
                if (pass.RowWise)
                {
                    UploadRowInputs(pass, shape, vectors!);
                    LaunchRowWise(pass, t, n, checked((int)shape.Cols));
                }
                else Launch(pass, t, n);
                ReadPartials(pass, t, shape, args);
                foreach (var sum in pass.ColumnSums)
                    ClBlockReductions.ColumnSums(_queue, _program.ColumnSums!, _program.ColumnsPerItem, BufferOf(t, _schedule.KernelOrdinal(sum.Buffer)),
                        checked((int)shape.Rows), checked((int)shape.Cols), _columnSums!, vectors!.Values(sum.Vector));
            }
        }

        /// <inheritdoc/>
        public void EndStep() => _queue.Finish();

        /// <summary>The column values a row-wise pass reads (Cols floats each) and, when it reads any, the per-row slots packed row by row.</summary>
        private void UploadRowInputs(PassProgram pass, ShapeInfo shape, VectorValues vectors)
        {
            foreach (int ordinal in _rowInputs.ColumnsRead(pass.Index))
                _queue.Write<float>(_scratch[ordinal]!, vectors.Values(_schedule.Buffers[_kernelBuffers[ordinal]].Vector));
            if (!_rowInputs.ReadsPerRow(pass.Index)) return;
            int packed = checked((int)shape.Rows * _rowInputs.PerRowCount);
            _rowInputs.Pack(shape, vectors, _hostRowValues.AsSpan(0, packed));
            _queue.Write<float>(_rowValues!, _hostRowValues.AsSpan(0, packed));
        }

        /// <summary>
        /// Pass partials on the device, read into the executor's partials: one reduction at a time (its operand buffer
        /// reduced block by block, each row on its own for a row-wise pass), interleaved block-major with the others.
        /// </summary>
        private void ReadPartials(PassProgram pass, int t, ShapeInfo shape, PassArguments args)
        {
            int R = pass.Reductions.Count;
            if (R == 0) return;
            int n = checked((int)shape.Numel), blocks = checked((int)ScheduleExecutor.BlocksOf(pass, shape));
            var target = args.Partials.AsSpan(checked((int)args.PartialOffset[t]), blocks * R);
            for (int r = 0; r < R; r++)
            {
                var partials = R == 1 ? target : _hostPartials.AsSpan(0, blocks);
                bool max = pass.Reductions[r].IsMax;
                if (pass.RowWise) ClBlockReductions.RowPartials(_queue, _program.RowReduce!, _operands[r]!, n, checked((int)shape.Cols), max, _partials!, partials);
                else ClBlockReductions.BlockPartials(_queue, _program.BlockReduce, _operands[r]!, n, max, _partials!, partials);
                if (R == 1) continue;
                for (int b = 0; b < blocks; b++) target[b * R + r] = partials[b];
            }
        }

        /// <summary>
        /// Scalar kernels: one launch over n rounded up to the local size. Vector kernels: one launch over the n / width
        /// whole vectors, then the scalar kernel over the last n % width elements (global ids from n - n % width).
        /// </summary>
        private void Launch(PassProgram pass, int t, int n)
        {
            var scalar = _program.ScalarKernel(pass.Index);
            var vector = _program.VectorKernel(pass.Index);
            long local = _program.LocalSize;
            if (vector == null)
            {
                SetArgs(scalar, pass, t, n);
                _queue.Launch(scalar, RoundUp(n, local), local);
                return;
            }
            int width = _program.Kernels.VectorWidth;
            int vectors = n / width;
            if (vectors > 0)
            {
                SetArgs(vector, pass, t, n);
                _queue.Launch(vector, RoundUp(vectors, local), local);
            }
            int done = vectors * width;
            if (done < n)
            {
                SetArgs(scalar, pass, t, n);
                long tailLocal = Math.Min(width, scalar.WorkGroupSize);
                _queue.Launch(scalar, RoundUp(n - done, tailLocal), tailLocal, globalOffset: done);
            }
        }

        /// <summary>
        /// A row-wise pass. Scalar kernels: one launch over the n elements (first_col = 0). Vector kernels: one launch over
        /// the cols / width whole vectors of every row (a vector never crosses a row, so a row's values stay one scalar and
        /// the column values one vector load), then the scalar kernel over the last cols % width columns of every row.
        /// <para>So no lane ever gathers across a row end. What it costs: an integer division per work-item (the row) and a
        /// tail launch when cols is not a multiple of the width. Measured on PoCL (2-core EPYC, 4096×4096, width 8): Adafactor's
        /// last pass 10.4 ms against 10.0 ms with the row and column taken by shift and mask instead (within the noise of a
        /// shared machine).</para>
        /// </summary>
        private void LaunchRowWise(PassProgram pass, int t, int n, int cols)
        {
            var scalar = _program.ScalarKernel(pass.Index);
            var vector = _program.VectorKernel(pass.Index);
            int rows = n / cols;
            int done = 0;
            if (vector != null)
            {
                int width = _program.Kernels.VectorWidth;
                int vectorsPerRow = cols / width;
                if (vectorsPerRow > 0)
                {
                    int arg = SetArgs(vector, pass, t, n);
                    vector.SetArg(arg, cols);
                    long local = _program.LocalSize;
                    _queue.Launch(vector, RoundUp((long)rows * vectorsPerRow, local), local);
                }
                done = vectorsPerRow * width;
            }
            if (done < cols)
            {
                int arg = SetArgs(scalar, pass, t, n);
                scalar.SetArg(arg++, cols);
                scalar.SetArg(arg, done);
                long count = (long)rows * (cols - done);
                long local = Math.Min(_program.ScalarLocalSize, RoundUp(count, 16));
                _queue.Launch(scalar, RoundUp(count, local), local);
            }
        }

        /// <summary>Sets the arguments every kernel of the pass takes, up to <c>n</c>; returns the index of the next one.</summary>
        private int SetArgs(ClKernel kernel, PassProgram pass, int t, int n)
        {
            int arg = 0;
            for (int i = 0; i < _kernelBuffers.Length; i++) kernel.SetArg(arg++, BufferOf(t, i));
            for (int k = 0; k < pass.Reductions.Count; k++) kernel.SetArg(arg++, _operands[k]!);
            if (pass.RowWise) kernel.SetArg(arg++, _rowValues!);
            kernel.SetArg(arg++, _uniforms);
            kernel.SetArg(arg++, n);
            return arg;
        }

        private static long RoundUp(long count, long multiple) => (count + multiple - 1) / multiple * multiple;

        /// <inheritdoc/>
        public void Dispose()
        {
            _tensors.Dispose();
            foreach (var b in _scratch) b?.Dispose();
            foreach (var b in _operands) b?.Dispose();
            _partials?.Dispose();
            _rowValues?.Dispose();
            _columnSums?.Dispose();
            _uniforms.Dispose();
            _newtonSchulz?.Dispose();
        }
    }
}
