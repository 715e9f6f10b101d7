using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;
using Fused.Runtime.OpenCL;
using static Fused.Ilgpu.Tests.Device.IlgpuClArgument;

namespace Fused.Ilgpu.Tests.Device
{
    /// <summary>
    /// The device code <see cref="IlgpuBackend"/> loads on an OpenCL device — the rule's generated ILGPU kernels and
    /// <see cref="BlockReduce"/>, as ILGPU's OpenCL C — run under the <see cref="ScheduleExecutor"/> on an OpenCL device
    /// through Fused's own OpenCL layer (<see cref="IlgpuClKernel"/>). ILGPU's OpenCL accelerator refuses PoCL (it
    /// requires the generic address space of OpenCL C 2.0 from the device's report); PoCL builds and runs the code itself,
    /// so this proves the device code where no GPU is. It does per tensor what <see cref="IlgpuBackend"/> does (same
    /// launches, same arguments, reductions in the same two kernels, ColSums, row inputs, matrix passes on the host);
    /// a test harness, not a product backend: tensors are set once.
    /// </summary>
    public sealed class IlgpuOnOpenClBackend : IDeviceBackend
    {
        private readonly KernelSchedule _schedule;
        private readonly ClQueue _queue;
        private readonly IlgpuClKernel[] _passes;
        private readonly IlgpuClKernel _lanes, _foldLanes, _columnSums;
        private readonly int[] _kernelBuffers;
        private readonly int _operandCount;
        private readonly RowInputs _rowInputs;
        private DeviceTensors<ClBuffer>? _tensors;
        private readonly List<ClBuffer> _owned = new List<ClBuffer>();
        private ClBuffer?[] _scratch = Array.Empty<ClBuffer?>();
        private ClBuffer[] _operands = Array.Empty<ClBuffer>();
        private ClBuffer? _partials, _laneSums, _rowValues, _columnGroups, _columnSumResult;
        private float[] _hostRowValues = Array.Empty<float>();

        public IlgpuOnOpenClBackend(FusedRule rule, ClQueue queue, NewtonSchulzOptions? newtonSchulz = null, ShampooOptions? shampoo = null)
        {
            _schedule = rule.Schedule;
            _queue = queue;
            var kernels = IlgpuKernels.Of(rule);
            _passes = Enumerable.Range(0, _schedule.PassCount).Select(k => IlgpuClKernel.Build(queue.Context, kernels.Pass(k))).ToArray();
            var reductions = DevicelessCompiler.ReductionKernels.Select(m => IlgpuClKernel.Build(queue.Context, m)).ToArray();
            (_lanes, _foldLanes, _columnSums) = (reductions[0], reductions[1], reductions[2]);
            _kernelBuffers = _schedule.KernelBuffers.ToArray();
            _operandCount = _schedule.Passes.Max(p => (int?)p.Reductions.Count) ?? 0;
            _rowInputs = new RowInputs(_schedule);
            if (_schedule.Matrices.Count > 0) HostMatrix = new MatrixPasses(newtonSchulz, shampoo);
        }

        /// <summary>Kernel launches so far, every kernel counted.</summary>
        public long Launches => _passes.Concat(new[] { _lanes, _foldLanes, _columnSums }).Sum(k => k.Launches);

        /// <summary>The OpenCL C of pass <paramref name="pass"/>'s kernel as built.</summary>
        public string PassSource(int pass) => _passes[pass].Source;

        public long WaveElements => 0;
        public double HostMatrixSeconds => 0;
        public long HostMatrixBytes => 0;
        public MatrixPasses? HostMatrix { get; }
        public long MatrixKey(int tensor) => _tensors!.Key(tensor);

        public void SetTensors(IReadOnlyList<ShapeInfo> shapes)
        {
            if (_tensors != null) throw new InvalidOperationException("the harness takes its tensors once");
            _tensors = new DeviceTensors<ClBuffer>(_schedule, Filled); // it disposes them
            _tensors.Set(shapes);
            var (elements, cols, rows, blocks) = DeviceScratch.Of(_schedule, shapes);
            _scratch = new ClBuffer?[_kernelBuffers.Length];
            DeviceScratch.Regrow(_schedule, _scratch, columns: false, elements, Zeroed);
            DeviceScratch.Regrow(_schedule, _scratch, columns: true, Math.Max(1, cols), Zeroed);
            _operands = Enumerable.Range(0, _operandCount).Select(_ => Zeroed(elements)).ToArray();
            long partials = Math.Max(1, blocks * Math.Max(1, _operandCount));
            _partials = Doubles(partials);
            _laneSums = Doubles(partials * Reduction.Lanes);
            _columnGroups = Doubles(Math.Max(1, cols) * Reduction.MaxRowGroups);
            _columnSumResult = Zeroed(Math.Max(1, cols));
            _hostRowValues = new float[Math.Max(1, rows * _rowInputs.PerRowCount)];
            _rowValues = Zeroed(_hostRowValues.Length);
        }

        private ClBuffer Filled(long length)
        {
            var buffer = _queue.Context.CreateBuffer<float>(Math.Max(1, length));
            _queue.Fill(buffer, 0f, 0, Math.Max(1, length));
            return buffer;
        }

        private ClBuffer Zeroed(long length)
        {
            var buffer = Filled(length);
            _owned.Add(buffer);
            return buffer;
        }

        private ClBuffer Doubles(long length)
        {
            var buffer = _queue.Context.CreateBuffer<double>(length);
            _owned.Add(buffer);
            return buffer;
        }

        private ClBuffer BufferOf(int tensor, int ordinal) => (_tensors!.IsTensorOwned(ordinal) ? _tensors.Buffer(tensor, ordinal) : _scratch[ordinal])!;

        private static IlgpuClArgument Whole(ClBuffer buffer) => View(buffer, buffer.Length<float>());

        public void Upload(int tensor, int buffer, ReadOnlySpan<float> data)
        {
            if (data.Length > 0) _queue.Write(BufferOf(tensor, _schedule.KernelOrdinal(buffer)), data);
        }

        public void Download(int tensor, int buffer, Span<float> data)
        {
            if (data.Length > 0) _queue.Read(BufferOf(tensor, _schedule.KernelOrdinal(buffer)), data);
        }

        public void BeginWave(int first, int end) { }

        public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step)
        {
            int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols);
            var host = new float[rows * cols];
            if (host.Length == 0) return;
            var source = BufferOf(tensor, _schedule.KernelOrdinal(matrix.Source));
            _queue.Read<float>(source, host);
            if (matrix.Op == MatrixOp.Orthogonalize) HostMatrix!.Orthogonalize(host.AsSpan(), rows, cols);
            else HostMatrix!.Precondition(host.AsSpan(), rows, cols, step, _tensors!.Key(tensor));
            _queue.Write<float>(source, host);
        }

        public void RunPass(PassProgram pass, int first, int end, PassArguments args)
        {
            int R = pass.Reductions.Count;
            for (int t = first; t < end; t++)
            {
                var shape = args.Shapes[t];
                var vectors = args.Vectors[t];
                int n = checked((int)shape.Numel), cols = checked((int)shape.Cols), rows = checked((int)shape.Rows);
                if (n == 0)
                {
                    foreach (var sum in pass.ColumnSums) vectors!.Values(sum.Vector).Clear();
                    continue;
                }
                if (pass.RowWise) UploadRowInputs(pass, shape, vectors!);
                var arguments = new List<IlgpuClArgument>();
                for (int i = 0; i < _kernelBuffers.Length; i++) arguments.Add(Whole(BufferOf(t, i)));
                for (int k = 0; k < R; k++) arguments.Add(Whole(_operands[k]));
                if (pass.RowWise) arguments.Add(Whole(_rowValues!));
                arguments.Add(FloatStruct(args.UniformCount == 0 ? new float[1] : args.UniformsOf(t).ToArray()));
                if (pass.RowWise) arguments.Add(Int(cols));
                _passes[pass.Index].Launch(_queue, n, arguments.ToArray());

                int rowLength = pass.RowWise ? cols : n;
                int blocks = checked((int)ScheduleExecutor.BlocksOf(pass, shape));
                for (int k = 0; k < R; k++)
                {
                    int max = pass.Reductions[k].IsMax ? 1 : 0;
                    _lanes.Launch(_queue, blocks * Reduction.Lanes, Whole(_operands[k]), View(_laneSums!, _laneSums!.Length<double>()), Int(rowLength), Int(max));
                    _foldLanes.Launch(_queue, blocks, View(_laneSums, _laneSums.Length<double>()), View(_partials!, _partials!.Length<double>()), Int(R), Int(k), Int(max));
                }
                if (R > 0) _queue.Read(_partials!, args.Partials.AsSpan(checked((int)args.PartialOffset[t]), blocks * R));
                foreach (var sum in pass.ColumnSums)
                {
                    _columnSums.Launch(_queue, cols, Whole(BufferOf(t, _schedule.KernelOrdinal(sum.Buffer))), Int(rows), Int(cols),
                        Int(checked((int)Reduction.RowGroupSize(rows))), View(_columnGroups!, _columnGroups!.Length<double>()), Whole(_columnSumResult!));
                    _queue.Read(_columnSumResult!, vectors!.Values(sum.Vector).Slice(0, cols));
                }
            }
        }

        private void UploadRowInputs(PassProgram pass, ShapeInfo shape, VectorValues vectors)
        {
            int cols = checked((int)shape.Cols);
            foreach (int ordinal in _rowInputs.ColumnsRead(pass.Index))
                _queue.Write<float>(_scratch[ordinal]!, vectors.Values(_schedule.Buffers[_kernelBuffers[ordinal]].Vector).Slice(0, cols));
            if (!_rowInputs.ReadsPerRow(pass.Index)) return;
            int packed = checked((int)shape.Rows * _rowInputs.PerRowCount);
            _rowInputs.Pack(shape, vectors, _hostRowValues.AsSpan(0, packed));
            _queue.Write<float>(_rowValues!, _hostRowValues.AsSpan(0, packed));
        }

        public void EndStep() => _queue.Finish();

        public void Dispose()
        {
            _tensors?.Dispose();
            foreach (var b in _owned) b.Dispose();
        }
    }
}
