using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
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
    /// <para>Not yet: row-wise passes (per-row or per-column values, RowSum, ColSum — Adafactor): a rule with one is refused
    /// with a <see cref="NotSupportedException"/> naming it. Rules built at run time have no generated kernels and are
    /// refused likewise. Not thread-safe.</para>
    /// </summary>
    public sealed class IlgpuBackend : IScheduleBackend, IDisposable
    {
        private readonly FusedRule _rule;
        private readonly KernelSchedule _schedule;
        private readonly Accelerator _accelerator;
        private readonly AcceleratorStream _stream;
        private readonly IlgpuKernels _kernels;
        private readonly Kernel[] _passKernels;
        private readonly Kernel _blockReduce;
        private readonly int[] _kernelBuffers;   // per ordinal: the schedule buffer
        private readonly bool[] _tensorOwned;    // per ordinal: one buffer per tensor (program buffer) or the backend's scratch
        private readonly int _operandCount;      // most reductions of any pass
        private readonly MatrixPasses? _hostMatrix;
        private readonly object[][] _passArgs;   // per pass: the launch's arguments, reused
        private readonly object[] _reduceArgs = new object[6];

        private ShapeInfo[] _shapes = Array.Empty<ShapeInfo>();
        private MemoryBuffer1D<float, Stride1D.Dense>?[][] _tensors = Array.Empty<MemoryBuffer1D<float, Stride1D.Dense>?[]>();
        private long[] _tensorKeys = Array.Empty<long>();
        private long _nextKey;

        private long _scratchElements = -1, _scratchPartials = -1;
        private readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _scratch;   // per ordinal: temporaries
        private readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _operands;  // per reduction of a pass
        private MemoryBuffer1D<double, Stride1D.Dense>? _partials;
        private float[] _hostMatrixScratch = Array.Empty<float>();

        /// <param name="rule">A generated rule whose project references ILGPU (its <c>Ilgpu</c> kernels).</param>
        /// <param name="accelerator">Where the buffers live and the kernels run.</param>
        /// <param name="newtonSchulz">Newton–Schulz settings for rules with Orthogonalize (Muon).</param>
        /// <param name="shampoo">Settings for rules with Precondition (Shampoo).</param>
        /// <exception cref="NotSupportedException">The rule has a row-wise pass, was built at run time, or has no ILGPU kernels.</exception>
        public IlgpuBackend(FusedRule rule, Accelerator accelerator, NewtonSchulzOptions? newtonSchulz = null, ShampooOptions? shampoo = null)
        {
            _rule = rule ?? throw new ArgumentNullException(nameof(rule));
            _accelerator = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
            _schedule = rule.Schedule;
            var rowWise = _schedule.Passes.Where(p => p.RowWise).Select(p => p.Index).ToList();
            if (rowWise.Count > 0)
                throw new NotSupportedException($"rule '{rule.Name}' has row-wise pass(es) {string.Join(", ", rowWise)} (per-row or per-column values, RowSum, ColSum): the ILGPU backend does not run them yet; use the CPU or OpenCL backend");
            _kernels = IlgpuKernels.Of(rule);
            _stream = accelerator.DefaultStream;
            _kernelBuffers = _schedule.KernelBuffers.ToArray();
            _tensorOwned = _kernelBuffers.Select(b => _schedule.Buffers[b].IsProgramBuffer).ToArray();
            _operandCount = _schedule.Passes.Max(p => (int?)p.Reductions.Count) ?? 0;
            _scratch = new MemoryBuffer1D<float, Stride1D.Dense>?[_kernelBuffers.Length];
            _operands = new MemoryBuffer1D<float, Stride1D.Dense>?[_operandCount];
            ContractionFree = true;
            _passKernels = _schedule.Passes.Select(p => Load(_kernels.Pass(p.Index)!)).ToArray();
            _passArgs = _schedule.Passes.Select(p => new object[_kernelBuffers.Length + p.Reductions.Count + 1]).ToArray();
            _blockReduce = Load(typeof(BlockReduce).GetMethod(nameof(BlockReduce.Kernel))!);
            if (_schedule.Matrices.Count > 0) _hostMatrix = new MatrixPasses(newtonSchulz, shampoo);
        }

        /// <summary>
        /// A kernel on the accelerator. On CUDA through PTX rewritten by <see cref="PtxRounding"/>, so the assembler fuses no
        /// multiply into an add (the CPU's bits); elsewhere as ILGPU compiles it.
        /// </summary>
        private Kernel Load(System.Reflection.MethodInfo method)
        {
            // ILGPU's OpenCL C has no FP_CONTRACT OFF: an OpenCL compiler may fuse (and does, on GPUs).
            if (_accelerator.AcceleratorType == AcceleratorType.OpenCL) ContractionFree = false;
            if (_accelerator.AcceleratorType != AcceleratorType.Cuda) return _accelerator.LoadAutoGroupedKernel(method);
            var entry = ILGPU.Backends.EntryPoints.EntryPointDescription.FromImplicitlyGroupedKernel(method);
            var compiled = _accelerator.CompileKernel(entry);
            var rewritten = compiled is ILGPU.Backends.PTX.PTXCompiledKernel ptx ? PtxRounding.Rewrite(ptx) : null;
            if (rewritten == null)
            {
                ContractionFree = false;
                return _accelerator.LoadAutoGroupedKernel(compiled);
            }
            return _accelerator.LoadAutoGroupedKernel(rewritten);
        }

        /// <summary>
        /// False when the device may contract a multiply and an add into one fused operation (ILGPU's OpenCL accelerator; CUDA
        /// when the PTX could not be rewritten): results may then differ from the CPU's in the last bits. True on the CPU
        /// accelerator and on CUDA with the rewrite.
        /// </summary>
        public bool ContractionFree { get; private set; }

        /// <summary>One tensor per wave: the backend's scratch holds one tensor's temporaries and reduction operands.</summary>
        public long WaveElements => 0;

        public FusedRule Rule => _rule;
        public KernelSchedule Schedule => _schedule;
        public Accelerator Accelerator => _accelerator;
        public IReadOnlyList<ShapeInfo> Shapes => _shapes;

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
            ArgumentNullException.ThrowIfNull(shapes);
            foreach (var s in shapes)
                if (s.Numel < 0 || s.Rows < 0 || s.Cols < 0 || s.Rows * s.Cols != s.Numel || s.Numel > int.MaxValue)
                    throw new ArgumentException($"{_schedule.Name}: shape {s.Rows}×{s.Cols} does not hold {s.Numel} elements (at most 2^31 − 1 per tensor)", nameof(shapes));
            int T = shapes.Count;
            var tensors = new MemoryBuffer1D<float, Stride1D.Dense>?[T][];
            var keys = new long[T];
            for (int t = 0; t < T; t++)
            {
                if (t < _shapes.Length && SameShape(shapes[t], _shapes[t]))
                {
                    tensors[t] = _tensors[t];
                    keys[t] = _tensorKeys[t];
                    _tensors[t] = null!;
                    continue;
                }
                tensors[t] = AllocateTensor(shapes[t].Numel);
                keys[t] = _nextKey++;
            }
            foreach (var old in _tensors) if (old != null) foreach (var b in old) b?.Dispose();
            _tensors = tensors;
            _tensorKeys = keys;
            _shapes = shapes.ToArray();
            ReserveScratch();
        }

        private static bool SameShape(ShapeInfo a, ShapeInfo b) => a.Numel == b.Numel && a.Rows == b.Rows && a.Cols == b.Cols;

        private MemoryBuffer1D<float, Stride1D.Dense>?[] AllocateTensor(long numel)
        {
            var buffers = new MemoryBuffer1D<float, Stride1D.Dense>?[_kernelBuffers.Length];
            for (int i = 0; i < buffers.Length; i++)
            {
                if (!_tensorOwned[i]) continue;
                buffers[i] = _accelerator.Allocate1D<float>(Math.Max(1, numel));
                buffers[i]!.MemSetToZero(_stream);
            }
            return buffers;
        }

        /// <summary>Grows the shared buffers to the largest tensor (they never shrink).</summary>
        private void ReserveScratch()
        {
            long elements = 1, partials = 1;
            foreach (var s in _shapes)
            {
                elements = Math.Max(elements, s.Numel);
                partials = Math.Max(partials, Reduction.BlockCount(s.Numel) * Math.Max(1, _operandCount));
            }
            if (elements > _scratchElements)
            {
                for (int i = 0; i < _scratch.Length; i++)
                {
                    if (_tensorOwned[i]) continue;
                    var kind = _schedule.Buffers[_kernelBuffers[i]].Kind;
                    if (kind != BufferKind.Temp) throw new NotSupportedException($"rule '{_rule.Name}': the ILGPU backend has no {kind} buffers");
                    _scratch[i]?.Dispose();
                    _scratch[i] = _accelerator.Allocate1D<float>(elements);
                }
                for (int k = 0; k < _operands.Length; k++)
                {
                    _operands[k]?.Dispose();
                    _operands[k] = _accelerator.Allocate1D<float>(elements);
                }
                _scratchElements = elements;
            }
            if (_operandCount > 0 && partials > _scratchPartials)
            {
                _partials?.Dispose();
                _partials = _accelerator.Allocate1D<double>(partials);
                _scratchPartials = partials;
            }
        }

        /// <summary>Tensor <paramref name="tensor"/>'s device view of schedule buffer <paramref name="buffer"/> (Numel floats).</summary>
        public ArrayView<float> View(int tensor, int buffer)
        {
            int ordinal = _schedule.KernelOrdinal(buffer);
            if (ordinal < 0)
                throw new ArgumentException($"{_schedule.Name}: buffer '{_schedule.Buffers[buffer].Name}' has no value per element; it is held by the executor", nameof(buffer));
            return ViewOf(tensor, ordinal).SubView(0, Math.Max(1, _shapes[tensor].Numel));
        }

        private ArrayView<float> ViewOf(int tensor, int ordinal) => (_tensorOwned[ordinal] ? _tensors[tensor][ordinal] : _scratch[ordinal])!.View;

        /// <summary>Copies host data into tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> (the parameter, the gradient or an element state, by name): Numel floats.</summary>
        public void Upload(int tensor, string buffer, ReadOnlySpan<float> data)
        {
            int b = ElementBufferNamed(tensor, buffer, data.Length);
            if (data.Length == 0) return;
            View(tensor, b).SubView(0, data.Length).CopyFromCPU(_stream, data);
            _stream.Synchronize(); // the caller may reuse its memory at once
        }

        /// <summary>Copies tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> to the host (Numel floats).</summary>
        public void Download(int tensor, string buffer, Span<float> data)
        {
            int b = ElementBufferNamed(tensor, buffer, data.Length);
            if (data.Length == 0) return;
            View(tensor, b).SubView(0, data.Length).CopyToCPU(_stream, data);
            _stream.Synchronize();
        }

        private int ElementBufferNamed(int tensor, string name, int length)
        {
            if ((uint)tensor >= (uint)_shapes.Length) throw new ArgumentOutOfRangeException(nameof(tensor), tensor, $"the backend holds {_shapes.Length} tensor(s)");
            int b = _schedule.BufferNamed(name);
            if (b < 0 || _schedule.Buffers[b].Shape != StateShape.Element)
            {
                var names = _schedule.KernelBuffers.Where(x => _schedule.Buffers[x].IsProgramBuffer).Select(x => _schedule.Buffers[x].Name);
                throw new ArgumentException(b < 0
                    ? $"{_schedule.Name} has no buffer '{name}' (its element buffers: {string.Join(", ", names)})"
                    : $"'{name}' is a {_schedule.Buffers[b].Shape.ToString().ToLowerInvariant()} state of {_schedule.Name}, held by the executor, not the device", nameof(name));
            }
            long numel = _shapes[tensor].Numel;
            if (length != numel) throw new ArgumentException($"'{name}' holds {numel} elements, got {length}", nameof(name));
            return b;
        }

        public void BeginWave(int first, int end) { }

        public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step)
        {
            // Newton–Schulz and Shampoo on the host: the temporary down, through MatrixPasses, and back up.
            int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols), n = checked(rows * cols);
            if (n == 0) return;
            long start = Stopwatch.GetTimestamp();
            var source = ViewOf(tensor, _schedule.KernelOrdinal(matrix.Source)).SubView(0, n);
            if (_hostMatrixScratch.Length < n) _hostMatrixScratch = new float[n]; // once per larger tensor
            var host = _hostMatrixScratch.AsSpan(0, n);
            source.CopyToCPU(_stream, host);
            _stream.Synchronize();
            if (matrix.Op == MatrixOp.Orthogonalize) _hostMatrix!.Orthogonalize(host, rows, cols);
            else _hostMatrix!.Precondition(host, rows, cols, step, _tensorKeys[tensor]);
            source.CopyFromCPU(_stream, (ReadOnlySpan<float>)host);
            _stream.Synchronize();
            HostMatrixSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
            HostMatrixBytes += 2L * sizeof(float) * n;
        }

        public void RunPass(PassProgram pass, int first, int end, PassArguments args)
        {
            var kernel = _passKernels[pass.Index];
            var launch = _passArgs[pass.Index];
            int R = pass.Reductions.Count;
            for (int t = first; t < end; t++)
            {
                int n = checked((int)args.Shapes[t].Numel);
                if (n == 0) continue; // nothing to launch, no partials
                int a = 0;
                for (int i = 0; i < _kernelBuffers.Length; i++) launch[a++] = ViewOf(t, i);
                for (int k = 0; k < R; k++) launch[a++] = _operands[k]!.View.AsContiguous();
                launch[a] = _kernels.Pack(args.Uniforms, t * args.UniformCount);
                kernel.Launch(_stream, n, launch);
                if (R == 0) continue;
                int blocks = checked((int)Reduction.BlockCount(n));
                for (int k = 0; k < R; k++)
                {
                    _reduceArgs[0] = _operands[k]!.View.AsContiguous();
                    _reduceArgs[1] = _partials!.View.AsContiguous();
                    _reduceArgs[2] = n;
                    _reduceArgs[3] = R;
                    _reduceArgs[4] = k;
                    _reduceArgs[5] = pass.Reductions[k].IsMax ? 1 : 0;
                    _blockReduce.Launch(_stream, blocks, _reduceArgs);
                }
                // Block-major (block · R + reduction), as the executor lays partials out.
                var target = args.Partials.AsSpan(checked((int)args.PartialOffset[t]), blocks * R);
                _partials!.View.AsContiguous().SubView(0, blocks * R).CopyToCPU(_stream, target);
                _stream.Synchronize(); // the executor folds them next
            }
        }

        public void EndStep() => _stream.Synchronize();

        public void Dispose()
        {
            foreach (var tensor in _tensors) if (tensor != null) foreach (var b in tensor) b?.Dispose();
            foreach (var b in _scratch) b?.Dispose();
            foreach (var b in _operands) b?.Dispose();
            _partials?.Dispose();
        }
    }
}
