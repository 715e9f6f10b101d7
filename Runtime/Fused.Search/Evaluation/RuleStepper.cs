using System;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// Steps any <see cref="FusedRule"/> on the calling thread, for the many small tensors of proxy
    /// tasks (no pinning, no worker pool; the same level/pass/fold order as the CPU runner).
    /// One instance per thread.
    /// </summary>
    public sealed class RuleStepper
    {
        private readonly FusedRule _rule;
        private readonly KernelPlan _plan;
        private readonly double[] _uniforms;
        private readonly float[] _uniformsF;
        private readonly int[] _elementBuffers;
        private readonly int[] _scalarBuffers;
        private readonly float[] _scalars;
        private readonly int[] _passAtLevel;
        private readonly (int slot, bool max)[][] _reductions;
        private double[] _partials = Array.Empty<double>();
        private double[] _fold = Array.Empty<double>();
        private readonly float[][] _temps;

        public RuleStepper(FusedRule rule)
        {
            _rule = rule;
            _plan = rule.Plan;
            if (_plan.HasVectors || _plan.MatrixStages.Count > 0)
                throw new NotSupportedException($"{rule.Name} has per-row values or matrix passes, which the search's programs never have; step it with CpuRuleRunner");
            _temps = new float[_plan.TempCount][];
            for (int k = 0; k < _temps.Length; k++) _temps[k] = Array.Empty<float>();
            _uniforms = new double[rule.UniformCount];
            _uniformsF = new float[rule.UniformCount];
            _elementBuffers = _plan.ElementBuffers.ToArray();
            _scalarBuffers = _plan.ScalarBuffers.ToArray();
            _scalars = new float[_scalarBuffers.Length];
            _passAtLevel = Enumerable.Range(0, _plan.LevelCount)
                .Select(l => { for (int i = 0; i < _plan.Passes.Count; i++) if (_plan.Passes[i].Level == l) return i; return -1; }).ToArray();
            var slots = UniformEvaluator.SlotMap(_plan);
            _reductions = _plan.Passes.Select(p => p.Reductions.Select(r => (slots[r], r.Op == Op.ReduceMax)).ToArray()).ToArray();
        }

        public FusedRule Rule => _rule;

        /// <summary>One step; buffers in the rule's order (parameter, gradient, states).</summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, float[][] buffers)
        {
            long n = shape.Numel;
            for (int k = 0; k < _temps.Length; k++)
                if (_temps[k].Length < n) _temps[k] = new float[n]; // values one pass stores for a later one; grows once
            for (int k = 0; k < _scalarBuffers.Length; k++) _scalars[k] = buffers[_scalarBuffers[k]][0];
            for (int level = 0; level < _plan.LevelCount; level++)
            {
                _rule.ComputeUniforms(level, hypers, step, shape, _scalars, _uniforms);
                int pass = _passAtLevel[level];
                if (pass < 0) continue;
                for (int i = 0; i < _uniforms.Length; i++) _uniformsF[i] = (float)_uniforms[i];
                var reductions = _reductions[pass];
                int blocks = (int)Reduction.BlockCount(n);
                if (reductions.Length > 0 && _partials.Length < blocks * reductions.Length)
                {
                    _partials = new double[blocks * reductions.Length];
                    _fold = new double[blocks];
                }
                var kb = new KernelBuffers();
                int programBuffers = _plan.Program.Buffers.Count;
                foreach (var b in _elementBuffers) kb.Add(b < programBuffers ? buffers[b].AsSpan(0, (int)n) : _temps[b - programBuffers].AsSpan(0, (int)n));
                _rule.RunPass(pass, _uniformsF, in kb, _partials.AsSpan(0, reductions.Length * blocks));
                for (int k = 0; k < reductions.Length; k++)
                {
                    for (int b = 0; b < blocks; b++) _fold[b] = _partials[b * reductions.Length + k];
                    _uniforms[reductions[k].slot] = Reduction.FoldBlocks(_fold.AsSpan(0, blocks), reductions[k].max);
                }
            }
            _rule.StoreScalars(_uniforms, _scalars);
            for (int k = 0; k < _scalarBuffers.Length; k++) buffers[_scalarBuffers[k]][0] = _scalars[k];
        }
    }
}
