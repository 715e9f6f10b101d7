using System;
using System.Buffers;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;

namespace Fused.Runtime.Cpu
{
    /// <summary>
    /// Applies one rule to one tensor's buffers on the CPU, splitting every element pass across the
    /// worker pool's pinned threads. The uniform values are computed once per call. Steady-state calls
    /// allocate nothing. Buffers are the caller's own memory; nothing is copied.
    /// </summary>
    public sealed unsafe class CpuRuleRunner : IDisposable
    {
        private readonly FusedRule _rule;
        private readonly WorkerPool _pool;
        private readonly bool _ownsPool;
        private readonly double[] _uniforms;
        private readonly float[] _uniformsF;
        private readonly nint[] _pointers;
        private readonly MemoryHandle[] _handles;

        /// <summary>Below this many elements a pass runs on the calling thread alone.</summary>
        public const int ParallelThreshold = 1 << 15;

        public CpuRuleRunner(FusedRule rule, WorkerPool? pool = null)
        {
            _rule = rule ?? throw new ArgumentNullException(nameof(rule));
            _ownsPool = pool is null;
            _pool = pool ?? new WorkerPool();
            _uniforms = new double[rule.UniformCount];
            _uniformsF = GC.AllocateArray<float>(rule.UniformCount, pinned: true);
            _pointers = GC.AllocateArray<nint>(rule.BufferCount, pinned: true);
            _handles = new MemoryHandle[rule.BufferCount];
        }

        public FusedRule Rule => _rule;
        public WorkerPool Pool => _pool;

        /// <summary>
        /// One step over buffers in the rule's order (parameter, gradient, states), each of
        /// <paramref name="shape"/>.Numel elements.
        /// </summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<Memory<float>> buffers)
        {
            if (buffers.Length != _rule.BufferCount)
                throw new ArgumentException($"{_rule.Name} takes {_rule.BufferCount} buffers (parameter, gradient, {_rule.BufferCount - 2} state), got {buffers.Length}", nameof(buffers));
            if (hypers.Length != _rule.Hyperparameters.Count)
                throw new ArgumentException($"{_rule.Name} takes {_rule.Hyperparameters.Count} hyperparameters, got {hypers.Length}", nameof(hypers));
            if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "steps count from 1");
            for (int b = 0; b < buffers.Length; b++)
                if (buffers[b].Length != shape.Numel)
                    throw new ArgumentException($"{_rule.Name}: buffer '{_rule.Program.Buffers[b].Name}' has {buffers[b].Length} elements, the tensor has {shape.Numel}", nameof(buffers));
            try
            {
                for (int b = 0; b < buffers.Length; b++)
                {
                    _handles[b] = buffers[b].Pin();
                    _pointers[b] = (nint)_handles[b].Pointer;
                }
                Run(hypers, step, shape);
            }
            finally
            {
                for (int b = 0; b < buffers.Length; b++) _handles[b].Dispose();
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

        private void Run(ReadOnlySpan<float> hypers, long step, ShapeInfo shape)
        {
            for (int pass = 0; pass < _rule.PassCount; pass++)
            {
                _rule.ComputeUniforms(pass, hypers, step, shape, _uniforms);
                for (int i = 0; i < _uniforms.Length; i++) _uniformsF[i] = (float)_uniforms[i];
                fixed (float* u = _uniformsF)
                fixed (nint* p = _pointers)
                {
                    var work = new PassWork(_rule, pass, u, _uniformsF.Length, p, _pointers.Length);
                    if (shape.Numel < ParallelThreshold || _pool.DegreeOfParallelism == 1) work.Execute(0, shape.Numel);
                    else _pool.Run(ref work, shape.Numel);
                }
            }
        }

        private readonly struct PassWork : IRangeWork
        {
            private readonly FusedRule _rule;
            private readonly int _pass;
            private readonly float* _uniforms;
            private readonly int _uniformCount;
            private readonly nint* _buffers;
            private readonly int _bufferCount;

            public PassWork(FusedRule rule, int pass, float* uniforms, int uniformCount, nint* buffers, int bufferCount)
            {
                _rule = rule;
                _pass = pass;
                _uniforms = uniforms;
                _uniformCount = uniformCount;
                _buffers = buffers;
                _bufferCount = bufferCount;
            }

            public void Execute(long start, long end)
            {
                var buffers = new KernelBuffers();
                int length = checked((int)(end - start));
                for (int b = 0; b < _bufferCount; b++) buffers.Add(new Span<float>((float*)_buffers[b] + start, length));
                _rule.RunPass(_pass, new ReadOnlySpan<float>(_uniforms, _uniformCount), in buffers);
            }
        }

        public void Dispose()
        {
            if (_ownsPool) _pool.Dispose();
        }
    }
}
