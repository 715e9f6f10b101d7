using System;
using System.Buffers;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.Cpu
{
    /// <summary>
    /// Applies one rule to one tensor's buffers on the CPU: computes each level's uniform values once,
    /// splits each element pass across the worker pool's pinned threads (whole reduction blocks per
    /// thread, so sums are the same at any thread count), folds the reductions in their fixed order,
    /// and finally stores the scalar states. Steady-state calls allocate nothing; buffers are the
    /// caller's own memory and nothing is copied.
    /// </summary>
    public sealed unsafe class CpuRuleRunner : IDisposable
    {
        private readonly FusedRule _rule;
        private readonly KernelPlan _plan;
        private readonly WorkerPool _pool;
        private readonly bool _ownsPool;
        private readonly double[] _uniforms;
        private readonly float[] _uniformsF;
        private readonly nint[] _pointers;
        private readonly int[] _elementBuffers;
        private readonly int[] _scalarBuffers;
        private readonly float[] _scalars;
        private readonly (int slot, bool max)[][] _reductions; // per pass
        private readonly MatrixPasses _matrix;
        private float[][] _temps;
        private double[] _partials = Array.Empty<double>();
        private double[] _fold = Array.Empty<double>();
        private readonly VectorValues? _vectors;   // rules with per-row / per-column values
        private readonly RowWisePass? _rowWise;

        /// <summary>Below this many elements a pass runs on the calling thread alone.</summary>
        public const int ParallelThreshold = 1 << 15;

        /// <param name="matrix">Newton-Schulz settings for rules with Orthogonalize (Muon); the seeds' quintic × 5 by default.</param>
        /// <param name="shampoo">Settings for rules with Precondition (Shampoo).</param>
        public CpuRuleRunner(FusedRule rule, WorkerPool? pool = null, NewtonSchulzOptions? matrix = null, ShampooOptions? shampoo = null)
        {
            _rule = rule ?? throw new ArgumentNullException(nameof(rule));
            _plan = rule.Plan;
            _ownsPool = pool is null;
            _pool = pool ?? new WorkerPool();
            _uniforms = new double[rule.UniformCount];
            _uniformsF = GC.AllocateArray<float>(rule.UniformCount, pinned: true);
            _elementBuffers = _plan.ElementBuffers.ToArray();
            _scalarBuffers = _plan.ScalarBuffers.ToArray();
            _scalars = new float[_scalarBuffers.Length];
            _pointers = GC.AllocateArray<nint>(_elementBuffers.Length, pinned: true);
            var slots = UniformEvaluator.SlotMap(_plan);
            // Row-wise passes (RowSum has no slot) fold in RowWisePass.
            _reductions = _plan.Passes.Select(p => p.RowWise ? Array.Empty<(int, bool)>() : p.Reductions.Select(r => (slots[r], r.Op == Op.ReduceMax)).ToArray()).ToArray();
            _matrix = new MatrixPasses(matrix, shampoo);
            _temps = new float[_plan.TempCount][];
            for (int k = 0; k < _temps.Length; k++) _temps[k] = Array.Empty<float>();
            if (_plan.HasVectors)
            {
                _vectors = new VectorValues(_plan);
                _rowWise = new RowWisePass(rule);
            }
        }

        public FusedRule Rule => _rule;
        public WorkerPool Pool => _pool;

        /// <summary>
        /// One step over buffers in the rule's order (parameter, gradient, states): element buffers of
        /// <paramref name="shape"/>.Numel elements, scalar states of one.
        /// </summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<Memory<float>> buffers)
        {
            var program = _plan.Program;
            if (buffers.Length != program.Buffers.Count)
                throw new ArgumentException($"{_rule.Name} takes {program.Buffers.Count} buffers ({string.Join(", ", program.Buffers.Select(b => b.Name))}), got {buffers.Length}", nameof(buffers));
            if (hypers.Length != program.Hypers.Count)
                throw new ArgumentException($"{_rule.Name} takes {program.Hypers.Count} hyperparameters ({string.Join(", ", program.Hypers.Select(h => h.Name))}), got {hypers.Length}", nameof(hypers));
            if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "steps count from 1");
            if (shape.Rows * shape.Cols != shape.Numel)
                throw new ArgumentException($"{_rule.Name}: shape {shape.Rows}×{shape.Cols} does not hold {shape.Numel} elements", nameof(shape));
            for (int b = 0; b < buffers.Length; b++)
            {
                long expected = shape.LengthOf(program.Buffers[b].Shape);
                if (buffers[b].Length != expected)
                    throw new ArgumentException($"{_rule.Name}: buffer '{program.Buffers[b].Name}' has {buffers[b].Length} elements, expected {expected}", nameof(buffers));
            }
            int count = buffers.Length;
            var handles = ArrayPool<MemoryHandle>.Shared.Rent(count);
            Span<nint> pointers = count <= 16 ? stackalloc nint[count] : new nint[count];
            try
            {
                for (int b = 0; b < count; b++)
                {
                    handles[b] = buffers[b].Pin();
                    pointers[b] = (nint)handles[b].Pointer;
                }
                StepPinned(hypers, step, shape, pointers, _pool, buffers[0], tensorKey: -1);
            }
            finally
            {
                for (int b = 0; b < count; b++) handles[b].Dispose();
                Array.Clear(handles, 0, count);
                ArrayPool<MemoryHandle>.Shared.Return(handles);
            }
        }

        /// <summary>
        /// One step over pinned float32 buffers in the rule's order, each as long as its shape says (numel, rows,
        /// cols or 1); nothing is validated. Shampoo statistics are keyed by <paramref name="tensorKey"/> when it is
        /// not negative, else by <paramref name="parameter"/>'s memory. The engine's entry point.
        /// </summary>
        internal void StepPinned(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<nint> buffers, WorkerPool pool,
            Memory<float> parameter, long tensorKey)
        {
            for (int k = 0; k < _scalarBuffers.Length; k++) _scalars[k] = *(float*)buffers[_scalarBuffers[k]];
            int programBuffers = _plan.Program.Buffers.Count;
            for (int k = 0; k < _temps.Length; k++)
                if (_temps[k].Length < shape.Numel) _temps[k] = GC.AllocateUninitializedArray<float>(checked((int)shape.Numel), pinned: true); // once per larger tensor
            for (int i = 0; i < _elementBuffers.Length; i++)
            {
                int b = _elementBuffers[i];
                // Column values and ColSum operands are the row-wise pass's own business.
                if (b >= programBuffers && !_plan.IsTemp(b)) { _pointers[i] = 0; continue; }
                if (b < programBuffers) _pointers[i] = buffers[b];
                else fixed (float* t = _temps[b - programBuffers]) _pointers[i] = (nint)t; // pinned array
            }
            if (_vectors != null)
            {
                _vectors.Begin(shape);
                foreach (var b in _plan.VectorBuffers) _vectors.LoadState(b, VectorState(b, shape, buffers));
            }
            Run(hypers, step, shape, pool, parameter, tensorKey);
            if (_vectors != null)
                foreach (var b in _plan.VectorBuffers) _vectors.StoreState(b, _uniforms, VectorState(b, shape, buffers));
            for (int k = 0; k < _scalarBuffers.Length; k++) *(float*)buffers[_scalarBuffers[k]] = _scalars[k];
        }

        private Span<float> VectorState(int buffer, ShapeInfo shape, ReadOnlySpan<nint> buffers)
            => new Span<float>((float*)buffers[buffer], checked((int)shape.LengthOf(_plan.Program.Buffers[buffer].Shape)));

        /// <summary>Convenience overload for arrays.</summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, params float[][] buffers)
        {
            var array = ArrayPool<Memory<float>>.Shared.Rent(buffers.Length);
            try
            {
                for (int i = 0; i < buffers.Length; i++) array[i] = buffers[i];
                Step(hypers, step, shape, array.AsSpan(0, buffers.Length));
            }
            finally
            {
                Array.Clear(array);
                ArrayPool<Memory<float>>.Shared.Return(array);
            }
        }

        private void Run(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, WorkerPool pool, Memory<float> parameter, long tensorKey)
        {
            long n = shape.Numel;
            for (int level = 0; level < _plan.LevelCount; level++)
            {
                foreach (var m in _plan.MatrixStages)
                {
                    if (m.Level != level) continue;
                    var matrix = _temps[m.SourceBuffer - _plan.Program.Buffers.Count].AsSpan(0, checked((int)n));
                    int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols);
                    // Shampoo statistics belong to the tensor: its parameter memory identifies it.
                    if (m.Op == Op.Orthogonalize) _matrix.Orthogonalize(matrix, rows, cols);
                    else if (tensorKey >= 0) _matrix.Precondition(matrix, rows, cols, step, tensorKey);
                    else _matrix.Precondition(matrix, rows, cols, step, parameter);
                }
                _rule.ComputeUniforms(level, hypers, step, shape, _scalars, _uniforms);
                _vectors?.Evaluate(level, _uniforms);
                int pass = PassAt(level);
                if (pass < 0) continue;
                for (int i = 0; i < _uniforms.Length; i++) _uniformsF[i] = (float)_uniforms[i];
                if (_plan.Passes[pass].RowWise)
                {
                    _rowWise!.Run(pass, shape, _uniformsF, _uniforms, _pointers, _vectors!, pool);
                    continue;
                }
                var reductions = _reductions[pass];
                long blocks = Reduction.BlockCount(n);
                if (reductions.Length > 0 && _partials.Length < blocks * reductions.Length)
                {
                    _partials = new double[blocks * reductions.Length]; // grows once per larger tensor
                    _fold = new double[blocks];
                }
                fixed (float* u = _uniformsF)
                fixed (nint* p = _pointers)
                fixed (double* partials = _partials)
                {
                    var work = new PassWork(_rule, pass, u, _uniformsF.Length, p, _pointers.Length, n, partials, reductions.Length);
                    if (reductions.Length == 0)
                    {
                        if (n < ParallelThreshold || pool.DegreeOfParallelism == 1) work.Execute(0, n);
                        else pool.Run(ref work, n);
                    }
                    else
                    {
                        // Work over whole blocks so every partial is computed the same way at any split.
                        if (n < ParallelThreshold || pool.DegreeOfParallelism == 1) work.Execute(0, blocks);
                        else pool.Run(ref work, blocks, grain: 8);
                    }
                }
                for (int k = 0; k < reductions.Length; k++)
                {
                    for (long b = 0; b < blocks; b++) _fold[b] = _partials[b * reductions.Length + k];
                    _uniforms[reductions[k].slot] = Reduction.FoldBlocks(_fold.AsSpan(0, (int)blocks), reductions[k].max);
                }
            }
            _rule.StoreScalars(_uniforms, _scalars);
        }

        private int PassAt(int level)
        {
            var passes = _plan.Passes;
            for (int i = 0; i < passes.Count; i++) if (passes[i].Level == level) return i;
            return -1;
        }

        private readonly struct PassWork : IRangeWork
        {
            private readonly FusedRule _rule;
            private readonly int _pass;
            private readonly float* _uniforms;
            private readonly int _uniformCount;
            private readonly nint* _buffers;
            private readonly int _bufferCount;
            private readonly long _length;
            private readonly double* _partials;
            private readonly int _reductions;

            public PassWork(FusedRule rule, int pass, float* uniforms, int uniformCount, nint* buffers, int bufferCount, long length, double* partials, int reductions)
            {
                _rule = rule;
                _pass = pass;
                _uniforms = uniforms;
                _uniformCount = uniformCount;
                _buffers = buffers;
                _bufferCount = bufferCount;
                _length = length;
                _partials = partials;
                _reductions = reductions;
            }

            /// <summary>[start, end) counts elements for plain passes and blocks for passes with reductions.</summary>
            public void Execute(long start, long end)
            {
                long first = start, last = end;
                Span<double> partials = default;
                if (_reductions > 0)
                {
                    first = start * Reduction.BlockSize;
                    last = Math.Min(end * Reduction.BlockSize, _length);
                    partials = new Span<double>(_partials + start * _reductions, checked((int)((end - start) * _reductions)));
                }
                var buffers = new KernelBuffers();
                int count = checked((int)(last - first));
                for (int b = 0; b < _bufferCount; b++) buffers.Add(new Span<float>((float*)_buffers[b] + first, count));
                _rule.RunPass(_pass, new ReadOnlySpan<float>(_uniforms, _uniformCount), in buffers, partials);
            }
        }

        public void Dispose()
        {
            if (_ownsPool) _pool.Dispose();
        }
    }
}
