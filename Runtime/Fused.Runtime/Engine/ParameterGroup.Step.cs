using System;
using Fused.Ir;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Precision;

namespace Fused.Runtime.Engine
{
    // Stepping: waves of tensors, each level one dispatch of units over the pool, float32 or through low-precision scratch.
    internal sealed unsafe partial class ParameterGroup
    {
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
                        for (int k = 0; k < S; k++) keys[k] = RoundingKey(t, k, seed, step);
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
                            if (loads[k]) WidenState(t, k, element, wide);
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
                            NarrowState(t, k, element, scratch.Slice(k * stride, n), keys[k]);
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
