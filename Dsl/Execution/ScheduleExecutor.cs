using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// The one step loop. Walks a <see cref="KernelSchedule"/> over a group of tensors on any backend: per wave of
    /// tensors, each step in order — matrix passes (the backend's), the uniform values of a level (float64, per
    /// tensor), the per-row and per-column values (float32, on the host), element passes (the backend's) and the
    /// fold of their reductions in the canonical order of <see cref="Reduction"/> — then the scalar and row/column
    /// states. Scalar and row/column states live here, on the host, for every backend. Steady-state steps allocate
    /// nothing. Not thread-safe: one step at a time.
    /// </summary>
    public sealed class ScheduleExecutor
    {
        private readonly KernelSchedule _schedule;
        private readonly IScheduleBackend _backend;
        private readonly UniformProgram _uniformProgram;
        private readonly int _uniformCount, _scalarCount;
        private readonly int[] _vectorBuffers;
        private readonly PassArguments _args;
        private readonly IReductionExchange? _exchange;

        private ShapeInfo[] _shapes = Array.Empty<ShapeInfo>();
        private ShapeInfo[] _uniformShapes = Array.Empty<ShapeInfo>();   // the whole tensor's for a piece (see IReductionExchange)
        private double[] _uniforms = Array.Empty<double>();
        private float[] _scalars = Array.Empty<float>();
        private float[][] _vectorStates = Array.Empty<float[]>();   // t · V + v (Rows or Cols floats)
        private VectorValues?[] _vectors = Array.Empty<VectorValues?>();
        private int[] _waveStart = Array.Empty<int>();               // wave w is tensors [_waveStart[w], _waveStart[w + 1])
        private double[] _fold = Array.Empty<double>();

        /// <summary>An executor stepping <paramref name="schedule"/> on <paramref name="backend"/>.</summary>
        /// <param name="schedule">The rule's schedule.</param>
        /// <param name="backend">Where the tensors' buffers live and passes run.</param>
        /// <param name="exchange">For pieces of tensors stepped apart (a sharded run): completes their reductions; null when every tensor is whole.</param>
        public ScheduleExecutor(KernelSchedule schedule, IScheduleBackend backend, IReductionExchange? exchange = null)
        {
            _exchange = exchange;
            _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
            _backend = backend ?? throw new ArgumentNullException(nameof(backend));
            _uniformProgram = new UniformProgram(schedule);
            _uniformCount = schedule.UniformCount;
            _scalarCount = schedule.ScalarBuffers.Count;
            _vectorBuffers = schedule.VectorBuffers.ToArray();
            _args = new PassArguments(_uniformCount);
        }

        /// <summary>The schedule this executor walks.</summary>
        public KernelSchedule Schedule => _schedule;
        /// <summary>The backend that runs element and matrix passes.</summary>
        public IScheduleBackend Backend => _backend;
        /// <summary>Number of tensors set by the last <c>SetShapes</c>.</summary>
        public int TensorCount => _shapes.Length;
        /// <summary>The tensors' shapes, as set by the last <c>SetShapes</c>.</summary>
        public IReadOnlyList<ShapeInfo> Shapes => _shapes;

        /// <summary>Waves of the current shapes: wave w steps tensors [WaveStarts[w], WaveStarts[w + 1]).</summary>
        public IReadOnlyList<int> WaveStarts => _waveStart;

        /// <summary>
        /// The tensors to step, in order (the backend numbers its buffers the same way). Scalar and row/column states
        /// start at zero; a tensor whose shape is unchanged keeps them. Call again when shapes change.
        /// </summary>
        public void SetShapes(IReadOnlyList<ShapeInfo> shapes)
        {
            int T = shapes.Count, V = _vectorBuffers.Length;
            bool same = T == _shapes.Length;
            for (int t = 0; same && t < T; t++) same = ShapeEquals(shapes[t], _shapes[t]);
            if (same) return;
            foreach (var s in shapes)
                if (s.Numel < 0 || s.Rows < 0 || s.Cols < 0 || s.Rows * s.Cols != s.Numel)
                    throw new ArgumentException($"{_schedule.Name}: shape {s.Rows}×{s.Cols} does not hold {s.Numel} elements", nameof(shapes));

            var oldShapes = _shapes;
            var oldScalars = _scalars;
            var oldVectorStates = _vectorStates;
            _shapes = shapes.ToArray();
            _uniformShapes = _exchange == null ? _shapes : _shapes.Select((shape, t) => _exchange.UniformShape(t, shape)).ToArray();
            _uniforms = new double[T * _uniformCount];
            _args.Uniforms = new float[T * _uniformCount];
            _scalars = new float[T * _scalarCount];
            _vectorStates = new float[T * V][];
            _vectors = new VectorValues?[T];
            for (int t = 0; t < T; t++)
            {
                bool keep = t < oldShapes.Length && ShapeEquals(oldShapes[t], _shapes[t]);
                if (keep) Array.Copy(oldScalars, t * _scalarCount, _scalars, t * _scalarCount, _scalarCount);
                for (int v = 0; v < V; v++)
                    _vectorStates[t * V + v] = keep ? oldVectorStates[t * V + v]
                        : new float[checked((int)_shapes[t].LengthOf(_schedule.Buffers[_vectorBuffers[v]].Shape))];
                if (_schedule.HasVectors)
                {
                    var values = new VectorValues(_schedule);
                    values.Begin(_shapes[t]);
                    _vectors[t] = values;
                }
            }
            _args.Vectors = _vectors;
            _args.Shapes = _shapes;
            _args.PartialOffset = new long[T];

            // Waves of consecutive tensors of at most WaveElements (or one larger tensor).
            long waveElements = _backend.WaveElements;
            var starts = new List<int>();
            long inWave = 0;
            for (int t = 0; t < T; t++)
            {
                long n = _shapes[t].Numel;
                if (starts.Count == 0 || waveElements <= 0 || (inWave > 0 && inWave + n > waveElements)) { starts.Add(t); inWave = 0; }
                inWave += n;
            }
            starts.Add(T);
            _waveStart = starts.ToArray();

            // Partials: the largest wave's blocks of the pass with the most reductions.
            long partials = 1, fold = 1;
            foreach (var pass in _schedule.Passes)
            {
                int R = pass.Reductions.Count;
                if (R == 0) continue;
                for (int w = 0; w + 1 < _waveStart.Length; w++)
                {
                    long blocks = 0;
                    for (int t = _waveStart[w]; t < _waveStart[w + 1]; t++)
                    {
                        long b = BlocksOf(pass, _shapes[t]);
                        blocks += b;
                        fold = Math.Max(fold, b);
                    }
                    partials = Math.Max(partials, blocks * R);
                }
            }
            _args.Partials = new double[checked((int)partials)];
            _fold = new double[checked((int)fold)];
        }

        private static bool ShapeEquals(ShapeInfo a, ShapeInfo b) => a.Numel == b.Numel && a.Rows == b.Rows && a.Cols == b.Cols;

        /// <summary>Partial blocks of <paramref name="pass"/> over a tensor: the tensor's blocks, or each row's for a row-wise pass.</summary>
        public static long BlocksOf(PassProgram pass, ShapeInfo shape) =>
            pass.RowWise ? shape.Rows * Reduction.BlockCount(shape.Cols) : Reduction.BlockCount(shape.Numel);

        /// <summary>Tensor <paramref name="t"/>'s scalar states, in <see cref="KernelSchedule.ScalarBuffers"/> order.</summary>
        public Span<float> Scalars(int t) => _scalars.AsSpan(t * _scalarCount, _scalarCount);

        /// <summary>Tensor <paramref name="t"/>'s row or column state <paramref name="buffer"/> (a buffer of the schedule): Rows or Cols floats.</summary>
        public float[] VectorState(int t, int buffer)
        {
            int v = Array.IndexOf(_vectorBuffers, buffer);
            if (v < 0) throw new ArgumentException($"{_schedule.Name}: buffer {buffer} is not a row or column state", nameof(buffer));
            return _vectorStates[t * _vectorBuffers.Length + v];
        }

        /// <summary>Tensor <paramref name="t"/>'s uniforms of the last step (float64, by slot).</summary>
        public ReadOnlySpan<double> Uniforms(int t) => _uniforms.AsSpan(t * _uniformCount, _uniformCount);

        /// <summary>
        /// After <see cref="Step"/> threw: the tensors whose stage failed — [first, end) of one tensor for a matrix,
        /// uniform or vector stage, the whole wave for an element pass — and the stage's kind; (-1, -1) before any
        /// failure or when the failure came before the first stage. Scalar and row/column states are stored only after
        /// every wave finished, so a throw leaves them as they were.
        /// </summary>
        public (int First, int End, StepKind Stage) LastFailure { get; private set; } = (-1, -1, StepKind.Matrix);

        private bool Remember(int first, int end, StepKind stage)
        {
            LastFailure = (first, end, stage);
            return false; // an exception filter: records where, never catches
        }

        /// <summary>One step of every tensor with hyperparameters <paramref name="hypers"/>; <paramref name="step"/> counts from 1.</summary>
        public void Step(ReadOnlySpan<float> hypers, long step)
        {
            LastFailure = (-1, -1, StepKind.Matrix);
            if (hypers.Length != _schedule.Hypers.Count)
                throw new ArgumentException($"{_schedule.Name} takes {_schedule.Hypers.Count} hyperparameters ({string.Join(", ", _schedule.Hypers.Select(h => h.Name))}), got {hypers.Length}", nameof(hypers));
            if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "steps count from 1");
            _args.Step = step;
            int U = _uniformCount, V = _vectorBuffers.Length;
            int at = -1, atEnd = -1;
            var stage = StepKind.Matrix;
            try
            {
                for (int w = 0; w + 1 < _waveStart.Length; w++)
                {
                    int first = _waveStart[w], end = _waveStart[w + 1];
                    _backend.BeginWave(first, end);
                    for (int t = first; t < end; t++)
                    {
                        var vectors = _vectors[t];
                        if (vectors == null) continue;
                        for (int v = 0; v < V; v++) vectors.LoadState(_vectorBuffers[v], _vectorStates[t * V + v]);
                    }
                    foreach (var s in _schedule.Steps)
                    {
                        stage = s.Kind;
                        switch (s.Kind)
                        {
                            case StepKind.Matrix:
                                for (int t = first; t < end; t++) { at = t; atEnd = t + 1; _backend.RunMatrix(_schedule.Matrices[s.Index], t, _shapes[t], step); }
                                break;
                            case StepKind.Uniforms:
                                for (int t = first; t < end; t++)
                                {
                                    at = t; atEnd = t + 1;
                                    _uniformProgram.Evaluate(s.Index, hypers, step, _uniformShapes[t], Scalars(t), _uniforms.AsSpan(t * U, U));
                                }
                                break;
                            case StepKind.Vectors:
                                for (int t = first; t < end; t++) { at = t; atEnd = t + 1; _vectors[t]?.Evaluate(s.Index, _uniforms.AsSpan(t * U, U)); }
                                break;
                            case StepKind.Pass:
                                at = first; atEnd = end;
                                RunPass(_schedule.Passes[s.Index], first, end);
                                break;
                        }
                    }
                }
            }
            catch (Exception) when (Remember(at, atEnd, stage))
            {
                throw; // not reached: the filter returns false
            }
            for (int t = 0; t < _shapes.Length; t++)
            {
                var uniforms = _uniforms.AsSpan(t * U, U);
                _uniformProgram.StoreScalars(uniforms, Scalars(t));
                var vectors = _vectors[t];
                if (vectors == null) continue;
                for (int v = 0; v < V; v++) vectors.StoreState(_vectorBuffers[v], uniforms, _vectorStates[t * V + v]);
            }
            _backend.EndStep();
        }

        private void RunPass(PassProgram pass, int first, int end)
        {
            int U = _uniformCount, R = pass.Reductions.Count;
            long offset = 0;
            for (int t = first; t < end; t++)
            {
                var source = _uniforms.AsSpan(t * U, U);
                var target = _args.Uniforms.AsSpan(t * U, U);
                for (int i = 0; i < U; i++) target[i] = (float)source[i];
                _args.PartialOffset[t] = offset;
                offset += BlocksOf(pass, _shapes[t]) * R;
            }
            _backend.RunPass(pass, first, end, _args);
            if (R == 0) return;
            for (int t = first; t < end; t++)
            {
                var shape = _shapes[t];
                int blocks = checked((int)BlocksOf(pass, shape));
                ReadOnlySpan<double> partials = _args.Partials.AsSpan(checked((int)_args.PartialOffset[t]), blocks * R);
                if (_exchange != null && !pass.RowWise)
                {
                    partials = _exchange.Complete(t, partials, R); // a piece's partials become the whole tensor's
                    blocks = partials.Length / R;
                    if (_fold.Length < blocks) _fold = new double[blocks];
                }
                for (int r = 0; r < R; r++)
                {
                    var reduction = pass.Reductions[r];
                    if (reduction.Kind == ReductionKind.RowSum)
                    {
                        int perRow = checked((int)Reduction.BlockCount(shape.Cols));
                        var sums = _vectors[t]!.Values(reduction.Target);
                        for (int row = 0; row < shape.Rows; row++)
                        {
                            for (int b = 0; b < perRow; b++) _fold[b] = partials[(row * perRow + b) * R + r];
                            sums[row] = (float)Reduction.FoldBlocks(_fold.AsSpan(0, perRow), max: false);
                        }
                        continue;
                    }
                    for (int b = 0; b < blocks; b++) _fold[b] = partials[b * R + r];
                    _uniforms[t * U + reduction.Target] = Reduction.FoldBlocks(_fold.AsSpan(0, blocks), reduction.IsMax);
                }
            }
        }
    }
}
