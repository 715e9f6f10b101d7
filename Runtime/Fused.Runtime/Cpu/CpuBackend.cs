using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.Cpu
{
    /// <summary>
    /// Element state kept below float32 (bf16, 8-bit): the owner widens a chunk into float32 scratch before a kernel
    /// reads it and narrows the chunk back after the kernel wrote it. State k counts the element states in kernel order.
    /// </summary>
    public interface ILowPrecisionStates
    {
        /// <summary>Elements [element, element + wide.Length) of element state k of tensor t, as float32.</summary>
        void Widen(int t, int k, long element, Span<float> wide);

        /// <summary>Stores <paramref name="wide"/> into element state k of tensor t from <paramref name="element"/> on, at <paramref name="step"/>.</summary>
        void Narrow(int t, int k, long element, ReadOnlySpan<float> wide, long step);

        /// <summary>Whether the states are bfloat16 narrowed by stochastic rounding (then kernels can convert them in registers).</summary>
        bool AreBFloat16 { get; }

        /// <summary>Base of element state k of tensor t as bfloat16 values (<see cref="AreBFloat16"/> only).</summary>
        nint BFloat16State(int t, int k);

        /// <summary>The stochastic-rounding stream <see cref="Narrow"/> uses for element state k of tensor t at <paramref name="step"/>.</summary>
        Precision.CounterRngKey RoundingKey(int t, int k, long step);

        /// <summary>The rounding counter of tensor t's element 0 (<see cref="KernelBuffers.RoundingBase"/>): non-zero for a piece of a parameter.</summary>
        long RoundingBase(int t);
    }

    /// <summary>
    /// The CPU backend: tensors' float32 buffers are the caller's memory (pointers), element passes run generated kernels
    /// (or the interpreter) over units of <see cref="UnitElements"/> on the pinned <see cref="WorkerPool"/> — a wave's
    /// tensors in one dispatch, row-wise passes over (row group, column chunk) units of every tensor of the wave — with
    /// whole reduction blocks per unit, so results never depend on the thread count. Temporaries and ColSum scratch are
    /// pooled per wave. bfloat16 element states are converted inside the generated kernels (<see cref="FusedRule.RunPassBFloat16"/>:
    /// no scratch, the same bits); the rest — 8-bit states, row-wise passes, rules without bf16 kernels (built at run time),
    /// or <see cref="KernelDispatch.BFloat16InKernel"/> off — go through <see cref="ILowPrecisionStates"/> in stack-sized chunks.
    /// Steady-state steps allocate nothing.
    /// </summary>
    public sealed unsafe class CpuBackend : IScheduleBackend, IDisposable
    {
        /// <summary>Elements per unit of work of a flat pass: whole reduction blocks.</summary>
        public const int UnitElements = 4 * Reduction.BlockSize;

        /// <summary>Below this many elements in a wave a pass runs on the calling thread alone.</summary>
        public const int ParallelThreshold = 1 << 15;

        /// <summary>Most units one kernel call covers (its length stays an int).</summary>
        private const int MaxUnitsPerCall = (1 << 30) / UnitElements;

        /// <summary>Skew between low-precision scratch slices (floats): avoids 4K aliasing between states.</summary>
        private const int ScratchSkew = 16;

        private readonly KernelSchedule _schedule;
        private readonly IPassKernels _kernels;
        private readonly WorkerPool _pool;
        private readonly MatrixPasses _matrix;
        private readonly ILowPrecisionStates? _lowPrecision;
        private readonly int _scratchElements;
        private readonly RowWiseUnits _rowWise;
        private readonly int K;                       // kernel buffers per tensor
        private readonly int[] _stateOf;              // per ordinal: element state k, or -1
        private readonly int[] _tempOrdinals, _operandOrdinals, _columnOrdinals;
        private readonly bool[][] _loads, _stores;    // [pass][ordinal]
        private readonly FusedRule? _bf16Kernels;     // the rule, when its kernels take bf16 states and the states are bf16
        private Precision.CounterRngKey[] _keys = Array.Empty<Precision.CounterRngKey>(); // t·S + k: this pass's rounding streams
        private PassPrecision[]? _inputs;             // per tensor: bf16 gradient, bf16 parameter copy (SetInputs), or null
        private nint[] _copies = Array.Empty<nint>(); // per tensor: its parameter copy's base, or 0

        private ShapeInfo[] _shapes = Array.Empty<ShapeInfo>();
        private nint[] _table = Array.Empty<nint>();  // t·K + ordinal; pinned
        private long[] _tensorKeys = Array.Empty<long>();
        private Memory<float>[] _parameterMemory = Array.Empty<Memory<float>>();
        private int[] _firstUnit = Array.Empty<int>();      // flat units: tensor t's are [_firstUnit[t], _firstUnit[t + 1])
        private int[] _firstRowUnit = Array.Empty<int>();   // row-wise units likewise
        private int[] _unitTensor = Array.Empty<int>(), _rowUnitTensor = Array.Empty<int>();
        private AlignedBuffer<float>?[] _temps;              // per temporary: the wave's pool, each tensor's part on a line boundary
        private float[][] _operands;                         // per ColSum operand: the wave's groups × cols scratch
        private double[][] _accumulators;                    // per ColSum of a pass (index k): the wave's groups × cols
        private long[] _accumulatorOffset = Array.Empty<long>();
        private double[] _foldScratch = new double[Reduction.MaxRowGroups];
        private float[][] _wide;                             // low precision row-wise: per element state, one tensor
        private GCHandle[] _columnHandles = Array.Empty<GCHandle>(); // t·C + c: tensor t's column values, pinned while a row-wise pass runs

        /// <summary>The CPU backend of one parameter group: runs <paramref name="schedule"/>'s passes with <paramref name="kernels"/> over <paramref name="pool"/>'s pinned workers and its matrix steps with <paramref name="matrix"/>.</summary>
        public CpuBackend(KernelSchedule schedule, IPassKernels kernels, WorkerPool pool, MatrixPasses matrix,
            long waveElements = 0, ILowPrecisionStates? lowPrecision = null, int scratchElements = 2048)
        {
            _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
            _kernels = kernels ?? throw new ArgumentNullException(nameof(kernels));
            _pool = pool ?? throw new ArgumentNullException(nameof(pool));
            _matrix = matrix ?? throw new ArgumentNullException(nameof(matrix));
            _lowPrecision = lowPrecision;
            _scratchElements = Math.Max(Reduction.BlockSize, scratchElements);
            WaveElements = waveElements;
            _rowWise = new RowWiseUnits(schedule);
            var ordinals = schedule.KernelBuffers;
            K = ordinals.Count;
            _stateOf = new int[K];
            int states = 0;
            var temps = new List<int>();
            var operands = new List<int>();
            var columns = new List<int>();
            for (int i = 0; i < K; i++)
            {
                var decl = schedule.Buffers[ordinals[i]];
                _stateOf[i] = decl.Kind == BufferKind.State && decl.Shape == StateShape.Element ? states++ : -1;
                if (decl.Kind == BufferKind.Temp) temps.Add(i);
                else if (decl.Kind == BufferKind.ColumnSumOperand) operands.Add(i);
                else if (decl.Kind == BufferKind.Column) columns.Add(i);
            }
            ElementStateCount = states;
            _tempOrdinals = temps.ToArray();
            _operandOrdinals = operands.ToArray();
            _columnOrdinals = columns.ToArray();
            _temps = new AlignedBuffer<float>?[temps.Count];
            _operands = operands.Select(_ => Array.Empty<float>()).ToArray();
            _accumulators = new double[schedule.Passes.Max(p => (int?)p.ColumnSums.Count) ?? 0][];
            for (int k = 0; k < _accumulators.Length; k++) _accumulators[k] = Array.Empty<double>();
            _wide = new float[lowPrecision == null || !schedule.Passes.Any(p => p.RowWise) ? 0 : states][]; // row-wise passes widen whole tensors
            for (int k = 0; k < _wide.Length; k++) _wide[k] = Array.Empty<float>();
            _loads = schedule.Passes.Select(p => ordinals.Select(b => p.LoadsBuffer(b)).ToArray()).ToArray();
            _stores = schedule.Passes.Select(p => ordinals.Select(b => p.StoresBuffer(b)).ToArray()).ToArray();
            if (lowPrecision is { AreBFloat16: true } && kernels is FusedRule { HasBFloat16StateKernels: true } rule) _bf16Kernels = rule;
        }

        /// <inheritdoc/>
        public long WaveElements { get; }

        /// <summary>Element states (kernel order) of one tensor.</summary>
        public int ElementStateCount { get; }

        /// <summary>The pinned worker pool the passes run on.</summary>
        public WorkerPool Pool => _pool;

        /// <summary>Scratch held between steps: the largest wave's temporaries and ColSum scratch, widened low-precision states.</summary>
        public long ScratchBytes =>
            4L * _temps.Sum(a => (long)(a?.Length ?? 0)) + 4L * _operands.Sum(a => (long)a.Length) + 8L * _accumulators.Sum(a => (long)a.Length) + 4L * _wide.Sum(a => (long)a.Length);
        /// <summary>The matrix passes (Newton–Schulz, Shampoo) this backend runs matrix steps with.</summary>
        public MatrixPasses Matrix => _matrix;

        /// <summary>Kernel ordinal of element state k (for the owner to find its pointer slot).</summary>
        public int OrdinalOfState(int k) => Array.IndexOf(_stateOf, k);

        /// <summary>
        /// The tensors to step. <paramref name="pointers"/> holds, per tensor, <see cref="KernelSchedule.KernelBuffers"/>.Count
        /// entries: the float32 memory of each program buffer with one value per element (parameter, gradient, float32 element
        /// states), 0 for low-precision states and for the backend's own buffers (temporaries, column values, ColSum scratch).
        /// Shampoo statistics are keyed by <paramref name="tensorKeys"/> (or, where a key is negative, by the parameter memory).
        /// </summary>
        public void SetTensors(IReadOnlyList<ShapeInfo> shapes, ReadOnlySpan<nint> pointers, ReadOnlySpan<long> tensorKeys, ReadOnlySpan<Memory<float>> parameterMemory = default)
        {
            int T = shapes.Count;
            if (pointers.Length != T * K) throw new ArgumentException($"{_schedule.Name}: expected {T * K} buffer pointers, got {pointers.Length}", nameof(pointers));
            bool sameShapes = T == _shapes.Length;
            for (int t = 0; sameShapes && t < T; t++) sameShapes = shapes[t].Numel == _shapes[t].Numel && shapes[t].Cols == _shapes[t].Cols;
            if (!sameShapes)
            {
                _shapes = shapes.ToArray();
                _table = GC.AllocateArray<nint>(Math.Max(1, T * K), pinned: true);
                _tensorKeys = new long[T];
                _parameterMemory = new Memory<float>[T];
                _firstUnit = new int[T + 1];
                _firstRowUnit = new int[T + 1];
                var unitTensor = new List<int>();
                var rowUnitTensor = new List<int>();
                for (int t = 0; t < T; t++)
                {
                    var shape = _shapes[t];
                    int units = checked((int)((shape.Numel + UnitElements - 1) / UnitElements));
                    for (int u = 0; u < units; u++) unitTensor.Add(t);
                    _firstUnit[t + 1] = unitTensor.Count;
                    if (_schedule.HasVectors && shape.Numel > 0)
                        for (int u = RowWiseUnits.UnitCount(shape); u > 0; u--) rowUnitTensor.Add(t);
                    _firstRowUnit[t + 1] = rowUnitTensor.Count;
                }
                _unitTensor = unitTensor.ToArray();
                _rowUnitTensor = rowUnitTensor.ToArray();
                _accumulatorOffset = new long[T];
                _columnHandles = new GCHandle[T * _columnOrdinals.Length];
                _keys = new Precision.CounterRngKey[T * ElementStateCount];
                long largest = T == 0 ? 0 : _shapes.Max(s => s.Numel);
                for (int k = 0; k < _wide.Length; k++)
                    if (_wide[k].Length < largest) _wide[k] = GC.AllocateArray<float>(checked((int)largest), pinned: true);
                if (_schedule.HasVectors)
                {
                    int groups = T == 0 ? 0 : _shapes.Max(RowWiseUnits.GroupCount);
                    if (_foldScratch.Length < groups) _foldScratch = new double[groups];
                }
            }
            pointers.CopyTo(_table);
            if (_bf16Kernels != null)
                for (int t = 0; t < T; t++)
                    for (int i = 0; i < K; i++)
                        if (_stateOf[i] >= 0) _table[t * K + i] = _lowPrecision!.BFloat16State(t, _stateOf[i]); // the bf16 kernels' state bases
            tensorKeys.CopyTo(_tensorKeys);
            if (!parameterMemory.IsEmpty) parameterMemory.CopyTo(_parameterMemory);
        }

        /// <summary>
        /// Per tensor of <see cref="SetTensors"/>: whether its gradient (kernel buffer 1) holds bfloat16 values and whether the
        /// kernels write its parameter's bfloat16 copy at <paramref name="copies"/>[t]. Flat passes of generated rules only
        /// (<see cref="FusedRule.HasMixedPrecisionKernels"/>); the engine refuses the rest when it builds.
        /// </summary>
        public void SetInputs(PassPrecision[] inputs, nint[] copies)
        {
            if (inputs.Length != _shapes.Length || copies.Length != _shapes.Length) throw new ArgumentException($"{_schedule.Name}: expected {_shapes.Length} tensors' inputs");
            if (_kernels is not FusedRule { HasMixedPrecisionKernels: true } || _schedule.Passes.Any(p => p.RowWise))
                throw new NotSupportedException($"{_schedule.Name}: bfloat16 gradients and parameter copies need generated kernels and no row-wise passes");
            _inputs = inputs;
            _copies = copies;
        }

        /// <summary>Points tensor t's kernel buffer <paramref name="ordinal"/> at <paramref name="pointer"/> (e.g. a new gradient).</summary>
        public void SetPointer(int t, int ordinal, nint pointer) => _table[t * K + ordinal] = pointer;

        /// <inheritdoc/>
        public void BeginWave(int first, int end)
        {
            long elements = 0, operandFloats = 0, accumulatorDoubles = 0;
            for (int t = first; t < end; t++)
            {
                elements += LinePadded(_shapes[t].Numel);
                if (_operandOrdinals.Length > 0 || _accumulators.Length > 0)
                {
                    _accumulatorOffset[t] = accumulatorDoubles;
                    accumulatorDoubles += RowWiseUnits.AccumulatorLength(_shapes[t]);
                }
            }
            operandFloats = accumulatorDoubles;
            for (int k = 0; k < _temps.Length; k++)
                if ((_temps[k]?.Length ?? 0) < elements)
                {
                    _temps[k]?.Dispose(); // once per larger wave
                    _temps[k] = new AlignedBuffer<float>(elements);
                }
            for (int k = 0; k < _operands.Length; k++)
                if (_operands[k].Length < operandFloats) _operands[k] = GC.AllocateUninitializedArray<float>(checked((int)operandFloats), pinned: true);
            for (int k = 0; k < _accumulators.Length; k++)
                if (_accumulators[k].Length < accumulatorDoubles) _accumulators[k] = GC.AllocateUninitializedArray<double>(checked((int)accumulatorDoubles), pinned: true);
            long offset = 0;
            for (int t = first; t < end; t++)
            {
                for (int k = 0; k < _tempOrdinals.Length; k++) _table[t * K + _tempOrdinals[k]] = (nint)(_temps[k]!.Pointer + offset);
                for (int k = 0; k < _operandOrdinals.Length; k++)
                    fixed (float* p = _operands[k]) _table[t * K + _operandOrdinals[k]] = (nint)(p + _accumulatorOffset[t]);
                offset += LinePadded(_shapes[t].Numel);
            }
        }

        /// <summary>Floats of a tensor's part of a temporary pool: its elements rounded up to whole cache lines, so every part starts on a line like its parameter's states do.</summary>
        private static long LinePadded(long numel) => (numel + FloatsPerLine - 1) / FloatsPerLine * FloatsPerLine;

        private const int FloatsPerLine = KernelDispatch.CacheLineBytes / sizeof(float);

        /// <summary>Frees the temporaries' native memory (the backend must not run again).</summary>
        public void Dispose()
        {
            for (int k = 0; k < _temps.Length; k++) { _temps[k]?.Dispose(); _temps[k] = null; }
        }

        /// <summary>Tensor t's float32 view of kernel buffer <paramref name="ordinal"/> (its memory, or a temporary of the current wave).</summary>
        public Span<float> BufferOf(int t, int ordinal) => new Span<float>((void*)_table[t * K + ordinal], checked((int)_shapes[t].Numel));

        /// <inheritdoc/>
        public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step)
        {
            var source = BufferOf(tensor, _schedule.KernelOrdinal(matrix.Source));
            int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols);
            if (matrix.Op == MatrixOp.Orthogonalize) _matrix.Orthogonalize(source, rows, cols);
            else if (_tensorKeys[tensor] >= 0) _matrix.Precondition(source, rows, cols, step, _tensorKeys[tensor]);
            else _matrix.Precondition(source, rows, cols, step, _parameterMemory[tensor]);
        }

        /// <inheritdoc/>
        public void RunPass(PassProgram pass, int first, int end, PassArguments args)
        {
            long elements = 0;
            for (int t = first; t < end; t++) elements += _shapes[t].Numel;
            bool inline = elements < ParallelThreshold || _pool.DegreeOfParallelism == 1;
            fixed (float* uniforms = args.Uniforms)
            fixed (double* partials = args.Partials)
            fixed (long* partialOffset = args.PartialOffset)
            {
                var context = new PassContext(this, pass, args, uniforms, partials, partialOffset);
                if (!pass.RowWise)
                {
                    // With bf16 gradients or copies the kernels must convert the states too: the scratch path reads float32 gradients.
                    bool bf16 = _bf16Kernels != null && (KernelDispatch.BFloat16InKernel || _inputs != null);
                    if (bf16)
                        for (int t = first; t < end; t++)
                            for (int k = 0; k < ElementStateCount; k++) _keys[t * ElementStateCount + k] = _lowPrecision!.RoundingKey(t, k, args.Step);
                    var work = new UnitWork(context, _firstUnit[first], rowWise: false, bf16);
                    long units = _firstUnit[end] - _firstUnit[first];
                    // Virtual length units·64: the pool's 64-aligned chunk boundaries fall on unit boundaries, grain 1 unit.
                    if (inline) work.Execute(0, units * WorkerPool.ChunkAlignment);
                    else _pool.Run(ref work, units * WorkerPool.ChunkAlignment, grain: WorkerPool.ChunkAlignment);
                    return;
                }
                if (_lowPrecision == null) RunRowWise(context, first, end, inline);
                else
                    for (int t = first; t < end; t++) RunRowWiseLowPrecision(context, t, args.Step, inline);
            }
        }

        /// <summary>A row-wise pass over tensors [first, end), float32 state: every tensor's units in one dispatch.</summary>
        private void RunRowWise(in PassContext context, int first, int end, bool inline)
        {
            var pass = context.Pass;
            int sums = pass.ColumnSums.Count;
            try
            {
                for (int t = first; t < end; t++)
                {
                    PinColumns(t, context.Args.Vectors[t]!); // every tensor's until the pass ends: the kernels write through raw pointers
                    for (int k = 0; k < sums; k++) new Span<double>(_accumulators[k], (int)_accumulatorOffset[t], (int)RowWiseUnits.AccumulatorLength(_shapes[t])).Clear();
                }
                var work = new UnitWork(context, _firstRowUnit[first], rowWise: true, bf16: false);
                long units = _firstRowUnit[end] - _firstRowUnit[first];
                if (inline) work.Execute(0, units * WorkerPool.ChunkAlignment);
                else _pool.Run(ref work, units * WorkerPool.ChunkAlignment, grain: WorkerPool.ChunkAlignment);
            }
            finally { UnpinColumns(first, end); }
            for (int t = first; t < end; t++) FoldColumnSums(pass, t, context.Args.Vectors[t]!);
        }

        /// <summary>A row-wise pass over one tensor whose element states are below float32: whole states widened first, narrowed after.</summary>
        private void RunRowWiseLowPrecision(in PassContext context, int t, long step, bool inline)
        {
            var pass = context.Pass;
            int n = checked((int)_shapes[t].Numel);
            var saved = stackalloc nint[K];
            for (int i = 0; i < K; i++) saved[i] = _table[t * K + i];
            for (int i = 0; i < K; i++)
            {
                int k = _stateOf[i];
                if (k < 0) continue;
                fixed (float* wide = _wide[k]) _table[t * K + i] = (nint)wide;
                if (_loads[pass.Index][i]) _lowPrecision!.Widen(t, k, 0, _wide[k].AsSpan(0, n));
            }
            try { RunRowWise(context, t, t + 1, inline); }
            finally { for (int i = 0; i < K; i++) _table[t * K + i] = saved[i]; }
            for (int i = 0; i < K; i++)
            {
                int k = _stateOf[i];
                if (k >= 0 && _stores[pass.Index][i]) _lowPrecision!.Narrow(t, k, 0, _wide[k].AsSpan(0, n), step);
            }
        }

        private void PinColumns(int t, VectorValues vectors)
        {
            int C = _columnOrdinals.Length;
            for (int c = 0; c < C; c++)
            {
                int ordinal = _columnOrdinals[c];
                ref var handle = ref _columnHandles[t * C + c];
                if (!handle.IsAllocated) handle = GCHandle.Alloc(vectors.Array(_schedule.Buffers[_schedule.KernelBuffers[ordinal]].Vector), GCHandleType.Pinned);
                _table[t * K + ordinal] = handle.AddrOfPinnedObject();
            }
        }

        private void UnpinColumns(int first, int end)
        {
            for (int i = first * _columnOrdinals.Length; i < end * _columnOrdinals.Length; i++)
                if (_columnHandles[i].IsAllocated) _columnHandles[i].Free();
        }

        private void FoldColumnSums(PassProgram pass, int t, VectorValues vectors)
        {
            var shape = _shapes[t];
            for (int k = 0; k < pass.ColumnSums.Count; k++)
            {
                var target = vectors.Values(pass.ColumnSums[k].Vector);
                if (shape.Numel == 0) { target.Clear(); continue; }
                var accumulators = new ReadOnlySpan<double>(_accumulators[k], (int)_accumulatorOffset[t], (int)RowWiseUnits.AccumulatorLength(shape));
                RowWiseUnits.FoldColumnSums(shape, accumulators, target, _foldScratch);
            }
        }

        /// <inheritdoc/>
        public void EndStep() { }

        // ---------------- units ----------------

        private readonly struct PassContext
        {
            public readonly CpuBackend Backend;
            public readonly PassProgram Pass;
            public readonly PassArguments Args;
            public readonly float* Uniforms;
            public readonly double* Partials;
            public readonly long* PartialOffset;

            public PassContext(CpuBackend backend, PassProgram pass, PassArguments args, float* uniforms, double* partials, long* partialOffset)
            {
                Backend = backend;
                Pass = pass;
                Args = args;
                Uniforms = uniforms;
                Partials = partials;
                PartialOffset = partialOffset;
            }
        }

        private readonly struct UnitWork : IRangeWork
        {
            private readonly PassContext _context;
            private readonly int _firstUnit;
            private readonly bool _rowWise, _bf16;

            public UnitWork(in PassContext context, int firstUnit, bool rowWise, bool bf16)
            {
                _context = context;
                _firstUnit = firstUnit;
                _rowWise = rowWise;
                _bf16 = bf16;
            }

            /// <summary>[start, end) counts units × <see cref="WorkerPool.ChunkAlignment"/>.</summary>
            public void Execute(long start, long end)
            {
                int first = _firstUnit + (int)(start / WorkerPool.ChunkAlignment);
                int last = _firstUnit + (int)((end + WorkerPool.ChunkAlignment - 1) / WorkerPool.ChunkAlignment);
                if (_rowWise) _context.Backend.ExecuteRowUnits(_context, first, last);
                else if (_context.Backend._lowPrecision == null || _bf16 || _context.Backend._inputs != null) _context.Backend.ExecuteUnits(_context, first, last, _bf16);
                else _context.Backend.ExecuteUnitsLowPrecision(_context, first, last);
            }
        }

        /// <summary>Flat units over the tensors' own memory: float32 states, or (<paramref name="bf16"/>) bf16 states the kernels convert.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ExecuteUnits(in PassContext c, int firstUnit, int endUnit, bool bf16)
        {
            int U = c.Args.UniformCount, R = c.Pass.Reductions.Count, index = c.Pass.Index, S = ElementStateCount;
            fixed (nint* table = _table)
            {
                // A chunk's consecutive units of one tensor are one kernel call: the units only balance load, and a call
                // per 4096 elements cost a measurable share of a memory-bound step. Partials stay per block either way.
                for (int u = firstUnit; u < endUnit;)
                {
                    int t = _unitTensor[u];
                    int last = Math.Min(endUnit, _firstUnit[t + 1]);
                    last = Math.Min(last, u + MaxUnitsPerCall);
                    long start = (long)(u - _firstUnit[t]) * UnitElements;
                    int count = (int)Math.Min((long)(last - u) * UnitElements, _shapes[t].Numel - start);
                    var partials = R == 0 ? default : new Span<double>(c.Partials + c.PartialOffset[t] + start / Reduction.BlockSize * R, (int)Reduction.BlockCount(count) * R);
                    var uniforms = new ReadOnlySpan<float>(c.Uniforms + t * U, U);
                    if (_inputs != null)
                        ((FusedRule)_kernels).RunPass(index, uniforms, new KernelBuffers(table + t * K, K, start, count, bf16 ? _lowPrecision!.RoundingBase(t) : 0, _copies[t]),
                            _inputs[t] | (bf16 ? PassPrecision.BFloat16State : 0), bf16 ? new ReadOnlySpan<Precision.CounterRngKey>(_keys, t * S, S) : default, partials);
                    else if (bf16) _bf16Kernels!.RunPassBFloat16(index, uniforms, new KernelBuffers(table + t * K, K, start, count, _lowPrecision!.RoundingBase(t)), new ReadOnlySpan<Precision.CounterRngKey>(_keys, t * S, S), partials);
                    else _kernels.RunPass(index, uniforms, new KernelBuffers(table + t * K, K, start, count), partials);
                    u = last;
                }
            }
        }

        /// <summary>
        /// Low-precision state: per chunk (whole reduction blocks when the pass reduces), widen the states the pass loads into
        /// float32 scratch on the stack, run the kernel, narrow the states it stores.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ExecuteUnitsLowPrecision(in PassContext c, int firstUnit, int endUnit)
        {
            int U = c.Args.UniformCount, R = c.Pass.Reductions.Count, index = c.Pass.Index, S = ElementStateCount;
            int chunk = R == 0 ? _scratchElements : Math.Max(Reduction.BlockSize, _scratchElements / Reduction.BlockSize * Reduction.BlockSize);
            int stride = chunk + ScratchSkew;
            float* scratch = stackalloc float[Math.Max(1, S * stride)];
            nint* row = stackalloc nint[K];
            bool[] loads = _loads[index], stores = _stores[index];
            long step = c.Args.Step;
            for (int u = firstUnit; u < endUnit; u++)
            {
                int t = _unitTensor[u];
                long start = (long)(u - _firstUnit[t]) * UnitElements;
                int count = (int)Math.Min(UnitElements, _shapes[t].Numel - start);
                var uniforms = new ReadOnlySpan<float>(c.Uniforms + t * U, U);
                for (int offset = 0; offset < count; offset += chunk)
                {
                    int n = Math.Min(chunk, count - offset);
                    long element = start + offset;
                    for (int i = 0; i < K; i++)
                    {
                        int k = _stateOf[i];
                        if (k < 0) { row[i] = (nint)((float*)_table[t * K + i] + element); continue; }
                        row[i] = (nint)(scratch + k * stride);
                        if (loads[i]) _lowPrecision!.Widen(t, k, element, new Span<float>(scratch + k * stride, n));
                    }
                    var partials = R == 0 ? default : new Span<double>(c.Partials + c.PartialOffset[t] + element / Reduction.BlockSize * R, (int)Reduction.BlockCount(n) * R);
                    _kernels.RunPass(index, uniforms, new KernelBuffers(row, K, 0, n), partials);
                    for (int i = 0; i < K; i++)
                    {
                        int k = _stateOf[i];
                        if (k >= 0 && stores[i]) _lowPrecision!.Narrow(t, k, element, new ReadOnlySpan<float>(scratch + k * stride, n), step);
                    }
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ExecuteRowUnits(in PassContext c, int firstUnit, int endUnit)
        {
            int U = c.Args.UniformCount, sums = c.Pass.ColumnSums.Count;
            float* copy = stackalloc float[Math.Max(1, U)];
            double** accumulators = stackalloc double*[Math.Max(1, sums)];
            fixed (nint* table = _table)
            {
                for (int u = firstUnit; u < endUnit; u++)
                {
                    int t = _rowUnitTensor[u];
                    // Per-row slots are written into the unit's own copy of the tensor's uniforms.
                    var uniforms = new Span<float>(copy, U);
                    new ReadOnlySpan<float>(c.Uniforms + t * U, U).CopyTo(uniforms);
                    for (int k = 0; k < sums; k++)
                        fixed (double* a = _accumulators[k]) accumulators[k] = a + _accumulatorOffset[t]; // pinned arrays
                    _rowWise.Run(_kernels, c.Pass, _shapes[t], u - _firstRowUnit[t], (IntPtr*)(table + t * K), (IntPtr*)(table + t * K),
                        uniforms, c.Args.Vectors[t]!, c.Partials + c.PartialOffset[t], accumulators);
                }
            }
        }
    }
}
