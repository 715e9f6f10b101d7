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
    internal sealed unsafe partial class ParameterGroup
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
            var waveSizes = new List<long>(); // elements of each wave so far
            for (int t = 0; t < T; t++)
            {
                long n = Members[t].Numel;
                if (waveFirst.Count == 0 || (waveSizes[^1] > 0 && waveSizes[^1] + n > WaveElements)) { waveFirst.Add(t); waveSizes.Add(0); }
                _tempOffset[t] = waveSizes[^1];
                waveSizes[^1] += n;
            }
            int W = waveFirst.Count;
            long tempElements = W == 0 ? 0 : waveSizes.Max();
            _waveFirstTensor = waveFirst.ToArray();
            _waveEndTensor = Enumerable.Range(0, W).Select(w => w + 1 < W ? waveFirst[w + 1] : T).ToArray();
            _waveElements = waveSizes.ToArray();
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
                        long length = _shapes[t].LengthOf(buffers[_vectorStateIndex[v]].Shape);
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
            if (Precision == StatePrecision.Float32) _f32[t * _states + k].CopyTo(destination);
            else WidenState(t, k, 0, destination.Slice(0, checked((int)Members[t].Numel)));
        }

        // ---- low-precision element state: the one place it is widened and narrowed ----

        /// <summary>Elements [element, element + wide.Length) of low-precision element state k of tensor t, as float32.</summary>
        private void WidenState(int t, int k, long element, Span<float> wide)
        {
            int slot = t * _states + k, n = wide.Length;
            if (Precision == StatePrecision.BFloat16) BFloat16.Widen(new ReadOnlySpan<ushort>((ushort*)_statePointers[slot] + element, n), wide);
            else BlockwiseInt8.Dequantize(new ReadOnlySpan<byte>((byte*)_statePointers[slot] + element, n), ScalesOf(_scalePointers[slot], element, n),
                wide, _maps[k], FusedOptimizer.Int8BlockSize);
        }

        /// <summary>Stores <paramref name="wide"/> into low-precision element state k of tensor t from <paramref name="element"/> on:
        /// bf16 by stochastic rounding with <paramref name="key"/>, 8-bit by blockwise quantisation (whole blocks).</summary>
        private void NarrowState(int t, int k, long element, ReadOnlySpan<float> wide, in CounterRngKey key)
        {
            int slot = t * _states + k, n = wide.Length;
            if (Precision == StatePrecision.BFloat16) BFloat16.NarrowStochastic(wide, new Span<ushort>((ushort*)_statePointers[slot] + element, n), key, element);
            else BlockwiseInt8.Quantize(wide, new Span<byte>((byte*)_statePointers[slot] + element, n), ScalesOf(_scalePointers[slot], element, n),
                _maps[k], FusedOptimizer.Int8BlockSize);
        }

        /// <summary>The stochastic-rounding key of element state k of tensor t at <paramref name="step"/>.</summary>
        private CounterRngKey RoundingKey(int t, int k, ulong seed, long step) => new CounterRngKey(seed, step, RandomStream(_parameterIndex[t], _stateBufferIndex[k]));

        private static Span<float> ScalesOf(nint scales, long element, int n)
            => new Span<float>((float*)scales + element / FusedOptimizer.Int8BlockSize, BlockwiseInt8.BlockCount(n, FusedOptimizer.Int8BlockSize));

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
    }
}
