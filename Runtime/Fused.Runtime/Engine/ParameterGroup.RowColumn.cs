using System;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Precision;

namespace Fused.Runtime.Engine
{
    // Rules with per-row/per-column values: tensor by tensor through the single-tensor runner.
    internal sealed unsafe partial class ParameterGroup
    {
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
                        WidenState(t, k, 0, _wideStates[k].AsSpan(0, n));
                        fixed (float* f = _wideStates[k]) _programPointers[t * B + _stateBufferIndex[k]] = (nint)f;
                    }
                }
                _vectorRunner.StepPinned(Hypers, step, _shapes[t], pointers, pool, default, _parameterIndex[t]);
                if (Precision == StatePrecision.Float32) continue;
                for (int k = 0; k < S; k++)
                {
                    if (!_storedEver[k]) continue;
                    NarrowState(t, k, 0, _wideStates[k].AsSpan(0, n), RoundingKey(t, k, seed, step));
                }
            }
        }
    }
}
