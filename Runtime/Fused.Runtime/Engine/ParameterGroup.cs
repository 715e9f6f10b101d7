using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;
using Fused.Runtime.Precision;
using Fused.Runtime.Schedules;

namespace Fused.Runtime.Engine
{
    /// <summary>
    /// The tensors one route sends to one rule, with their state, stepped by the rule's schedule through the
    /// <see cref="ScheduleExecutor"/> on a <see cref="CpuBackend"/>: tensors in waves, each pass one worker-pool dispatch
    /// over units of whole reduction blocks of every tensor of the wave (row/column rules too), reductions folded in the
    /// fixed order of <see cref="Reduction.FoldBlocks"/>, so results do not depend on the thread count. The group owns
    /// the element states (float32, bf16 or 8-bit); low-precision state is widened into float32 scratch chunks of
    /// <see cref="ScratchElements"/> on the worker's stack, the rule's float32 kernel runs on it, and stored states are
    /// narrowed back (<see cref="ILowPrecisionStates"/>). Scalar and row/column states live in the executor.
    /// </summary>
    internal sealed unsafe partial class ParameterGroup : ILowPrecisionStates, IDisposable
    {
        /// <summary>The device the group steps on — an OpenCL queue or a backend factory — and when parameters come back to the host.</summary>
        public sealed record Device(OpenCL.ClQueue? Queue, DeviceBackendFactory? Factory, ParameterDownload Download);

        /// <summary>Elements per unit of work (4 reduction blocks).</summary>
        public const int UnitElements = CpuBackend.UnitElements;

        /// <summary>
        /// Default elements per widened scratch chunk. Measured on the 2-core Zen 3 machine, bf16 AdamW over 32M
        /// parameters: 2048 about 15% faster than 512 (longer runs per stream for DRAM), about the same as 4096;
        /// cache-resident tensors run one core's compute about 15% faster at 512, a case not worth a second setting.
        /// </summary>
        public const int DefaultScratchElements = 2048;

        /// <summary>
        /// Default elements per wave (16M): enough to keep every worker streaming, and it bounds the float32
        /// temporaries a plan keeps between passes (C-AdamW's update, Muon's momentum copy) to 64 MB each — or the
        /// largest tensor — instead of 4 B per parameter of the whole group.
        /// </summary>
        public const long DefaultWaveElements = 1L << 24;

        /// <summary>Below this many elements in a wave a pass runs on the calling thread alone.</summary>
        public const int CpuParallelThreshold = CpuBackend.ParallelThreshold;

        /// <summary>Elements per wave of tensors (a wave holds at least one tensor).</summary>
        public long WaveElements { get; }

        /// <summary>Elements per widened scratch chunk (a multiple of the int8 block size; passes with reductions round it up to whole reduction blocks).</summary>
        public int ScratchElements { get; }

        private readonly FusedRule _rule;
        private readonly KernelSchedule _schedule;
        private readonly int _states;               // S: element states, in kernel order
        private readonly int[] _stateBufferIndex;   // schedule buffer of element state k
        private readonly int[] _stateOrdinal;       // kernel ordinal of element state k
        private readonly int _kernelBuffers;        // K
        private readonly int[] _parameterIndex;
        private readonly ShapeInfo[] _shapes;
        private readonly nint[] _pointers;          // t·K + ordinal: float32 memory (parameter, gradient, float32 states)
        private readonly AlignedBuffer<float>[] _f32;   // t·S + k; native, at the parameter's offset within a line
        private readonly AlignedBuffer<ushort>[] _bf16;
        private readonly byte[][] _codes;
        private readonly float[][] _scales;
        private readonly nint[] _statePointers;     // t·S + k: ushort* or byte* (low precision)
        private readonly nint[] _scalePointers;     // t·S + k: float* (int8)
        private readonly DynamicQuantizationMap[] _maps; // per state k
        private readonly int[] _vectorBuffers;      // schedule buffer of row/column state v
        private readonly CpuBackend? _backend;              // the CPU, or
        private readonly IDeviceBackend? _device;           // a device (parameters, gradients, element states there)
        private readonly OpenCL.ClRuleProgram? _deviceProgram;
        private readonly ParameterDownload _download;
        private bool _hostStatesStale;                      // device groups: states changed on the device since the last download
        private readonly ScheduleExecutor _executor;
        private readonly MatrixPasses? _matrix;             // Newton–Schulz and Shampoo's statistics (host)
        private ulong _seed;

        private readonly float[] _baseHypers;
        private readonly ISchedule?[] _absolute, _factor;

        public ParameterGroup(string name, FusedRule rule, GroupOptions options, IReadOnlyList<ParameterInfo> members, nint[] parameterPointers, nint[] gradientPointers,
            WorkerPool pool, int scratchElements = 0, long waveElements = 0, Device? device = null, bool journalAlways = false,
            Func<IScheduleBackend, IScheduleBackend>? wrapBackend = null, IReductionExchange? reductionExchange = null,
            PassPrecision[]? inputs = null, nint[]? copyPointers = null)
        {
            _journalAlways = journalAlways;
            Name = name;
            ScratchElements = scratchElements > 0 ? scratchElements : DefaultScratchElements;
            WaveElements = waveElements > 0 ? waveElements : DefaultWaveElements;
            _rule = rule;
            _schedule = rule.Schedule;
            Precision = options.Precision;
            _baseHypers = (float[])options.Hypers.Clone();
            _absolute = (ISchedule?[])options.AbsoluteSchedules.Clone();
            _factor = (ISchedule?[])options.FactorSchedules.Clone();
            Hypers = (float[])_baseHypers.Clone();
            Members = members.ToArray();

            var ordinals = _schedule.KernelBuffers;
            _kernelBuffers = ordinals.Count;
            if (_kernelBuffers < 2 || ordinals[0] != RuleProgram.ParamBuffer || ordinals[1] != RuleProgram.GradBuffer)
                throw new NotSupportedException($"{rule.Name}: expected the parameter and gradient as its first two kernel buffers");
            _stateOrdinal = Enumerable.Range(0, _kernelBuffers)
                .Where(i => _schedule.Buffers[ordinals[i]].Kind == BufferKind.State && _schedule.Buffers[ordinals[i]].Shape == StateShape.Element).ToArray();
            _stateBufferIndex = _stateOrdinal.Select(i => ordinals[i]).ToArray();
            _states = _stateBufferIndex.Length;
            _vectorBuffers = _schedule.VectorBuffers.ToArray();

            var program = rule.Program;
            var signs = new SignAnalysis(program);
            _maps = _stateBufferIndex.Select(b =>
            {
                var output = program.OutputOf(b);
                return output != null && signs.IsNonNegative(output) ? DynamicQuantizationMap.Unsigned : DynamicQuantizationMap.Signed;
            }).ToArray();

            int T = Members.Length, K = _kernelBuffers;
            _parameterIndex = Members.Select(m => m.Index).ToArray();
            _shapes = Members.Select(m => m.ShapeInfo).ToArray();
            _pointers = new nint[T * K];
            _f32 = new AlignedBuffer<float>[T * _states];
            _bf16 = new AlignedBuffer<ushort>[T * _states];
            _codes = new byte[T * _states][];
            _scales = new float[T * _states][];
            _statePointers = new nint[Math.Max(1, T * _states)];
            _scalePointers = new nint[Math.Max(1, T * _states)];
            if (device != null && Precision != StatePrecision.Float32)
                throw new ArgumentException($"group '{name}': OpenCL groups keep float32 state, not {Precision}", nameof(options));
            for (int t = 0; t < T; t++)
            {
                long n = Members[t].Numel;
                int p = Members[t].Index;
                _pointers[t * K + 0] = parameterPointers[p];
                _pointers[t * K + 1] = gradientPointers[p];
                for (int k = 0; k < _states; k++)
                {
                    int slot = t * _states + k;
                    switch (Precision)
                    {
                        case StatePrecision.Float32:
                            _f32[slot] = new AlignedBuffer<float>(n, ParameterLineOffset(parameterPointers[p]));
                            _pointers[t * K + _stateOrdinal[k]] = (nint)_f32[slot].Pointer;
                            break;
                        case StatePrecision.BFloat16:
                            _bf16[slot] = new AlignedBuffer<ushort>(n, ParameterLineOffset(parameterPointers[p]) / 2);
                            _statePointers[slot] = (nint)_bf16[slot].Pointer;
                            break;
                        default:
                            _codes[slot] = GC.AllocateArray<byte>((int)n, pinned: true);
                            _codes[slot].AsSpan().Fill(_maps[k].ZeroCode);
                            _scales[slot] = GC.AllocateArray<float>(BlockwiseInt8.BlockCount((int)n, FusedOptimizer.Int8BlockSize), pinned: true);
                            fixed (byte* c = _codes[slot]) _statePointers[slot] = (nint)c;
                            fixed (float* s = _scales[slot]) _scalePointers[slot] = (nint)s;
                            break;
                    }
                }
            }
            if (device != null)
            {
                _download = device.Download;
                if (device.Factory != null) _device = device.Factory(rule, options.NewtonSchulz, options.Shampoo);
                else
                {
                    _deviceProgram = new OpenCL.ClRuleProgram(rule, device.Queue!);
                    _device = new OpenCL.ClBackend(_deviceProgram, options.NewtonSchulz, options.Shampoo);
                }
                _executor = new ScheduleExecutor(_schedule, wrapBackend?.Invoke(_device) ?? _device, reductionExchange);
                _matrix = _device.HostMatrix;
                _executor.SetShapes(_shapes);
                _device.SetTensors(_shapes);
                UploadParameters(); // states start at zero on the device as on the host
                return;
            }
            var matrix = _matrix = new MatrixPasses(options.NewtonSchulz, options.Shampoo);
            _backend = new CpuBackend(_schedule, rule, pool, matrix, WaveElements, Precision == StatePrecision.Float32 ? null : this, ScratchElements);
            _executor = new ScheduleExecutor(_schedule, wrapBackend?.Invoke(_backend) ?? _backend, reductionExchange);
            _executor.SetShapes(_shapes);
            _backend.SetTensors(_shapes, _pointers, _parameterIndex.Select(i => (long)i).ToArray());
            if (inputs != null && _parameterIndex.Any(i => inputs[i] != PassPrecision.Float32)) // bf16 gradients, parameter copies (OptimizerBuilder checked the rule)
                _backend.SetInputs(_parameterIndex.Select(i => inputs[i]).ToArray(), _parameterIndex.Select(i => copyPointers![i]).ToArray());
            // Scratch for the largest wave now, so the memory report counts it before the first step.
            var waves = _executor.WaveStarts;
            for (int w = 0; w + 1 < waves.Count; w++) _backend.BeginWave(waves[w], waves[w + 1]);
        }

        /// <summary>
        /// Where a parameter starts within its cache line (bytes; 0 if not float-aligned): its states start there too (bf16
        /// ones at half of it), so the kernels' one scalar head, which aligns the parameter's stores, aligns every stream.
        /// </summary>
        private static int ParameterLineOffset(nint parameter)
        {
            int offset = (int)(parameter & (KernelDispatch.CacheLineBytes - 1));
            return offset % sizeof(float) == 0 ? offset : 0;
        }

        public string Name { get; }
        public FusedRule Rule => _rule;
        public StatePrecision Precision { get; }
        public ParameterInfo[] Members { get; }

        /// <summary>Hyperparameters used by the latest step (after schedules).</summary>
        public float[] Hypers { get; }
        public float[] BaseHypers => _baseHypers;
        public ISchedule?[] AbsoluteSchedules => _absolute;
        public ISchedule?[] FactorSchedules => _factor;

        public int ElementStateCount => _states;
        public int ScalarStateCount => _schedule.ScalarBuffers.Count;
        public IEnumerable<string> ElementStateNames => _stateBufferIndex.Select(b => _schedule.Buffers[b].Name);
        public IEnumerable<string> ScalarStateNames => _schedule.ScalarBuffers.Select(b => _schedule.Buffers[b].Name);
        /// <summary>Per-row and per-column states (float32 at every precision: Rows or Cols floats per tensor).</summary>
        public IEnumerable<string> VectorStateNames => _vectorBuffers.Select(b => _schedule.Buffers[b].Name);
        public int VectorStateCount => _vectorBuffers.Length;

        /// <summary>Float32 scratch the group holds between steps: the wave's temporaries and ColSum scratch, for
        /// low-precision row/column rules the widened states.</summary>
        public long ScratchBytes => _backend?.ScratchBytes ?? 0;

        /// <summary>Row (Rows floats) or column (Cols floats) state v of tensor t: the executor's memory.</summary>
        public float[] VectorState(int t, int v) => _executor.VectorState(t, _vectorBuffers[v]);
        /// <summary>Whether vector state v is per row (else per column).</summary>
        public bool IsRowState(int v) => _schedule.Buffers[_vectorBuffers[v]].Shape == StateShape.Row;
        public DynamicQuantizationMap MapOf(int k) => _maps[k];

        public int LocalIndexOf(int parameterIndex) => Array.IndexOf(_parameterIndex, parameterIndex);

        // ---- state access (checkpoints, inspection) ----
        public Memory<float> Float32State(int t, int k)
        {
            if (_hostStatesStale) DownloadStates();
            return _f32[t * _states + k].Memory;
        }
        public Memory<ushort> BFloat16State(int t, int k) => _bf16[t * _states + k].Memory;
        public byte[] Int8Codes(int t, int k) => _codes[t * _states + k];
        public float[] Int8Scales(int t, int k) => _scales[t * _states + k];
        public Span<float> Scalars(int t) => _executor.Scalars(t);

        /// <summary>Element state k of tensor t widened to float32.</summary>
        public void ReadState(int t, int k, Span<float> destination)
        {
            if (Precision == StatePrecision.Float32) Float32State(t, k).Span.CopyTo(destination);
            else WidenState(t, k, 0, destination.Slice(0, checked((int)Members[t].Numel)));
        }

        // ---- low-precision element state: the one place it is widened and narrowed ----

        /// <summary>Elements [element, element + wide.Length) of low-precision element state k of tensor t, as float32.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void WidenState(int t, int k, long element, Span<float> wide)
        {
            int slot = t * _states + k, n = wide.Length;
            if (Precision == StatePrecision.BFloat16) BFloat16.Widen(new ReadOnlySpan<ushort>((ushort*)_statePointers[slot] + element, n), wide);
            else BlockwiseInt8.Dequantize(new ReadOnlySpan<byte>((byte*)_statePointers[slot] + element, n), ScalesOf(_scalePointers[slot], element, n),
                wide, _maps[k], FusedOptimizer.Int8BlockSize);
        }

        /// <summary>Stores <paramref name="wide"/> into low-precision element state k of tensor t from <paramref name="element"/> on:
        /// bf16 by stochastic rounding with <paramref name="key"/>, 8-bit by blockwise quantisation (whole blocks).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void NarrowState(int t, int k, long element, ReadOnlySpan<float> wide, in CounterRngKey key)
        {
            int slot = t * _states + k, n = wide.Length;
            if (Precision == StatePrecision.BFloat16) BFloat16.NarrowStochastic(wide, new Span<ushort>((ushort*)_statePointers[slot] + element, n), key, Members[t].RandomOffset + element);
            else BlockwiseInt8.Quantize(wide, new Span<byte>((byte*)_statePointers[slot] + element, n), ScalesOf(_scalePointers[slot], element, n),
                _maps[k], FusedOptimizer.Int8BlockSize);
        }

        /// <summary>The stochastic-rounding key of element state k of tensor t at <paramref name="step"/>.</summary>
        private CounterRngKey RoundingKey(int t, int k, ulong seed, long step) => new CounterRngKey(seed, step, RandomStream(Members[t].RandomStream, _stateBufferIndex[k]));

        private static Span<float> ScalesOf(nint scales, long element, int n)
            => new Span<float>((float*)scales + element / FusedOptimizer.Int8BlockSize, BlockwiseInt8.BlockCount(n, FusedOptimizer.Int8BlockSize));

        /// <summary>Points the gradient slots at the given buffers (the caller's or the accumulation buffers).</summary>
        public void SetGradientPointers(nint[] gradientPointers)
        {
            for (int t = 0; t < _parameterIndex.Length; t++)
            {
                _pointers[t * _kernelBuffers + 1] = gradientPointers[_parameterIndex[t]];
                _backend?.SetPointer(t, 1, gradientPointers[_parameterIndex[t]]);
            }
        }

        /// <summary>
        /// One step of every tensor of the group with the hyperparameters of <see cref="PrepareHypers"/>. A failure is an
        /// <see cref="OptimizerStepException"/> naming the group and the tensor; what it left behind is undone only when
        /// the group journaled (<see cref="BeginJournal"/>) — the engine's caller rolls back.
        /// </summary>
        public void Step(long step, ulong seed)
        {
            if (_parameterIndex.Length == 0) return;
            _seed = seed;
            try
            {
                if (_device == null)
                {
                    _executor.Step(Hypers, step);
                    // The kernels ran over raw pointers into this group's native state buffers: the group (and so their
                    // finalizers) must outlive the step even when the caller holds the optimizer no longer.
                    GC.KeepAlive(this);
                    return;
                }
                for (int t = 0; t < _shapes.Length; t++)
                    _device.Upload(t, RuleProgram.GradBuffer, HostBuffer(t, 1));
                _executor.Step(Hypers, step);
                _hostStatesStale = true;
                if (_download == ParameterDownload.EveryStep) DownloadParameters();
            }
            catch (Exception e) when (e is not OptimizerStepException)
            {
                var (first, end, stage) = _executor.LastFailure;
                string? parameter = first >= 0 && end == first + 1 ? Members[first].Name : null;
                string where = first < 0 ? "" : end == first + 1 ? $", parameter '{Members[first].Name}'"
                    : $", parameters {string.Join(", ", Members[first..end].Select(m => $"'{m.Name}'"))}";
                string stageText = first < 0 ? "" : stage switch
                {
                    StepKind.Matrix => " in a matrix stage",
                    StepKind.Pass => " in an element pass",
                    StepKind.Vectors => " in a row/column stage",
                    _ => " in a uniform stage",
                };
                throw new OptimizerStepException(Name, parameter, step,
                    $"step {step} failed in group '{Name}' ({_rule.Name}{where}){stageText}: {e.Message}", e);
            }
        }

        // ---- device groups: the transfer points ----

        /// <summary>Tensor t's host memory of kernel buffer <paramref name="ordinal"/> (parameter 0, gradient 1).</summary>
        private Span<float> HostBuffer(int t, int ordinal) => new Span<float>((void*)_pointers[t * _kernelBuffers + ordinal], checked((int)_shapes[t].Numel));

        /// <summary>Device groups: every parameter from the device into its host memory.</summary>
        public void DownloadParameters()
        {
            if (_device == null) return;
            for (int t = 0; t < _shapes.Length; t++) _device.Download(t, RuleProgram.ParamBuffer, HostBuffer(t, 0));
        }

        /// <summary>Device groups: every parameter from its host memory to the device.</summary>
        public void UploadParameters()
        {
            if (_device == null) return;
            for (int t = 0; t < _shapes.Length; t++) _device.Upload(t, RuleProgram.ParamBuffer, HostBuffer(t, 0));
        }

        private void DownloadStates()
        {
            _hostStatesStale = false;
            for (int t = 0; t < _shapes.Length; t++)
                for (int k = 0; k < _states; k++) _device!.Download(t, _stateBufferIndex[k], _f32[t * _states + k].Span);
        }

        /// <summary>Device groups: parameters and element states to the host (before a checkpoint is written).</summary>
        public void SyncToHost()
        {
            if (_device == null) return;
            DownloadParameters();
            if (_hostStatesStale) DownloadStates();
        }

        /// <summary>Device groups: parameters and element states to the device (after a checkpoint was loaded into the host copies).</summary>
        public void SyncToDevice()
        {
            if (_device == null) return;
            UploadParameters();
            for (int t = 0; t < _shapes.Length; t++)
                for (int k = 0; k < _states; k++) _device.Upload(t, _stateBufferIndex[k], _f32[t * _states + k].Span);
            _hostStatesStale = false;
        }

        /// <summary>Whether the rule keeps Shampoo statistics per tensor (they go into checkpoints).</summary>
        public bool HasShampooState => _schedule.Matrices.Any(m => m.Op == MatrixOp.Precondition);

        /// <summary>Tensor t's Shampoo statistics (L, R and their inverse roots) and whether the roots were computed.</summary>
        public (float[][] Matrices, bool HasRoots) ShampooState(int t)
        {
            var (rows, cols) = MatrixSides(t);
            return _matrix!.ShampooStateOf(ShampooKey(t), rows, cols);
        }

        /// <summary>Replaces tensor t's Shampoo statistics (a checkpoint being loaded).</summary>
        public void RestoreShampooState(int t, IReadOnlyList<float[]> matrices, bool hasRoots)
        {
            var (rows, cols) = MatrixSides(t);
            _matrix!.RestoreShampooState(ShampooKey(t), rows, cols, matrices, hasRoots);
        }

        /// <summary>Rows and columns of tensor t viewed as a matrix (Shampoo's L is rows², R cols²).</summary>
        public (int Rows, int Cols) MatrixSides(int t) => (checked((int)_shapes[t].Rows), checked((int)_shapes[t].Cols));

        // The CPU backend keys Shampoo statistics by parameter index; a device backend by its own tensor keys.
        private long ShampooKey(int t) => _device?.MatrixKey(t) ?? _parameterIndex[t];

        /// <summary>Seconds and bytes a device group spent on host matrix passes (Shampoo's inverse roots); 0 on the CPU.</summary>
        public (double Seconds, long Bytes) HostMatrixCost => _device == null ? (0, 0) : (_device.HostMatrixSeconds, _device.HostMatrixBytes);

        public void Dispose()
        {
            _device?.Dispose();
            _deviceProgram?.Dispose();
            _backend?.Dispose();
            foreach (var b in _f32) b?.Dispose();
            foreach (var b in _bf16) b?.Dispose();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void ILowPrecisionStates.Widen(int t, int k, long element, Span<float> wide) => WidenState(t, k, element, wide);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void ILowPrecisionStates.Narrow(int t, int k, long element, ReadOnlySpan<float> wide, long step)
        {
            // The kernel's streams have pushed the state's lines out of L1 since they were widened; without this the
            // narrowing stores miss one line at a time (measured: bf16 AdamW 45 -> 37 ms, 8-bit 98 -> 69 ms per step
            // at 32M parameters on 2 threads).
            int width = Precision == StatePrecision.BFloat16 ? sizeof(ushort) : sizeof(byte);
            PrefetchLines((byte*)_statePointers[t * _states + k] + element * width, wide.Length * width);
            NarrowState(t, k, element, wide, RoundingKey(t, k, _seed, step));
        }

        bool ILowPrecisionStates.AreBFloat16 => Precision == StatePrecision.BFloat16;

        nint ILowPrecisionStates.BFloat16State(int t, int k) => Precision == StatePrecision.BFloat16 ? _statePointers[t * _states + k] : 0;

        CounterRngKey ILowPrecisionStates.RoundingKey(int t, int k, long step) => RoundingKey(t, k, _seed, step);

        long ILowPrecisionStates.RoundingBase(int t) => Members[t].RandomOffset;

        /// <summary>Brings the cache lines of [start, start + bytes) towards L1 (x86; elsewhere nothing).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void PrefetchLines(byte* start, int bytes)
        {
            if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
            for (int b = 0; b < bytes; b += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + b);
        }

        /// <summary>Stochastic-rounding stream of one state tensor: parameter index × 64 + the rule's buffer index.</summary>
        public static long RandomStream(int parameterIndex, int bufferIndex) => (long)parameterIndex * 64 + bufferIndex;

        /// <summary>
        /// <see cref="UpdateHypers"/> for the coming step, refusing a schedule's value that is not a finite float32 (an
        /// <see cref="OptimizerStepException"/> naming the group and hyperparameter; nothing has been written).
        /// </summary>
        public void PrepareHypers(long step)
        {
            UpdateHypers(step);
            for (int i = 0; i < Hypers.Length; i++)
            {
                if (float.IsFinite(Hypers[i])) continue;
                var schedule = (object?)_absolute[i] ?? _factor[i];
                string name = _rule.Hyperparameters[i].Name;
                throw new OptimizerStepException(Name, null, step,
                    $"step {step} not applied: group '{Name}' ({_rule.Name}) {name} is {Hypers[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} at this step ({schedule?.GetType().Name ?? "no schedule"}), not a finite float32",
                    new ArithmeticException($"{name} = {Hypers[i]}"));
            }
        }

        /// <summary>Hyperparameter values at <paramref name="step"/> (schedules applied) into <see cref="Hypers"/>.</summary>
        public void UpdateHypers(long step)
        {
            for (int i = 0; i < _baseHypers.Length; i++)
            {
                if (_absolute[i] != null) Hypers[i] = (float)_absolute[i]!.ValueAt(step);
                else if (_factor[i] != null) Hypers[i] = (float)(_baseHypers[i] * _factor[i]!.ValueAt(step));
                else Hypers[i] = _baseHypers[i];
            }
        }
    }
}
