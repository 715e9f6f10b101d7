using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Executes a plan directly, one element at a time, with exactly the semantics of the generated
    /// kernels (float32 element values, float64 uniforms, the fixed reduction order). It is how rules
    /// built at run time (the search) are evaluated without compiling, and the yardstick the
    /// generated kernels are tested against.
    /// </summary>
    public sealed class Interpreter
    {
        private readonly KernelPlan _plan;
        private readonly CompiledPass[] _passes;
        private readonly double[] _uniforms;
        private readonly IMatrixKernels? _matrix;

        /// <param name="matrix">Implementations of the plan's matrix passes (required when it has any).</param>
        public Interpreter(KernelPlan plan, IMatrixKernels? matrix = null)
        {
            _plan = plan;
            _matrix = matrix;
            if (plan.MatrixStages.Count > 0 && matrix is null)
                throw new ArgumentException($"{plan.Program.Name} has matrix passes ({string.Join(", ", plan.MatrixStages.Select(m => m.Op))}); pass an IMatrixKernels");
            _uniforms = new double[plan.Uniforms.Count];
            _passes = plan.Passes.Select(p => new CompiledPass(plan, p)).ToArray();
        }

        public KernelPlan Plan => _plan;

        /// <summary>The uniform values of the last step (float64), by slot.</summary>
        public ReadOnlySpan<double> Uniforms => _uniforms;

        /// <summary>
        /// One optimizer step. <paramref name="buffers"/> are indexed like the program's buffers
        /// (parameter, gradient, states), all of the parameter's length.
        /// </summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, IReadOnlyList<float[]> buffers)
        {
            if (hypers.Length != _plan.Program.Hypers.Count)
                throw new ArgumentException($"{_plan.Program.Name} takes {_plan.Program.Hypers.Count} hyperparameters, got {hypers.Length}");
            if (buffers.Count != _plan.Program.Buffers.Count)
                throw new ArgumentException($"{_plan.Program.Name} takes {_plan.Program.Buffers.Count} buffers, got {buffers.Count}");
            long n = shape.Numel;
            var p = _plan.Program;
            var scalarBuffers = _plan.ScalarBuffers;
            for (int b = 0; b < buffers.Count; b++)
            {
                long expected = p.Buffers[b].Shape == StateShape.Scalar ? 1 : n;
                if (buffers[b].Length != expected)
                    throw new ArgumentException($"buffer {p.Buffers[b].Name} has {buffers[b].Length} elements, expected {expected}");
            }
            var scalars = new float[scalarBuffers.Count];
            for (int k = 0; k < scalars.Length; k++) scalars[k] = buffers[scalarBuffers[k]][0];

            var all = new List<float[]>(buffers);
            for (int k = 0; k < _plan.TempCount; k++) all.Add(new float[n]);
            for (int level = 0; level < _plan.LevelCount; level++)
            {
                foreach (var m in _plan.MatrixStages)
                {
                    if (m.Level != level) continue;
                    int rows = checked((int)shape.Rows), cols = checked((int)shape.Cols);
                    if (m.Op == Op.Orthogonalize) _matrix!.Orthogonalize(all[m.SourceBuffer], rows, cols);
                    else _matrix!.Precondition(all[m.SourceBuffer], rows, cols, step, buffers[0]);
                }
                UniformEvaluator.Evaluate(_plan, level, hypers, step, shape, scalars, _uniforms);
                for (int i = 0; i < _passes.Length; i++)
                    if (_plan.Passes[i].Level == level) _passes[i].Run(_uniforms, all, (int)n);
            }
            UniformEvaluator.StoreScalars(_plan, _uniforms, scalars);
            for (int k = 0; k < scalars.Length; k++) buffers[scalarBuffers[k]][0] = scalars[k];
        }

        private sealed class CompiledPass
        {
            private readonly Op[] _ops;
            private readonly int[][] _sources;      // register indices
            private readonly float[] _constants;    // per register, for uniform/const inputs
            private readonly int[] _uniformSlot;    // register -> slot, or -1
            private readonly int[] _loadBuffer;     // register -> buffer, or -1
            private readonly (int buffer, int register)[] _stores;
            private readonly (int register, bool max, int slot)[] _reductions;
            private readonly int _inputs;           // registers [0, _inputs) are inputs (loads, uniforms, consts)

            public CompiledPass(KernelPlan plan, ElementPass pass)
            {
                var slots = UniformEvaluator.SlotMap(plan);
                var computedSet = new HashSet<Node>(pass.Nodes, NodeIdentityComparer.Instance);
                var regs = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
                var inputs = new List<Node>();
                void AddInput(Node s)
                {
                    if (computedSet.Contains(s) || regs.ContainsKey(s)) return;
                    regs[s] = inputs.Count;
                    inputs.Add(s);
                }
                foreach (var n in pass.Nodes) foreach (var s in n.Sources) AddInput(s);
                foreach (var o in pass.Stores) AddInput(o.Value);
                foreach (var r in pass.Reductions) AddInput(r.Sources[0]);
                _inputs = inputs.Count;
                foreach (var n in pass.Nodes) regs[n] = regs.Count;

                int total = regs.Count;
                _ops = new Op[total];
                _sources = new int[total][];
                _constants = new float[total];
                _uniformSlot = Enumerable.Repeat(-1, total).ToArray();
                _loadBuffer = Enumerable.Repeat(-1, total).ToArray();
                for (int i = 0; i < inputs.Count; i++)
                {
                    var n = inputs[i];
                    _ops[i] = n.Op;
                    _sources[i] = Array.Empty<int>();
                    var input = pass.Inputs.FirstOrDefault(x => x.Value.Equals(n));
                    if (input != null) _loadBuffer[i] = input.Buffer;
                    else if (n.Op == Op.Const) _constants[i] = n.Value;
                    else _uniformSlot[i] = slots.TryGetValue(n, out var slot) ? slot : throw new IrException($"no uniform slot for {n}");
                }
                foreach (var n in pass.Nodes)
                {
                    int r = regs[n];
                    _ops[r] = n.Op;
                    _sources[r] = n.Sources.Select(s => regs[s]).ToArray();
                }
                _stores = pass.Stores.Select(s => (s.Buffer, regs[s.Value])).ToArray();
                _reductions = pass.Reductions.Select(r => (regs[r.Sources[0]], r.Op == Op.ReduceMax, slots[r])).ToArray();
            }

            public void Run(double[] uniforms, IReadOnlyList<float[]> buffers, int n)
            {
                var reg = new float[_ops.Length];
                for (int i = 0; i < _inputs; i++)
                    if (_uniformSlot[i] >= 0) reg[i] = (float)uniforms[_uniformSlot[i]];
                    else if (_loadBuffer[i] < 0) reg[i] = _constants[i];

                int blocks = (int)Reduction.BlockCount(n);
                var partials = _reductions.Select(_ => new double[blocks]).ToArray();
                var scratch = _reductions.Select(_ => new float[Reduction.BlockSize]).ToArray();
                var results = new float[_stores.Length][];
                for (int s = 0; s < _stores.Length; s++) results[s] = new float[n];

                for (int block = 0; block < blocks; block++)
                {
                    int start = block * Reduction.BlockSize, end = Math.Min(n, start + Reduction.BlockSize);
                    for (int e = start; e < end; e++)
                    {
                        for (int i = 0; i < _inputs; i++)
                            if (_loadBuffer[i] >= 0) reg[i] = buffers[_loadBuffer[i]][e];
                        for (int r = _inputs; r < _ops.Length; r++)
                        {
                            var s = _sources[r];
                            reg[r] = Semantics.Float(_ops[r], reg[s[0]], s.Length > 1 ? reg[s[1]] : 0f, s.Length > 2 ? reg[s[2]] : 0f);
                        }
                        for (int k = 0; k < _reductions.Length; k++) scratch[k][e - start] = reg[_reductions[k].register];
                        for (int s = 0; s < _stores.Length; s++) results[s][e] = reg[_stores[s].register];
                    }
                    for (int k = 0; k < _reductions.Length; k++)
                        partials[k][block] = Reduction.ReduceBlock(scratch[k].AsSpan(0, end - start), _reductions[k].max);
                }
                for (int k = 0; k < _reductions.Length; k++)
                    uniforms[_reductions[k].slot] = Reduction.FoldBlocks(partials[k], _reductions[k].max);
                // Stores land only after the whole pass: a pass never reads what it writes.
                for (int s = 0; s < _stores.Length; s++) Array.Copy(results[s], buffers[_stores[s].buffer], n);
            }
        }
    }
}
