using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Executes a plan directly, one element at a time, with exactly the semantics of the generated
    /// kernels (float32 element values, float64 uniforms, the fixed reduction orders of
    /// <see cref="Reduction"/>, row-wise passes row by row). It is how rules built at run time (the
    /// search) are evaluated without compiling, and the yardstick the generated kernels are tested against.
    /// </summary>
    public sealed class Interpreter
    {
        private readonly KernelPlan _plan;
        private readonly CompiledPass[] _passes;
        private readonly double[] _uniforms;
        private readonly IMatrixKernels? _matrix;
        private readonly VectorValues _vectors;

        /// <param name="matrix">Implementations of the plan's matrix passes (required when it has any).</param>
        public Interpreter(KernelPlan plan, IMatrixKernels? matrix = null)
        {
            _plan = plan;
            _matrix = matrix;
            if (plan.MatrixStages.Count > 0 && matrix is null)
                throw new ArgumentException($"{plan.Program.Name} has matrix passes ({string.Join(", ", plan.MatrixStages.Select(m => m.Op))}); pass an IMatrixKernels");
            _uniforms = new double[plan.Uniforms.Count];
            _vectors = new VectorValues(plan);
            _passes = plan.Passes.Select(p => new CompiledPass(plan, p, _vectors)).ToArray();
        }

        public KernelPlan Plan => _plan;

        /// <summary>The uniform values of the last step (float64), by slot.</summary>
        public ReadOnlySpan<double> Uniforms => _uniforms;

        /// <summary>
        /// One optimizer step. <paramref name="buffers"/> are indexed like the program's buffers
        /// (parameter, gradient, states): element buffers of the parameter's length, row states of
        /// <see cref="ShapeInfo.Rows"/>, column states of <see cref="ShapeInfo.Cols"/>, scalar states of one.
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
                long expected = shape.LengthOf(p.Buffers[b].Shape);
                if (buffers[b].Length != expected)
                    throw new ArgumentException($"buffer {p.Buffers[b].Name} has {buffers[b].Length} elements, expected {expected}");
            }
            var scalars = new float[scalarBuffers.Count];
            for (int k = 0; k < scalars.Length; k++) scalars[k] = buffers[scalarBuffers[k]][0];
            _vectors.Begin(shape);
            foreach (var b in _plan.VectorBuffers) _vectors.LoadState(b, buffers[b]);

            var all = new List<float[]>(buffers);
            foreach (var extra in _plan.Extras)
                all.Add(extra.Kind == ExtraKind.Temp ? new float[n] : Array.Empty<float>()); // column values live in _vectors
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
                _vectors.Evaluate(level, _uniforms);
                for (int i = 0; i < _passes.Length; i++)
                    if (_plan.Passes[i].Level == level) _passes[i].Run(_uniforms, all, shape);
            }
            UniformEvaluator.StoreScalars(_plan, _uniforms, scalars);
            for (int k = 0; k < scalars.Length; k++) buffers[scalarBuffers[k]][0] = scalars[k];
            foreach (var b in _plan.VectorBuffers) _vectors.StoreState(b, _uniforms, buffers[b]);
        }

        private sealed class CompiledPass
        {
            private readonly ElementPass _pass;
            private readonly VectorValues _vectors;
            private readonly Op[] _ops;
            private readonly int[][] _sources;      // register indices
            private readonly float[] _constants;    // per register, for const inputs
            private readonly int[] _uniformSlot;    // register -> slot, or -1
            private readonly int[] _loadBuffer;     // register -> element buffer, or -1
            private readonly int[] _columnVector;   // register -> column vector, or -1
            private readonly (int buffer, int register)[] _stores;
            private readonly (int sum, int register)[] _columnSums;   // ColSum vector, operand register
            private readonly (int register, Op op, int target)[] _reductions; // target: uniform slot, or RowSum vector
            private readonly int _inputs;           // registers [0, _inputs) are inputs (loads, uniforms, consts)

            public CompiledPass(KernelPlan plan, ElementPass pass, VectorValues vectors)
            {
                _pass = pass;
                _vectors = vectors;
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
                _columnVector = Enumerable.Repeat(-1, total).ToArray();
                for (int i = 0; i < inputs.Count; i++)
                {
                    var n = inputs[i];
                    _ops[i] = n.Op;
                    _sources[i] = Array.Empty<int>();
                    var input = pass.Inputs.FirstOrDefault(x => x.Value.Equals(n));
                    if (input != null && plan.ExtraOf(input.Buffer)?.Kind == ExtraKind.Column) _columnVector[i] = vectors.IndexOf(n);
                    else if (input != null) _loadBuffer[i] = input.Buffer;
                    else if (n.Op == Op.Const) _constants[i] = n.Value;
                    else _uniformSlot[i] = slots.TryGetValue(n, out var slot) ? slot : throw new IrException($"no uniform slot for {n}");
                }
                foreach (var n in pass.Nodes)
                {
                    int r = regs[n];
                    _ops[r] = n.Op;
                    _sources[r] = n.Sources.Select(s => regs[s]).ToArray();
                }
                _stores = pass.Stores.Where(s => plan.ExtraOf(s.Buffer)?.Kind != ExtraKind.ColumnSumOperand).Select(s => (s.Buffer, regs[s.Value])).ToArray();
                _columnSums = pass.Stores.Where(s => plan.ExtraOf(s.Buffer)?.Kind == ExtraKind.ColumnSumOperand)
                    .Select(s => (vectors.IndexOf(plan.ExtraOf(s.Buffer)!.Node), regs[s.Value])).ToArray();
                _reductions = pass.Reductions.Select(r => (regs[r.Sources[0]], r.Op, r.Op == Op.RowSum ? vectors.IndexOf(r) : slots[r])).ToArray();
            }

            public void Run(double[] uniforms, IReadOnlyList<float[]> buffers, ShapeInfo shape)
            {
                int n = checked((int)shape.Numel);
                // Rows are the unit of a row-wise pass; any other pass is one long row.
                int rows = _pass.RowWise ? checked((int)shape.Rows) : 1;
                int cols = _pass.RowWise ? checked((int)shape.Cols) : n;
                int blocksPerRow = (int)Reduction.BlockCount(cols);
                var uniformsF = uniforms.Select(u => (float)u).ToArray();
                var reg = new float[_ops.Length];
                for (int i = 0; i < _inputs; i++)
                    if (_loadBuffer[i] < 0 && _uniformSlot[i] < 0 && _columnVector[i] < 0) reg[i] = _constants[i];

                var partials = _reductions.Select(_ => new double[rows * blocksPerRow]).ToArray();
                var scratch = _reductions.Select(_ => new float[Reduction.BlockSize]).ToArray();
                var results = new float[_stores.Length][];
                for (int s = 0; s < _stores.Length; s++) results[s] = new float[n];
                long groupSize = Reduction.RowGroupSize(rows);
                int groups = (int)((rows + groupSize - 1) / groupSize);
                var columnSums = _columnSums.Select(_ => new double[groups, cols]).ToArray();

                for (int row = 0; row < rows; row++)
                {
                    if (_pass.RowWise) _vectors.WriteRowSlots(row, uniformsF);
                    for (int i = 0; i < _inputs; i++)
                        if (_uniformSlot[i] >= 0) reg[i] = uniformsF[_uniformSlot[i]];
                    for (int block = 0; block < blocksPerRow; block++)
                    {
                        int start = block * Reduction.BlockSize, end = Math.Min(cols, start + Reduction.BlockSize);
                        for (int col = start; col < end; col++)
                        {
                            int e = row * cols + col;
                            for (int i = 0; i < _inputs; i++)
                            {
                                if (_loadBuffer[i] >= 0) reg[i] = buffers[_loadBuffer[i]][e];
                                else if (_columnVector[i] >= 0) reg[i] = _vectors.Values(_columnVector[i])[col];
                            }
                            for (int r = _inputs; r < _ops.Length; r++)
                            {
                                var s = _sources[r];
                                reg[r] = Semantics.Float(_ops[r], reg[s[0]], s.Length > 1 ? reg[s[1]] : 0f, s.Length > 2 ? reg[s[2]] : 0f);
                            }
                            for (int k = 0; k < _reductions.Length; k++) scratch[k][col - start] = reg[_reductions[k].register];
                            for (int s = 0; s < _stores.Length; s++) results[s][e] = reg[_stores[s].register];
                            for (int k = 0; k < _columnSums.Length; k++) columnSums[k][row / groupSize, col] += reg[_columnSums[k].register];
                        }
                        for (int k = 0; k < _reductions.Length; k++)
                            partials[k][row * blocksPerRow + block] = Reduction.ReduceBlock(scratch[k].AsSpan(0, end - start), _reductions[k].op == Op.ReduceMax);
                    }
                }
                for (int k = 0; k < _reductions.Length; k++)
                {
                    var (_, op, target) = _reductions[k];
                    if (op == Op.RowSum)
                    {
                        var sums = _vectors.Values(target);
                        for (int row = 0; row < rows; row++)
                            sums[row] = (float)Reduction.FoldBlocks(partials[k].AsSpan(row * blocksPerRow, blocksPerRow).ToArray(), max: false);
                    }
                    else uniforms[target] = Reduction.FoldBlocks(partials[k], op == Op.ReduceMax);
                }
                for (int k = 0; k < _columnSums.Length; k++)
                {
                    var sums = _vectors.Values(_columnSums[k].sum);
                    var fold = new double[groups];
                    for (int col = 0; col < cols; col++)
                    {
                        for (int g = 0; g < groups; g++) fold[g] = columnSums[k][g, col];
                        sums[col] = (float)Reduction.FoldBlocks(fold, max: false);
                    }
                }
                // Stores land only after the whole pass: a pass never reads what it writes.
                for (int s = 0; s < _stores.Length; s++) Array.Copy(results[s], buffers[_stores[s].buffer], n);
            }
        }
    }
}
