using System;
using System.Buffers;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.Cpu
{
    /// <summary>
    /// Applies one rule to one tensor's buffers on the CPU: the rule's schedule through the
    /// <see cref="ScheduleExecutor"/> on a <see cref="CpuBackend"/> over the caller's memory (nothing is copied but the
    /// scalar and row/column states, which the executor holds during the call). Element passes split across the worker
    /// pool's pinned threads in whole reduction blocks, so sums are the same at any thread count. Steady-state calls
    /// with the same shape allocate nothing.
    /// </summary>
    public sealed unsafe class CpuRuleRunner : IDisposable
    {
        private readonly FusedRule _rule;
        private readonly KernelSchedule _schedule;
        private readonly WorkerPool _pool;
        private readonly bool _ownsPool;
        private readonly CpuBackend _backend;
        private readonly ScheduleExecutor _executor;
        private readonly ShapeInfo[] _shape = new ShapeInfo[1];
        private readonly nint[] _pointers;
        private readonly long[] _noKey = { -1 };
        private readonly Memory<float>[] _parameter = new Memory<float>[1];
        private readonly int[] _ordinalBuffer;

        /// <summary>Below this many elements a pass runs on the calling thread alone.</summary>
        public const int ParallelThreshold = CpuBackend.ParallelThreshold;

        /// <summary>Runs <paramref name="rule"/>'s schedule on the CPU, on <paramref name="pool"/>'s threads (the calling thread alone when null).</summary>
        /// <param name="rule">The generated rule to run.</param>
        /// <param name="pool">Worker threads for element passes; null runs them on the calling thread.</param>
        /// <param name="matrix">Newton-Schulz settings for rules with Orthogonalize (Muon); the seeds' quintic × 5 by default.</param>
        /// <param name="shampoo">Settings for rules with Precondition (Shampoo).</param>
        public CpuRuleRunner(FusedRule rule, WorkerPool? pool = null, NewtonSchulzOptions? matrix = null, ShampooOptions? shampoo = null)
        {
            _rule = rule ?? throw new ArgumentNullException(nameof(rule));
            _schedule = rule.Schedule;
            _ownsPool = pool is null;
            _pool = pool ?? new WorkerPool();
            _backend = new CpuBackend(_schedule, rule, _pool, new MatrixPasses(matrix, shampoo));
            _executor = new ScheduleExecutor(_schedule, _backend);
            _ordinalBuffer = System.Linq.Enumerable.ToArray(_schedule.KernelBuffers);
            _pointers = new nint[_ordinalBuffer.Length];
        }

        /// <summary>The rule this runner steps.</summary>
        public FusedRule Rule => _rule;
        /// <summary>The pinned worker pool the runner steps on.</summary>
        public WorkerPool Pool => _pool;

        /// <summary>
        /// One step over buffers in the rule's order (parameter, gradient, states): element buffers of
        /// <paramref name="shape"/>.Numel elements, row states of Rows, column states of Cols, scalar states of one.
        /// </summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<Memory<float>> buffers)
        {
            if (buffers.Length != _schedule.ProgramBufferCount)
                throw new ArgumentException($"{_rule.Name} takes {_schedule.ProgramBufferCount} buffers ({string.Join(", ", System.Linq.Enumerable.Select(System.Linq.Enumerable.Take(_schedule.Buffers, _schedule.ProgramBufferCount), b => b.Name))}), got {buffers.Length}", nameof(buffers));
            if (shape.Numel < 0 || shape.Rows < 0 || shape.Cols < 0 || shape.Rows * shape.Cols != shape.Numel)
                throw new ArgumentException($"{_rule.Name}: shape {shape.Rows}×{shape.Cols} does not hold {shape.Numel} elements", nameof(shape));
            for (int b = 0; b < buffers.Length; b++)
            {
                long expected = shape.LengthOf(_schedule.Buffers[b].Shape);
                if (buffers[b].Length != expected)
                    throw new ArgumentException($"{_rule.Name}: buffer '{_schedule.Buffers[b].Name}' has {buffers[b].Length} elements, expected {expected}", nameof(buffers));
            }
            int count = buffers.Length;
            var handles = ArrayPool<MemoryHandle>.Shared.Rent(count);
            try
            {
                for (int b = 0; b < count; b++) handles[b] = buffers[b].Pin();
                for (int i = 0; i < _pointers.Length; i++)
                {
                    int b = _ordinalBuffer[i];
                    _pointers[i] = b < count ? (nint)handles[b].Pointer : 0;
                }
                _shape[0] = shape;
                _parameter[0] = buffers[RuleProgram.ParamBuffer];
                _executor.SetShapes(_shape);
                _backend.SetTensors(_shape, _pointers, _noKey, _parameter);

                // Scalar and row/column states: the caller's buffers are their home between calls.
                var scalars = _executor.Scalars(0);
                var scalarBuffers = _schedule.ScalarBuffers;
                for (int k = 0; k < scalarBuffers.Count; k++) scalars[k] = *(float*)handles[scalarBuffers[k]].Pointer;
                foreach (var b in _schedule.VectorBuffers) buffers[b].Span.CopyTo(_executor.VectorState(0, b));
                _executor.Step(hypers, step);
                for (int k = 0; k < scalarBuffers.Count; k++) *(float*)handles[scalarBuffers[k]].Pointer = scalars[k];
                foreach (var b in _schedule.VectorBuffers) _executor.VectorState(0, b).AsSpan().CopyTo(buffers[b].Span);
            }
            finally
            {
                _parameter[0] = default;
                for (int b = 0; b < count; b++) handles[b].Dispose();
                Array.Clear(handles, 0, count);
                ArrayPool<MemoryHandle>.Shared.Return(handles);
            }
        }

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

        /// <inheritdoc/>
        public void Dispose()
        {
            if (_ownsPool) _pool.Dispose();
        }
    }
}
