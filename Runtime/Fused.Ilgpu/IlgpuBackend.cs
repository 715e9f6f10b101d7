using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;
using ILGPU;
using ILGPU.Runtime;

namespace Fused.Ilgpu
{
    /// <summary>
    /// The ILGPU backend of the <see cref="ScheduleExecutor"/>: a group of tensors' element buffers (parameter, gradient,
    /// element states) on an ILGPU <see cref="Accelerator"/> (CUDA, OpenCL or ILGPU's CPU emulator), each element pass run
    /// by the rule's generated ILGPU kernel (<see cref="IlgpuKernels"/>: the same operations in the same order as the CPU
    /// kernels, so the same bits), reductions in the canonical block order on the device (<see cref="BlockReduce"/>) with
    /// the float64 partials read back for the executor to fold. One tensor per wave: temporaries and reduction operands
    /// are one set of buffers, sized for the largest tensor. Uniforms go to each launch by value (no upload).
    /// <para>
    /// Matrix passes run on the host through <see cref="MatrixPasses"/> (the same code as the CPU backend, so the same
    /// bits): the temporary goes down, through Newton–Schulz (Orthogonalize) or Shampoo's preconditioner, and back up,
    /// counted in <see cref="HostMatrixSeconds"/> and <see cref="HostMatrixBytes"/>.
    /// </para>
    /// <para>
    /// A row-wise pass (per-row or per-column values, RowSum, ColSum — Adafactor) gets the column values it reads as device
    /// buffers of Cols floats and the per-row slots packed row by row (<see cref="KernelSchedule.PerRowSlots"/> order), both
    /// from the executor's <see cref="VectorValues"/>; its reductions are blocked row by row and its ColSums summed per
    /// column over groups of <see cref="Reduction.RowGroupSize"/> rows on the device (<see cref="BlockReduce"/>), the
    /// results written into the tensor's vectors. Rules built at run time have no generated kernels and are refused with a
    /// <see cref="NotSupportedException"/> naming them. Not thread-safe.
    /// </para>
    /// </summary>
    public sealed class IlgpuBackend : IDeviceBackend
    {
        private readonly FusedRule _rule;
        private readonly KernelSchedule _schedule;
        private readonly Accelerator _accelerator;
        private readonly AcceleratorStream _stream;
        private readonly IlgpuKernels _kernels;
        private readonly PassLauncher[] _passLaunchers;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<double>, int, int> _lanes;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<double>, ArrayView<double>, int, int, int> _foldLanes;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, int, int, int, ArrayView<double>, ArrayView<float>> _columnSums;
        private readonly int[] _kernelBuffers;   // per ordinal: the schedule buffer
        private readonly int _operandCount;      // most reductions of any pass
        private readonly MatrixPasses? _hostMatrix;
        private readonly IlgpuNewtonSchulz? _deviceNewtonSchulz;  // Orthogonalize on the device, when placed there
        private readonly ArrayView<float>[][] _passViews;   // per pass: the kernel's views, reused
        private readonly RowInputs _rowInputs;         // what a row-wise pass reads besides its element buffers

        private readonly DeviceTensors<MemoryBuffer1D<float, Stride1D.Dense>> _tensors; // per tensor: shape, element buffers, allocation key

        private long _scratchElements = -1, _scratchPartials = -1;
        private readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _scratch;   // per ordinal: temporaries
        private readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _operands;  // per reduction of a pass
        private MemoryBuffer1D<double, Stride1D.Dense>? _partials, _laneSums;
        private long _scratchCols = -1, _scratchRows = -1;
        private MemoryBuffer1D<float, Stride1D.Dense>? _rowValues, _columnSumResult;
        private MemoryBuffer1D<double, Stride1D.Dense>? _columnGroups;
        // Pinned host staging, so transfers within a pass are asynchronous and one wait per tensor covers them all.
        private float[] _hostRowValues = Array.Empty<float>();
        private float[] _hostColumnValues = Array.Empty<float>();   // the column values a row-wise pass reads, one run of Cols each
        private float[] _hostColumnSums = Array.Empty<float>();     // a pass's ColSums, one run of Cols each
        private double[] _hostPartials = Array.Empty<double>();
        private float[] _hostMatrixScratch = Array.Empty<float>();

        /// <param name="rule">A generated rule whose project references ILGPU (its <c>Ilgpu</c> kernels).</param>
        /// <param name="accelerator">Where the buffers live and the kernels run.</param>
        /// <param name="newtonSchulz">Newton–Schulz settings for rules with Orthogonalize (Muon).</param>
        /// <param name="shampoo">Settings for rules with Precondition (Shampoo).</param>
        /// <param name="placement">Where Newton–Schulz runs (<see cref="NewtonSchulzPlacement.Auto"/>: on CUDA and OpenCL devices, on the host beside ILGPU's CPU accelerator).</param>
        /// <exception cref="NotSupportedException">The rule was built at run time, or its project does not reference ILGPU (no generated kernels).</exception>
        public IlgpuBackend(FusedRule rule, Accelerator accelerator, NewtonSchulzOptions? newtonSchulz = null, ShampooOptions? shampoo = null,
            NewtonSchulzPlacement placement = NewtonSchulzPlacement.Auto)
        {
            _rule = rule ?? throw new ArgumentNullException(nameof(rule));
            _accelerator = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
            _schedule = rule.Schedule;
            _kernels = IlgpuKernels.Of(rule);
            _stream = accelerator.DefaultStream;
            _kernelBuffers = _schedule.KernelBuffers.ToArray();
            _tensors = new DeviceTensors<MemoryBuffer1D<float, Stride1D.Dense>>(_schedule, AllocateZeroed, maxElements: int.MaxValue);
            _operandCount = _schedule.Passes.Max(p => (int?)p.Reductions.Count) ?? 0;
            _scratch = new MemoryBuffer1D<float, Stride1D.Dense>?[_kernelBuffers.Length];
            _operands = new MemoryBuffer1D<float, Stride1D.Dense>?[_operandCount];
            ContractionFree = true;
            _passLaunchers = _schedule.Passes.Select(p => _kernels.Launcher(p.Index, Load(_kernels.Pass(p.Index)))).ToArray();
            _passViews = _schedule.Passes.Select(p => new ArrayView<float>[_kernelBuffers.Length + p.Reductions.Count + (p.RowWise ? 1 : 0)]).ToArray();
            _lanes = Load(typeof(BlockReduce).GetMethod(nameof(BlockReduce.Lanes))!)
                .CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<double>, int, int>>();
            _foldLanes = Load(typeof(BlockReduce).GetMethod(nameof(BlockReduce.FoldLanes))!)
                .CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<double>, ArrayView<double>, int, int, int>>();
            _columnSums = Load(typeof(BlockReduce).GetMethod(nameof(BlockReduce.ColumnSums))!)
                .CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<float>, int, int, int, ArrayView<double>, ArrayView<float>>>();
            _rowInputs = new RowInputs(_schedule);
            bool orthogonalizes = _schedule.Matrices.Any(m => m.Op == MatrixOp.Orthogonalize);
            bool device = placement == NewtonSchulzPlacement.Device
                || (placement == NewtonSchulzPlacement.Auto && _accelerator.AcceleratorType is AcceleratorType.Cuda or AcceleratorType.OpenCL);
            if (orthogonalizes && device)
            {
                IDeviceGemm gemm = _accelerator is ILGPU.Runtime.Cuda.CudaAccelerator cuda ? new CuBlasGemm(cuda) : new TiledGemm(_accelerator, LoadGrouped);
                _deviceNewtonSchulz = new IlgpuNewtonSchulz(_accelerator, gemm, Load, newtonSchulz);
            }
            if (_schedule.Matrices.Any(m => m.Op != MatrixOp.Orthogonalize) || (orthogonalizes && !device)) _hostMatrix = new MatrixPasses(newtonSchulz, shampoo);
        }

        /// <summary>What runs Newton–Schulz: "host" (<see cref="MatrixPasses"/>), or the device product ("tiled GEMM (16x16)", "cuBLAS"); null without Orthogonalize.</summary>
        public string? NewtonSchulzRunsOn => _deviceNewtonSchulz?.GemmName ?? (_schedule.Matrices.Any(m => m.Op == MatrixOp.Orthogonalize) ? "host" : null);

        /// <summary>
        /// A kernel on the accelerator. On CUDA and OpenCL through device code rewritten by <see cref="NoContraction"/>, so
        /// the device compiler fuses no multiply into an add (the CPU's bits); on the CPU accelerator as ILGPU loads it.
        /// </summary>
        private Kernel Load(System.Reflection.MethodInfo method)
        {
            if (_accelerator.AcceleratorType is not (AcceleratorType.Cuda or AcceleratorType.OpenCL)) return _accelerator.LoadAutoGroupedKernel(method);
            return _accelerator.LoadAutoGroupedKernel(ContractionFreeCompile(ILGPU.Backends.EntryPoints.EntryPointDescription.FromImplicitlyGroupedKernel(method)));
        }

        /// <summary>An explicitly grouped kernel (shared memory, barriers: the tiled GEMM), loaded as <see cref="Load"/> does.</summary>
        private Kernel LoadGrouped(System.Reflection.MethodInfo method)
        {
            if (_accelerator.AcceleratorType is not (AcceleratorType.Cuda or AcceleratorType.OpenCL)) return _accelerator.LoadKernel(method);
            return _accelerator.LoadKernel(ContractionFreeCompile(ILGPU.Backends.EntryPoints.EntryPointDescription.FromExplicitlyGroupedKernel(method)));
        }

        private ILGPU.Backends.CompiledKernel ContractionFreeCompile(ILGPU.Backends.EntryPoints.EntryPointDescription entry)
        {
            var compiled = _accelerator.CompileKernel(entry);
            var rewritten = NoContraction.Rewrite(compiled);
            if (rewritten == null) ContractionFree = false;
            return rewritten ?? compiled;
        }

        /// <summary>
        /// False when the device compiler may contract a multiply and an add into one fused operation (CUDA or OpenCL when
        /// this ILGPU build did not let <see cref="NoContraction"/> rewrite the code): results may then differ from the
        /// CPU's in the last bits. True on the CPU accelerator and with the rewrite.
        /// </summary>
        public bool ContractionFree { get; private set; }

        /// <summary>One tensor per wave: the backend's scratch holds one tensor's temporaries and reduction operands.</summary>
        public long WaveElements => 0;

        /// <summary>The rule whose generated ILGPU kernels run.</summary>
        public FusedRule Rule => _rule;
        /// <summary>The rule's schedule.</summary>
        public KernelSchedule Schedule => _schedule;
        /// <summary>Where the buffers live and the kernels run.</summary>
        public Accelerator Accelerator => _accelerator;
        /// <summary>The shapes of the group's tensors, in order.</summary>
        public IReadOnlyList<ShapeInfo> Shapes => _tensors.Shapes;

        /// <summary>The host matrix passes (Newton–Schulz, Shampoo's statistics), or null without any.</summary>
        public MatrixPasses? HostMatrix => _hostMatrix;

        /// <summary>The key of tensor <paramref name="tensor"/>'s Shampoo statistics in <see cref="HostMatrix"/>.</summary>
        public long MatrixKey(int tensor) => _tensors.Key(tensor);

        /// <summary>Time spent on the host in matrix passes (Newton–Schulz, Shampoo), transfers included.</summary>
        public double HostMatrixSeconds { get; private set; }

        /// <summary>Bytes moved between device and host for matrix passes (down and up).</summary>
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

        private MemoryBuffer1D<float, Stride1D.Dense> AllocateZeroed(long length)
        {
            var buffer = _accelerator.Allocate1D<float>(length);
            buffer.MemSetToZero(_stream);
            return buffer;
        }

        /// <summary>Grows the shared buffers to the largest tensor (they never shrink).</summary>
        private void ReserveScratch()
        {
            var (elements, cols, rows, blocks) = DeviceScratch.Of(_schedule, _tensors.Shapes);
            long partials = blocks * Math.Max(1, _operandCount);
            if (elements > _scratchElements)
            {
                DeviceScratch.Regrow(_schedule, _scratch, columns: false, elements, n => _accelerator.Allocate1D<float>(n));
                for (int k = 0; k < _operands.Length; k++)
                {
                    _operands[k]?.Dispose();
                    _operands[k] = _accelerator.Allocate1D<float>(elements);
                }
                _scratchElements = elements;
            }
            bool rowWise = _schedule.Passes.Any(p => p.RowWise);
            if (rowWise && cols > _scratchCols)
            {
                DeviceScratch.Regrow(_schedule, _scratch, columns: true, cols, n => _accelerator.Allocate1D<float>(n));
                _columnSumResult?.Dispose();
                _columnSumResult = _accelerator.Allocate1D<float>(cols);
                _columnGroups?.Dispose();
                _columnGroups = _accelerator.Allocate1D<double>(cols * Reduction.MaxRowGroups);
                int columnsRead = Enumerable.Range(0, _schedule.PassCount).Max(p => _rowInputs.ColumnsRead(p).Length);
                int columnSums = _schedule.Passes.Max(p => p.ColumnSums.Count);
                _hostColumnValues = Pinned<float>(cols * Math.Max(1, columnsRead));
                _hostColumnSums = Pinned<float>(cols * Math.Max(1, columnSums));
                _scratchCols = cols;
            }
            if (rowWise && rows > _scratchRows)
            {
                long packed = Math.Max(1, rows * _rowInputs.PerRowCount);
                _rowValues?.Dispose();
                _rowValues = _accelerator.Allocate1D<float>(packed);
                _hostRowValues = Pinned<float>(packed);
                _scratchRows = rows;
            }
            if (_operandCount > 0 && partials > _scratchPartials)
            {
                _partials?.Dispose();
                _partials = _accelerator.Allocate1D<double>(partials);
                _laneSums?.Dispose();
                _laneSums = _accelerator.Allocate1D<double>(partials * Reduction.Lanes); // one reduction's lanes at a time
                _hostPartials = Pinned<double>(partials);
                _scratchPartials = partials;
            }
        }

        private static T[] Pinned<T>(long length) where T : unmanaged => GC.AllocateUninitializedArray<T>(checked((int)length), pinned: true);

        /// <summary>Tensor <paramref name="tensor"/>'s device view of schedule buffer <paramref name="buffer"/> (Numel floats).</summary>
        public ArrayView<float> View(int tensor, int buffer)
        {
            int ordinal = _schedule.KernelOrdinal(buffer);
            if (ordinal < 0)
                throw new ArgumentException($"{_schedule.Name}: buffer '{_schedule.Buffers[buffer].Name}' has no value per element; it is held by the executor", nameof(buffer));
            return ViewOf(tensor, ordinal).SubView(0, Math.Max(1, _tensors.Shapes[tensor].Numel));
        }

        private ArrayView<float> ViewOf(int tensor, int ordinal) => (_tensors.IsTensorOwned(ordinal) ? _tensors.Buffer(tensor, ordinal) : _scratch[ordinal])!.View;

        /// <summary>Copies host data into tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> (the parameter, the gradient or an element state, by name): Numel floats.</summary>
        public void Upload(int tensor, string buffer, ReadOnlySpan<float> data)
        {
            Upload(tensor, _tensors.ElementBufferNamed(tensor, buffer, data.Length), data);
        }

        /// <summary>Host data into tensor <paramref name="tensor"/>'s element buffer of schedule buffer <paramref name="buffer"/>; done when it returns.</summary>
        public void Upload(int tensor, int buffer, ReadOnlySpan<float> data)
        {
            if (data.Length == 0) return;
            View(tensor, buffer).SubView(0, data.Length).CopyFromCPU(_stream, data);
            Synchronize();
        }

        /// <summary>Tensor <paramref name="tensor"/>'s element buffer of schedule buffer <paramref name="buffer"/> to the host; done when it returns.</summary>
        public void Download(int tensor, int buffer, Span<float> data)
        {
            if (data.Length == 0) return;
            View(tensor, buffer).SubView(0, data.Length).CopyToCPU(_stream, data);
            Synchronize();
        }

        /// <summary>Copies tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> to the host (Numel floats).</summary>
        public void Download(int tensor, string buffer, Span<float> data)
        {
            Download(tensor, _tensors.ElementBufferNamed(tensor, buffer, data.Length), data);
        }

        /// <inheritdoc/>
        public void BeginWave(int first, int end) { }

        /// <inheritdoc/>
        public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step)
        {
            int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols), n = checked(rows * cols);
            if (n == 0) return;
            if (matrix.Op == MatrixOp.Orthogonalize && _deviceNewtonSchulz != null)
            {
                // On the device: the temporary never leaves it (one wait, for the norm's partials).
                _deviceNewtonSchulz.Orthogonalize(ViewOf(tensor, _schedule.KernelOrdinal(matrix.Source)).SubView(0, n), rows, cols);
                Synchronizations++; // its norm's partials are read back
                return;
            }
            // Shampoo, and Newton–Schulz placed on the host: the temporary down, through MatrixPasses, and back up.
            long start = Stopwatch.GetTimestamp();
            var source = ViewOf(tensor, _schedule.KernelOrdinal(matrix.Source)).SubView(0, n);
            if (_hostMatrixScratch.Length < n) _hostMatrixScratch = new float[n]; // once per larger tensor
            var host = _hostMatrixScratch.AsSpan(0, n);
            source.CopyToCPU(_stream, host);
            Synchronize();
            if (matrix.Op == MatrixOp.Orthogonalize) _hostMatrix!.Orthogonalize(host, rows, cols);
            else _hostMatrix!.Precondition(host, rows, cols, step, _tensors.Key(tensor));
            source.CopyFromCPU(_stream, (ReadOnlySpan<float>)host);
            Synchronize();
            HostMatrixSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
            HostMatrixBytes += 2L * sizeof(float) * n;
        }

        /// <inheritdoc/>
        public void RunPass(PassProgram pass, int first, int end, PassArguments args)
        {
            var launcher = _passLaunchers[pass.Index];
            var views = _passViews[pass.Index];
            int R = pass.Reductions.Count;
            for (int t = first; t < end; t++)
            {
                var shape = args.Shapes[t];
                var vectors = args.Vectors[t];
                int n = checked((int)shape.Numel), cols = checked((int)shape.Cols);
                if (n == 0)
                {
                    // Nothing to launch: no partials; every column sums nothing.
                    foreach (var sum in pass.ColumnSums) vectors!.Values(sum.Vector).Clear();
                    continue;
                }
                if (pass.RowWise) UploadRowInputs(pass, shape, vectors!);
                int a = 0;
                for (int i = 0; i < _kernelBuffers.Length; i++) views[a++] = ViewOf(t, i);
                for (int k = 0; k < R; k++) views[a++] = _operands[k]!.View.AsContiguous();
                if (pass.RowWise) views[a] = _rowValues!.View.AsContiguous();
                launcher.Launch(_stream, n, views, args.Uniforms, t * args.UniformCount, cols);
                _launches++;
                int blocks = R > 0 ? ReducePartials(pass, shape) : 0;
                for (int c = 0; c < pass.ColumnSums.Count; c++) ColumnSums(ViewOf(t, _schedule.KernelOrdinal(pass.ColumnSums[c].Buffer)), shape, c);
                if (!(pass.RowWise || R > 0 || pass.ColumnSums.Count > 0)) continue;
                // One wait per tensor covers every transfer of the pass (all from and to pinned staging): the row inputs'
                // staging is reused by the next tensor, and the executor folds the partials and reads the column sums next.
                Synchronize();
                _hostPartials.AsSpan(0, blocks * R).CopyTo(args.Partials.AsSpan(checked((int)args.PartialOffset[t]), blocks * R));
                for (int c = 0; c < pass.ColumnSums.Count; c++)
                    _hostColumnSums.AsSpan(c * cols, cols).CopyTo(vectors!.Values(pass.ColumnSums[c].Vector));
            }
        }

        /// <summary>
        /// Kernel launches so far (passes, reduction kernels, ColSums): per step, per tensor and pass, one for the pass, two
        /// per reduction and one per ColSum; and Newton–Schulz's on the device (<see cref="IlgpuNewtonSchulz.Launches"/>).
        /// </summary>
        public long Launches => _launches + (_deviceNewtonSchulz?.Launches ?? 0);

        private long _launches;

        /// <summary>Waits for the stream so far (after transfers the host reads or reuses, and at the end of a step).</summary>
        public long Synchronizations { get; private set; }

        private void Synchronize()
        {
            _stream.Synchronize();
            Synchronizations++;
        }

        /// <summary>
        /// The pass's partials on the device, block-major (block · R + reduction) as the executor lays them out, each row
        /// blocked on its own for a row-wise pass; then copied into the pinned staging (read once the stream is waited for).
        /// Returns the blocks per reduction.
        /// </summary>
        private int ReducePartials(PassProgram pass, ShapeInfo shape)
        {
            int R = pass.Reductions.Count;
            int rowLength = checked((int)(pass.RowWise ? shape.Cols : shape.Numel));
            int blocks = checked((int)ScheduleExecutor.BlocksOf(pass, shape));
            for (int k = 0; k < R; k++)
            {
                int max = pass.Reductions[k].IsMax ? 1 : 0;
                _lanes(_stream, blocks * Reduction.Lanes, _operands[k]!.View.AsContiguous(), _laneSums!.View.AsContiguous(), rowLength, max);
                _foldLanes(_stream, blocks, _laneSums!.View.AsContiguous(), _partials!.View.AsContiguous(), R, k, max);
                _launches += 2;
            }
            _partials!.View.AsContiguous().SubView(0, blocks * R).CopyToCPUUnsafeAsync(_stream, ref _hostPartials[0], blocks * R);
            return blocks;
        }

        /// <summary>ColSum of a rows×cols operand on the device (<see cref="BlockReduce.ColumnSums"/>), copied into the pass's <paramref name="sum"/>th run of the pinned staging (read once the stream is waited for).</summary>
        private void ColumnSums(ArrayView<float> operands, ShapeInfo shape, int sum)
        {
            int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols);
            _columnSums(_stream, cols, operands, rows, cols, checked((int)Reduction.RowGroupSize(rows)), _columnGroups!.View.AsContiguous(), _columnSumResult!.View.AsContiguous());
            _launches++;
            _columnSumResult!.View.AsContiguous().SubView(0, cols).CopyToCPUUnsafeAsync(_stream, ref _hostColumnSums[sum * cols], cols);
        }

        /// <summary>The column values a row-wise pass reads (Cols floats each) and, when it reads any, the per-row slots packed row by row, through the pinned staging.</summary>
        private void UploadRowInputs(PassProgram pass, ShapeInfo shape, VectorValues vectors)
        {
            int cols = checked((int)shape.Cols);
            var columns = _rowInputs.ColumnsRead(pass.Index);
            for (int j = 0; j < columns.Length; j++)
            {
                int ordinal = columns[j];
                vectors.Values(_schedule.Buffers[_kernelBuffers[ordinal]].Vector).Slice(0, cols).CopyTo(_hostColumnValues.AsSpan(j * cols, cols));
                _scratch[ordinal]!.View.AsContiguous().SubView(0, cols).CopyFromCPUUnsafeAsync(_stream, ref _hostColumnValues[j * cols], cols);
            }
            if (_rowInputs.ReadsPerRow(pass.Index))
            {
                int packed = checked((int)shape.Rows * _rowInputs.PerRowCount);
                _rowInputs.Pack(shape, vectors, _hostRowValues.AsSpan(0, packed));
                _rowValues!.View.AsContiguous().SubView(0, packed).CopyFromCPUUnsafeAsync(_stream, ref _hostRowValues[0], packed);
            }
        }

        /// <inheritdoc/>
        public void EndStep() => Synchronize();

        /// <summary>Frees the device buffers (not the accelerator).</summary>
        public void Dispose()
        {
            _tensors.Dispose();
            _deviceNewtonSchulz?.Dispose();
            foreach (var b in _scratch) b?.Dispose();
            foreach (var b in _operands) b?.Dispose();
            _partials?.Dispose();
            _laneSums?.Dispose();
            _rowValues?.Dispose();
            _columnSumResult?.Dispose();
            _columnGroups?.Dispose();
        }
    }

    /// <summary>Where <see cref="IlgpuBackend"/> runs Newton–Schulz (Muon's Orthogonalize).</summary>
    public enum NewtonSchulzPlacement
    {
        /// <summary>On CUDA (cuBLAS) and OpenCL (the tiled GEMM) devices; on the host beside ILGPU's CPU accelerator, whose emulated kernels are slower than the host's BLAS and whose host pass keeps the CPU engine's bits.</summary>
        Auto,
        /// <summary>On the device always: cuBLAS on CUDA, Fused's tiled GEMM elsewhere (the CPU accelerator included).</summary>
        Device,
        /// <summary>On the host (<see cref="MatrixPasses"/>): the temporary down and back up, the CPU engine's bits.</summary>
        Host,
    }
}
