using System;
using System.Collections.Generic;
using System.Linq;
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
    /// The tensors one route sends to one rule, with their state, and the executor that steps them: every tensor is
    /// cut into units of <see cref="UnitElements"/> (whole reduction blocks), and each pass level runs all units of
    /// all tensors of the group in one worker-pool dispatch. Uniforms are computed per tensor (they depend on the
    /// shape, the scalar states and the tensor's own reductions). Reductions write one partial per block and are
    /// folded per tensor in the fixed order of <see cref="Reduction.FoldBlocks"/>, so results do not depend on the
    /// thread count. Low-precision state is widened into a float32 scratch chunk of <see cref="ScratchElements"/>
    /// on the worker's stack, the rule's float32 kernel runs on it, and stored states are narrowed back.
    /// </summary>
    internal sealed unsafe class ParameterGroup
    {
        /// <summary>Elements per unit of work (4 reduction blocks).</summary>
        public const int UnitElements = 4 * Reduction.BlockSize;

        /// <summary>Floats between the end of one state's scratch slice and the start of the next: one cache line.</summary>
        private const int ScratchSkew = 16;

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

        /// <summary>Elements per wave of tensors (a wave holds at least one tensor).</summary>
        public long WaveElements { get; }

        /// <summary>Elements per widened scratch chunk (a multiple of the int8 block size; passes with reductions round it up to whole reduction blocks).</summary>
        public int ScratchElements { get; }

        private readonly FusedRule _rule;
        private readonly KernelPlan _plan;
        private readonly int _elementBuffers;   // E: param, grad, element states
        private readonly int _states;           // S = E − 2
        private readonly int _scalarCount;
        private readonly int _uniformCount;
        private readonly int[] _stateBufferIndex; // program buffer index of element state k
        private readonly int[] _scalarBufferIndex;
        private readonly int[] _passAtLevel;
        private readonly (int Slot, bool Max)[][] _reductions;
        private readonly bool[][] _loadsState, _storesState; // [pass][k]
        private readonly int _maxReductions;
        private readonly bool[] _storedEver; // [k]: some pass stores element state k

        // Per tensor (local index t).
        private readonly int[] _parameterIndex;
        private readonly ShapeInfo[] _shapes;
        private readonly long[] _tensorFirstBlock;
        private readonly int[] _tensorBlocks;
        private readonly nint[] _pointers;        // t·E + e (pinned); state slots used in float32 only
        private readonly float[][] _f32;          // t·S + k
        private readonly ushort[][] _bf16;
        private readonly byte[][] _codes;
        private readonly float[][] _scales;
        private readonly nint[] _statePointers;   // t·S + k: ushort* or byte* (low precision)
        private readonly nint[] _scalePointers;   // t·S + k: float* (int8)
        private readonly DynamicQuantizationMap[] _maps; // per state k
        private readonly float[] _scalars;        // t·Sc + j
        private readonly double[] _uniforms;      // t·U + i
        private readonly float[] _uniformsF;      // pinned

        // Units.
        private readonly int[] _unitTensor;
        private readonly long[] _unitStart;
        private readonly int[] _unitCount;
        private readonly long[] _unitBlock;
        private readonly double[] _partials;      // pinned, block-major: block·R + r
        private readonly double[] _fold;
        private readonly int _tempCount;
        private readonly float[][] _temps;        // per temporary k: one pinned pool shared by the waves
        private readonly long[] _tempOffset;      // per tensor: where its temporaries start in the pool

        // Waves: consecutive tensors whose elements add up to at most WaveElements (or one larger tensor). Each wave
        // runs every level before the next starts, so temporaries only need room for one wave.
        private readonly int[] _waveFirstTensor, _waveEndTensor, _waveFirstUnit, _waveEndUnit;
        private readonly long[] _waveElements;
        private readonly MatrixPasses _matrix;

        // Rules with per-row/per-column values run tensor by tensor through a CpuRuleRunner (created at the first step
        // on the engine's pool), on float32 views: program buffer b of tensor t at _programPointers[t·B + b].
        private readonly GroupOptions _options;
        private CpuRuleRunner? _vectorRunner;
        private readonly int[] _vectorStateIndex = Array.Empty<int>(); // program buffer index of row/column state v
        private readonly float[][] _vectorStates = Array.Empty<float[]>(); // t·V + v, always float32 (Rows or Cols floats)
        private readonly nint[] _programPointers = Array.Empty<nint>();
        private readonly float[][] _wideStates = Array.Empty<float[]>(); // per element state k: low precision widened, largest tensor

        private readonly float[] _baseHypers;
        private readonly ISchedule?[] _absolute, _factor;
        private readonly long _totalElements;

        public ParameterGroup(string name, FusedRule rule, GroupOptions options, IReadOnlyList<ParameterInfo> members, nint[] parameterPointers, nint[] gradientPointers,
            int scratchElements = 0, long waveElements = 0)
        {
            Name = name;
            _options = options;
            ScratchElements = scratchElements > 0 ? scratchElements : DefaultScratchElements;
            WaveElements = waveElements > 0 ? waveElements : DefaultWaveElements;
            _rule = rule;
            _plan = rule.Plan;
            Precision = options.Precision;
            _baseHypers = (float[])options.Hypers.Clone();
            _absolute = (ISchedule?[])options.AbsoluteSchedules.Clone();
            _factor = (ISchedule?[])options.FactorSchedules.Clone();
            Hypers = (float[])_baseHypers.Clone();
            Members = members.ToArray();

            var program = _plan.Program;
            var elementBuffers = _plan.ElementBuffers.ToArray();
            if (elementBuffers.Length < 2 || elementBuffers[0] != RuleProgram.ParamBuffer || elementBuffers[1] != RuleProgram.GradBuffer)
                throw new NotSupportedException($"{rule.Name}: expected the parameter and gradient as its first two element buffers");
            _elementBuffers = elementBuffers.Length;
            // Element buffers are the parameter, the gradient, the element states, then the plan's
            // temporaries (matrix-pass sources), which are float32 scratch, never state.
            // Buffers past the program's (temporaries, column values, column-sum operands) are never state.
            _stateBufferIndex = elementBuffers.Skip(2).Where(b => b < program.Buffers.Count).ToArray();
            _states = _stateBufferIndex.Length;
            _tempCount = _plan.TempCount;
            _matrix = new MatrixPasses(options.NewtonSchulz, options.Shampoo);
            _scalarBufferIndex = _plan.ScalarBuffers.ToArray();
            _scalarCount = _scalarBufferIndex.Length;
            _uniformCount = rule.UniformCount;
            _passAtLevel = Enumerable.Range(0, _plan.LevelCount).Select(l => IndexOfPassAt(_plan, l)).ToArray();
            var slots = UniformEvaluator.SlotMap(_plan);
            // Row-wise passes (row/column rules) fold their reductions in RowWisePass.
            _reductions = _plan.Passes.Select(p => p.RowWise ? Array.Empty<(int, bool)>() : p.Reductions.Select(r => (slots[r], r.Op == Op.ReduceMax)).ToArray()).ToArray();
            _maxReductions = _reductions.Length == 0 ? 0 : _reductions.Max(r => r.Length);
            _loadsState = _plan.Passes.Select(p => _stateBufferIndex.Select(b => p.Loads.Contains(b)).ToArray()).ToArray();
            _storesState = _plan.Passes.Select(p => _stateBufferIndex.Select(b => p.Stores.Any(s => s.Buffer == b)).ToArray()).ToArray();
            _storedEver = Enumerable.Range(0, _stateBufferIndex.Length).Select(k => _storesState.Any(p => p[k])).ToArray();

            var signs = new SignAnalysis(program);
            _maps = _stateBufferIndex.Select(b =>
            {
                var output = program.OutputOf(b);
                return output != null && signs.IsNonNegative(output) ? DynamicQuantizationMap.Unsigned : DynamicQuantizationMap.Signed;
            }).ToArray();

            int T = Members.Length;
            _parameterIndex = Members.Select(m => m.Index).ToArray();
            _shapes = Members.Select(m => m.ShapeInfo).ToArray();
            _tensorFirstBlock = new long[T];
            _tensorBlocks = new int[T];
            _pointers = GC.AllocateArray<nint>(Math.Max(1, T * _elementBuffers), pinned: true);
            _f32 = new float[T * _states][];
            _tempOffset = new long[T];
            _bf16 = new ushort[T * _states][];
            _codes = new byte[T * _states][];
            _scales = new float[T * _states][];
            _statePointers = GC.AllocateArray<nint>(Math.Max(1, T * _states), pinned: true);
            _scalePointers = GC.AllocateArray<nint>(Math.Max(1, T * _states), pinned: true);
            _scalars = GC.AllocateArray<float>(Math.Max(1, T * _scalarCount), pinned: true);
            _uniforms = new double[T * _uniformCount];
            _uniformsF = GC.AllocateArray<float>(Math.Max(1, T * _uniformCount), pinned: true);

            // Waves of consecutive tensors, each tensor's temporaries at an offset within its wave.
            var waveFirst = new List<int>();
            long waveFill = 0, tempElements = 0;
            for (int t = 0; t < T; t++)
            {
                long n = Members[t].Numel;
                if (waveFirst.Count == 0 || (waveFill > 0 && waveFill + n > WaveElements)) { waveFirst.Add(t); waveFill = 0; }
                _tempOffset[t] = waveFill;
                waveFill += n;
                tempElements = Math.Max(tempElements, waveFill);
            }
            int W = waveFirst.Count;
            _waveFirstTensor = waveFirst.ToArray();
            _waveEndTensor = Enumerable.Range(0, W).Select(w => w + 1 < W ? waveFirst[w + 1] : T).ToArray();
            _waveElements = Enumerable.Range(0, W).Select(w => Members.Skip(_waveFirstTensor[w]).Take(_waveEndTensor[w] - _waveFirstTensor[w]).Sum(m => m.Numel)).ToArray();
            _waveFirstUnit = new int[W];
            _waveEndUnit = new int[W];
            bool pooledTemps = _tempCount > 0 && !_plan.HasVectors; // vector rules: the runner's own temporaries
            _temps = new float[pooledTemps ? _tempCount : 0][];
            for (int k = 0; k < _temps.Length; k++) _temps[k] = GC.AllocateArray<float>(checked((int)tempElements), pinned: true);

            var unitTensor = new List<int>();
            var unitStart = new List<long>();
            var unitCount = new List<int>();
            var unitBlock = new List<long>();
            long blocks = 0;
            int maxBlocks = 0;
            for (int t = 0; t < T; t++)
            {
                long n = Members[t].Numel;
                _totalElements += n;
                _tensorFirstBlock[t] = blocks;
                _tensorBlocks[t] = checked((int)Reduction.BlockCount(n));
                maxBlocks = Math.Max(maxBlocks, _tensorBlocks[t]);
                for (long s = 0; s < n; s += UnitElements)
                {
                    unitTensor.Add(t);
                    unitStart.Add(s);
                    unitCount.Add((int)Math.Min(UnitElements, n - s));
                    unitBlock.Add(blocks + s / Reduction.BlockSize);
                }
                blocks += _tensorBlocks[t];

                int p = Members[t].Index;
                for (int k = 0; k < _temps.Length; k++)
                    fixed (float* f = _temps[k]) _pointers[t * _elementBuffers + 2 + _states + k] = (nint)(f + _tempOffset[t]);
                _pointers[t * _elementBuffers + 0] = parameterPointers[p];
                _pointers[t * _elementBuffers + 1] = gradientPointers[p];
                for (int k = 0; k < _states; k++)
                {
                    int slot = t * _states + k;
                    switch (Precision)
                    {
                        case StatePrecision.Float32:
                            _f32[slot] = GC.AllocateArray<float>((int)n, pinned: true);
                            fixed (float* f = _f32[slot]) _pointers[t * _elementBuffers + 2 + k] = (nint)f;
                            break;
                        case StatePrecision.BFloat16:
                            _bf16[slot] = GC.AllocateArray<ushort>((int)n, pinned: true);
                            fixed (ushort* h = _bf16[slot]) _statePointers[slot] = (nint)h;
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
            _unitTensor = unitTensor.ToArray();
            for (int w = 0, u = 0; w < W; w++)
            {
                _waveFirstUnit[w] = u;
                while (u < _unitTensor.Length && _unitTensor[u] < _waveEndTensor[w]) u++;
                _waveEndUnit[w] = u;
            }
            _unitStart = unitStart.ToArray();
            _unitCount = unitCount.ToArray();
            _unitBlock = unitBlock.ToArray();
            _partials = GC.AllocateArray<double>((int)Math.Max(1, blocks * _maxReductions), pinned: true);
            _fold = new double[Math.Max(1, maxBlocks)];

            if (_plan.HasVectors)
            {
                var buffers = program.Buffers;
                int B = buffers.Count;
                _vectorStateIndex = _plan.VectorBuffers.ToArray();
                int V = _vectorStateIndex.Length;
                _vectorStates = new float[T * V][];
                _programPointers = GC.AllocateArray<nint>(Math.Max(1, T * B), pinned: true);
                long largest = Members.Length == 0 ? 0 : Members.Max(m => m.Numel);
                _wideStates = new float[Precision == StatePrecision.Float32 ? 0 : _states][];
                for (int k = 0; k < _wideStates.Length; k++) _wideStates[k] = GC.AllocateArray<float>(checked((int)largest), pinned: true);
                for (int t = 0; t < T; t++)
                {
                    for (int v = 0; v < V; v++)
                    {
                        long length = buffers[_vectorStateIndex[v]].Shape == StateShape.Row ? _shapes[t].Rows : _shapes[t].Cols;
                        _vectorStates[t * V + v] = GC.AllocateArray<float>(checked((int)length), pinned: true);
                        fixed (float* f = _vectorStates[t * V + v]) _programPointers[t * B + _vectorStateIndex[v]] = (nint)f;
                    }
                    _programPointers[t * B + RuleProgram.ParamBuffer] = _pointers[t * _elementBuffers];
                    _programPointers[t * B + RuleProgram.GradBuffer] = _pointers[t * _elementBuffers + 1];
                    for (int k = 0; k < _states; k++)
                        _programPointers[t * B + _stateBufferIndex[k]] = Precision == StatePrecision.Float32 ? _pointers[t * _elementBuffers + 2 + k] : 0;
                    for (int j = 0; j < _scalarCount; j++)
                        fixed (float* f = &_scalars[t * _scalarCount + j]) _programPointers[t * B + _scalarBufferIndex[j]] = (nint)f;
                }
            }
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
        public int ScalarStateCount => _scalarCount;
        public IEnumerable<string> ElementStateNames => _stateBufferIndex.Select(b => _plan.Program.Buffers[b].Name);
        public IEnumerable<string> ScalarStateNames => _scalarBufferIndex.Select(b => _plan.Program.Buffers[b].Name);
        /// <summary>Per-row and per-column states (float32 at every precision: Rows or Cols floats per tensor).</summary>
        public IEnumerable<string> VectorStateNames => _vectorStateIndex.Select(b => _plan.Program.Buffers[b].Name);
        public int VectorStateCount => _vectorStateIndex.Length;

        /// <summary>Float32 scratch the group holds between steps: per-tensor temporaries of the plan, or for row/column
        /// rules the widened states (their runner's temporaries, sized to the largest tensor, are counted too).</summary>
        public long ScratchBytes
        {
            get
            {
                long bytes = 0;
                foreach (var t in _temps) bytes += 4L * t.Length;
                foreach (var w in _wideStates) bytes += 4L * w.Length;
                if (_plan.HasVectors && Members.Length > 0) bytes += 4L * _tempCount * Members.Max(m => m.Numel);
                return bytes;
            }
        }
        /// <summary>Row (Rows floats) or column (Cols floats) state v of tensor t: the engine's own memory.</summary>
        public float[] VectorState(int t, int v) => _vectorStates[t * _vectorStateIndex.Length + v];
        /// <summary>Whether vector state v is per row (else per column).</summary>
        public bool IsRowState(int v) => _plan.Program.Buffers[_vectorStateIndex[v]].Shape == StateShape.Row;
        public DynamicQuantizationMap MapOf(int k) => _maps[k];

        public int LocalIndexOf(int parameterIndex) => Array.IndexOf(_parameterIndex, parameterIndex);

        // ---- state access (checkpoints, inspection) ----
        public float[] Float32State(int t, int k) => _f32[t * _states + k];
        public ushort[] BFloat16State(int t, int k) => _bf16[t * _states + k];
        public byte[] Int8Codes(int t, int k) => _codes[t * _states + k];
        public float[] Int8Scales(int t, int k) => _scales[t * _states + k];
        public Span<float> Scalars(int t) => _scalars.AsSpan(t * _scalarCount, _scalarCount);

        /// <summary>Element state k of tensor t widened to float32.</summary>
        public void ReadState(int t, int k, Span<float> destination)
        {
            int slot = t * _states + k;
            switch (Precision)
            {
                case StatePrecision.Float32: _f32[slot].CopyTo(destination); break;
                case StatePrecision.BFloat16: BFloat16.Widen(_bf16[slot], destination); break;
                default: BlockwiseInt8.Dequantize(_codes[slot], _scales[slot], destination, _maps[k], FusedOptimizer.Int8BlockSize); break;
            }
        }

        /// <summary>Points the gradient slots at the given buffers (the caller's or the accumulation buffers).</summary>
        public void SetGradientPointers(nint[] gradientPointers)
        {
            int B = _plan.Program.Buffers.Count;
            for (int t = 0; t < _parameterIndex.Length; t++)
            {
                _pointers[t * _elementBuffers + 1] = gradientPointers[_parameterIndex[t]];
                if (_programPointers.Length > 1) _programPointers[t * B + RuleProgram.GradBuffer] = gradientPointers[_parameterIndex[t]];
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

        /// <summary>Runs every level of the rule over every tensor of the group.</summary>
        public void Step(long step, ulong seed, WorkerPool pool)
        {
            int T = _parameterIndex.Length;
            if (T == 0) return;
            UpdateHypers(step);
            if (_plan.HasVectors)
            {
                StepTensorByTensor(step, seed, pool);
                return;
            }
            for (int w = 0; w < _waveFirstTensor.Length; w++) StepWave(w, step, seed, pool);
            for (int t = 0; t < T; t++)
                _rule.StoreScalars(_uniforms.AsSpan(t * _uniformCount, _uniformCount), _scalars.AsSpan(t * _scalarCount, _scalarCount));
        }

        /// <summary>Every level of the rule over the tensors of wave <paramref name="w"/>.</summary>
        private void StepWave(int w, long step, ulong seed, WorkerPool pool)
        {
            int first = _waveFirstTensor[w], end = _waveEndTensor[w];
            for (int level = 0; level < _passAtLevel.Length; level++)
            {
                foreach (var m in _plan.MatrixStages)
                {
                    if (m.Level != level) continue;
                    int k = m.SourceBuffer - _plan.Program.Buffers.Count;
                    for (int t = first; t < end; t++)
                    {
                        int rows = checked((int)_shapes[t].Rows), cols = checked((int)_shapes[t].Cols);
                        if (m.Op == Op.Orthogonalize) _matrix.Orthogonalize(TempOf(t, k), rows, cols);
                        else _matrix.Precondition(TempOf(t, k), rows, cols, step, _parameterIndex[t]);
                    }
                }
                for (int t = first; t < end; t++)
                {
                    var uniforms = _uniforms.AsSpan(t * _uniformCount, _uniformCount);
                    _rule.ComputeUniforms(level, Hypers, step, _shapes[t], _scalars.AsSpan(t * _scalarCount, _scalarCount), uniforms);
                    var single = _uniformsF.AsSpan(t * _uniformCount, _uniformCount);
                    for (int i = 0; i < uniforms.Length; i++) single[i] = (float)uniforms[i];
                }
                int pass = _passAtLevel[level];
                if (pass < 0) continue;
                var work = new PassWork(this, pass, step, seed, _waveFirstUnit[w]);
                long units = _waveEndUnit[w] - _waveFirstUnit[w];
                // Virtual length units·64: the pool's 64-aligned chunk boundaries fall on unit boundaries, grain 1 unit.
                if (_waveElements[w] < CpuParallelThreshold || pool.DegreeOfParallelism == 1) work.Execute(0, units * WorkerPool.ChunkAlignment);
                else pool.Run(ref work, units * WorkerPool.ChunkAlignment, grain: WorkerPool.ChunkAlignment);

                var reductions = _reductions[pass];
                int R = reductions.Length;
                for (int t = first; t < end && R > 0; t++)
                {
                    long firstBlock = _tensorFirstBlock[t];
                    int blocks = _tensorBlocks[t];
                    for (int r = 0; r < R; r++)
                    {
                        for (int b = 0; b < blocks; b++) _fold[b] = _partials[(firstBlock + b) * R + r];
                        _uniforms[t * _uniformCount + reductions[r].Slot] = Reduction.FoldBlocks(_fold.AsSpan(0, blocks), reductions[r].Max);
                    }
                }
            }
        }

        /// <summary>Temporary k of tensor t: its slice of the wave's pool.</summary>
        private Span<float> TempOf(int t, int k) => _temps[k].AsSpan(checked((int)_tempOffset[t]), checked((int)Members[t].Numel));

        /// <summary>
        /// Rules with per-row/per-column values: each tensor in turn through the CpuRuleRunner (its passes split over
        /// the pool; row and column reductions fold in their fixed orders). Low-precision element states are widened
        /// whole into float32 buffers the size of the largest tensor, and the states the rule writes narrowed back
        /// with the same rounding keys as the fused path.
        /// </summary>
        private void StepTensorByTensor(long step, ulong seed, WorkerPool pool)
        {
            _vectorRunner ??= new CpuRuleRunner(_rule, pool, _options.NewtonSchulz, _options.Shampoo);
            int B = _plan.Program.Buffers.Count;
            int S = _states;
            for (int t = 0; t < _parameterIndex.Length; t++)
            {
                int n = checked((int)Members[t].Numel);
                var pointers = new ReadOnlySpan<nint>(_programPointers, t * B, B);
                if (Precision != StatePrecision.Float32)
                {
                    for (int k = 0; k < S; k++)
                    {
                        var wide = _wideStates[k].AsSpan(0, n);
                        if (Precision == StatePrecision.BFloat16) BFloat16.Widen(_bf16[t * S + k], wide);
                        else BlockwiseInt8.Dequantize(_codes[t * S + k], _scales[t * S + k], wide, _maps[k], FusedOptimizer.Int8BlockSize);
                        fixed (float* f = _wideStates[k]) _programPointers[t * B + _stateBufferIndex[k]] = (nint)f;
                    }
                }
                _vectorRunner.StepPinned(Hypers, step, _shapes[t], pointers, pool, default, _parameterIndex[t]);
                if (Precision == StatePrecision.Float32) continue;
                for (int k = 0; k < S; k++)
                {
                    if (!_storedEver[k]) continue;
                    var wide = _wideStates[k].AsSpan(0, n);
                    if (Precision == StatePrecision.BFloat16)
                        BFloat16.NarrowStochastic(wide, _bf16[t * S + k], new CounterRngKey(seed, step, RandomStream(_parameterIndex[t], _stateBufferIndex[k])), 0);
                    else BlockwiseInt8.Quantize(wide, _codes[t * S + k], _scales[t * S + k], _maps[k], FusedOptimizer.Int8BlockSize);
                }
            }
        }

        /// <summary>Below this many elements in a group a pass runs on the calling thread alone.</summary>
        public const int CpuParallelThreshold = 1 << 15;

        private void ExecuteUnits(int pass, long step, ulong seed, int firstUnit, int endUnit)
        {
            if (Precision == StatePrecision.Float32) ExecuteUnitsFloat32(pass, firstUnit, endUnit);
            else ExecuteUnitsLowPrecision(pass, step, seed, firstUnit, endUnit);
        }

        private void ExecuteUnitsFloat32(int pass, int firstUnit, int endUnit)
        {
            int E = _elementBuffers;
            int U = _uniformCount;
            int R = _reductions[pass].Length;
            fixed (float* uniformBase = _uniformsF)
            fixed (double* partialBase = _partials)
            fixed (nint* pointerBase = _pointers)
            {
                for (int u = firstUnit; u < endUnit; u++)
                {
                    int t = _unitTensor[u];
                    long start = _unitStart[u];
                    int count = _unitCount[u];
                    nint* pointers = pointerBase + t * E;
                    var buffers = new KernelBuffers();
                    for (int e = 0; e < E; e++) buffers.Add(new Span<float>((float*)pointers[e] + start, count));
                    var partials = R == 0 ? default : new Span<double>(partialBase + _unitBlock[u] * R, (int)Reduction.BlockCount(count) * R);
                    _rule.RunPass(pass, new ReadOnlySpan<float>(uniformBase + t * U, U), in buffers, partials);
                }
            }
        }

        /// <summary>
        /// Low-precision state: per chunk of <see cref="ScratchElements"/> (whole reduction blocks when the pass
        /// reduces), widen the states the pass loads into float32 scratch on the stack, run the kernel, narrow the
        /// states it stores.
        /// </summary>
        private void ExecuteUnitsLowPrecision(int pass, long step, ulong seed, int firstUnit, int endUnit)
        {
            int E = _elementBuffers;
            int U = _uniformCount;
            int S = _states;
            int R = _reductions[pass].Length;
            int chunk = R == 0 ? ScratchElements : Math.Max(Reduction.BlockSize, ScratchElements / Reduction.BlockSize * Reduction.BlockSize);
            bool[] loads = _loadsState[pass], stores = _storesState[pass];
            bool bf16 = Precision == StatePrecision.BFloat16;
            int stateWidth = bf16 ? sizeof(ushort) : sizeof(byte);
            // Slices one cache line apart modulo 4 KiB: state k's element i and state k+1's element i must not alias
            // in the low 12 address bits, or loads wait on unrelated stores (4K aliasing).
            int stride = chunk + ScratchSkew;
            Span<float> scratch = stackalloc float[S * stride];
            Span<CounterRngKey> keys = stackalloc CounterRngKey[S];
            fixed (float* uniformBase = _uniformsF)
            fixed (double* partialBase = _partials)
            fixed (nint* pointerBase = _pointers)
            fixed (nint* statePointers = _statePointers)
            fixed (nint* scalePointers = _scalePointers)
            {
                int keyedTensor = -1;
                for (int u = firstUnit; u < endUnit; u++)
                {
                    int t = _unitTensor[u];
                    long start = _unitStart[u];
                    int count = _unitCount[u];
                    var uniforms = new ReadOnlySpan<float>(uniformBase + t * U, U);
                    nint* pointers = pointerBase + t * E;
                    if (bf16 && t != keyedTensor)
                    {
                        for (int k = 0; k < S; k++) keys[k] = new CounterRngKey(seed, step, RandomStream(_parameterIndex[t], _stateBufferIndex[k]));
                        keyedTensor = t;
                    }
                    for (int offset = 0; offset < count; offset += chunk)
                    {
                        int n = Math.Min(chunk, count - offset);
                        long element = start + offset;
                        scoped var buffers = new KernelBuffers(); // scoped: it holds stack scratch
                        buffers.Add(new Span<float>((float*)pointers[0] + element, n));
                        buffers.Add(new Span<float>((float*)pointers[1] + element, n));
                        for (int k = 0; k < S; k++)
                        {
                            var wide = scratch.Slice(k * stride, n);
                            if (loads[k])
                            {
                                if (bf16) BFloat16.Widen(new ReadOnlySpan<ushort>((ushort*)statePointers[t * S + k] + element, n), wide);
                                else BlockwiseInt8.Dequantize(new ReadOnlySpan<byte>((byte*)statePointers[t * S + k] + element, n),
                                    ScalesOf(scalePointers[t * S + k], element, n), wide, _maps[k], FusedOptimizer.Int8BlockSize);
                            }
                            buffers.Add(wide);
                        }
                        for (int k = 0; k < _tempCount; k++)
                            buffers.Add(new Span<float>((float*)pointers[2 + S + k] + element, n));
                        var partials = R == 0 ? default : new Span<double>(partialBase + (_unitBlock[u] + offset / Reduction.BlockSize) * R, (int)Reduction.BlockCount(n) * R);
                        _rule.RunPass(pass, uniforms, in buffers, partials);
                        // The stored states' lines were read by the widening above, but the kernel's streams have since
                        // pushed them out of L1; without this the narrowing stores miss one line at a time (measured:
                        // bf16 AdamW 45 -> 37 ms, 8-bit 98 -> 69 ms per step at 32M parameters on 2 threads).
                        for (int k = 0; k < S; k++)
                            if (stores[k]) PrefetchLines((byte*)statePointers[t * S + k] + element * stateWidth, n * stateWidth);
                        for (int k = 0; k < S; k++)
                        {
                            if (!stores[k]) continue;
                            var wide = scratch.Slice(k * stride, n);
                            if (bf16) BFloat16.NarrowStochastic(wide, new Span<ushort>((ushort*)statePointers[t * S + k] + element, n), keys[k], element);
                            else BlockwiseInt8.Quantize(wide, new Span<byte>((byte*)statePointers[t * S + k] + element, n),
                                ScalesOf(scalePointers[t * S + k], element, n), _maps[k], FusedOptimizer.Int8BlockSize);
                        }
                    }
                }
            }
        }

        /// <summary>Brings the cache lines of [start, start + bytes) towards L1 (x86; elsewhere nothing).</summary>
        private static void PrefetchLines(byte* start, int bytes)
        {
            if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
            for (int b = 0; b < bytes; b += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + b);
        }

        private static Span<float> ScalesOf(nint scales, long element, int n)
            => new Span<float>((float*)scales + element / FusedOptimizer.Int8BlockSize, BlockwiseInt8.BlockCount(n, FusedOptimizer.Int8BlockSize));

        /// <summary>Stochastic-rounding stream of one state tensor: parameter index × 64 + the rule's buffer index.</summary>
        public static long RandomStream(int parameterIndex, int bufferIndex) => (long)parameterIndex * 64 + bufferIndex;

        private static int IndexOfPassAt(KernelPlan plan, int level)
        {
            for (int i = 0; i < plan.Passes.Count; i++) if (plan.Passes[i].Level == level) return i;
            return -1;
        }

        private readonly struct PassWork : IRangeWork
        {
            private readonly ParameterGroup _group;
            private readonly int _pass;
            private readonly long _step;
            private readonly ulong _seed;
            private readonly int _firstUnit;

            public PassWork(ParameterGroup group, int pass, long step, ulong seed, int firstUnit)
            {
                _group = group;
                _pass = pass;
                _step = step;
                _seed = seed;
                _firstUnit = firstUnit;
            }

            /// <summary>[start, end) counts the wave's units × <see cref="WorkerPool.ChunkAlignment"/>.</summary>
            public void Execute(long start, long end)
                => _group.ExecuteUnits(_pass, _step, _seed, _firstUnit + (int)(start / WorkerPool.ChunkAlignment), _firstUnit + (int)((end + WorkerPool.ChunkAlignment - 1) / WorkerPool.ChunkAlignment));
        }
    }
}
