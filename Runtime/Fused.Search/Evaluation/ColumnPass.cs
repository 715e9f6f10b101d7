using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// One element pass of a plan, compiled to a list of column operations: the range is processed in
    /// blocks of <see cref="Reduction.BlockSize"/> elements, and each node is computed for a whole block
    /// by one tight loop (the op dispatch happens once per block, not per element as in
    /// <see cref="Interpreter"/>). Element semantics are those of <see cref="Semantics.Float"/>, so the
    /// results are the generated kernels' bit for bit; reductions use the canonical block order.
    /// Thread-safe: scratch columns are rented per call.
    /// </summary>
    internal sealed class ColumnPass
    {
        private enum InputKind : byte { Load, Uniform, Const }

        private readonly (InputKind kind, int index, float value)[] _inputs;
        private readonly (Op op, int a, int b, int c)[] _computed;
        private readonly (int ordinal, int register)[] _stores;
        private readonly (int register, bool max)[] _reductions;
        private readonly int _registers;

        public ColumnPass(KernelPlan plan, ElementPass pass)
        {
            var slots = UniformEvaluator.SlotMap(plan);
            var elementOrdinal = new Dictionary<int, int>();
            var elementBuffers = plan.ElementBuffers;
            for (int i = 0; i < elementBuffers.Count; i++) elementOrdinal[elementBuffers[i]] = i;

            var computedSet = new HashSet<Node>(pass.Nodes, NodeIdentityComparer.Instance);
            var regs = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            var inputs = new List<(InputKind, int, float)>();
            void AddInput(Node s)
            {
                if (computedSet.Contains(s) || regs.ContainsKey(s)) return;
                regs[s] = inputs.Count;
                // Loads, and values read back from a temporary (or a column buffer), come from a kernel buffer.
                var input = pass.Inputs.FirstOrDefault(x => ReferenceEquals(x.Value, s) || x.Value.Equals(s));
                if (input != null) inputs.Add((InputKind.Load, elementOrdinal[input.Buffer], 0f));
                else if (s.Op == Op.Const) inputs.Add((InputKind.Const, 0, s.Value));
                else inputs.Add((InputKind.Uniform, slots.TryGetValue(s, out var slot) ? slot : throw new IrException($"no uniform slot for {s}"), 0f));
            }
            foreach (var n in pass.Nodes) foreach (var s in n.Sources) AddInput(s);
            foreach (var o in pass.Stores) AddInput(o.Value);
            foreach (var r in pass.Reductions) AddInput(r.Sources[0]);
            _inputs = inputs.ToArray();
            foreach (var n in pass.Nodes) regs[n] = regs.Count;
            _registers = regs.Count;
            _computed = pass.Nodes.Select(n => (n.Op,
                regs[n.Sources[0]],
                n.Sources.Length > 1 ? regs[n.Sources[1]] : 0,
                n.Sources.Length > 2 ? regs[n.Sources[2]] : 0)).ToArray();
            _stores = pass.Stores.Select(s => (elementOrdinal[s.Buffer], regs[s.Value])).ToArray();
            _reductions = pass.Reductions.Select(r => (regs[r.Sources[0]], r.Op == Op.ReduceMax)).ToArray();
        }

        public void Run(ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials)
        {
            int n = buffers[0].Length;
            int width = Math.Min(n, Reduction.BlockSize);
            if (width == 0) return;
            var scratch = ArrayPool<float>.Shared.Rent(_registers * width);
            try
            {
                var columns = scratch.AsSpan(0, _registers * width);
                for (int i = 0; i < _inputs.Length; i++)
                {
                    var (kind, index, value) = _inputs[i];
                    if (kind == InputKind.Const) columns.Slice(i * width, width).Fill(value);
                    else if (kind == InputKind.Uniform) columns.Slice(i * width, width).Fill(uniforms[index]);
                }
                int block = 0;
                for (int start = 0; start < n; start += width, block++)
                {
                    int len = Math.Min(width, n - start);
                    for (int i = 0; i < _inputs.Length; i++)
                        if (_inputs[i].kind == InputKind.Load)
                            buffers[_inputs[i].index].Slice(start, len).CopyTo(columns.Slice(i * width, len));
                    for (int k = 0; k < _computed.Length; k++)
                    {
                        var (op, a, b, c) = _computed[k];
                        int r = _inputs.Length + k;
                        Execute(op, columns.Slice(r * width, len), columns.Slice(a * width, len),
                            columns.Slice(b * width, len), columns.Slice(c * width, len));
                    }
                    for (int k = 0; k < _reductions.Length; k++)
                        partials[block * _reductions.Length + k] = Reduction.ReduceBlock(columns.Slice(_reductions[k].register * width, len), _reductions[k].max);
                    for (int s = 0; s < _stores.Length; s++)
                        columns.Slice(_stores[s].register * width, len).CopyTo(buffers[_stores[s].ordinal].Slice(start, len));
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        }

        private static void Execute(Op op, Span<float> r, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c)
        {
            int n = r.Length;
            switch (op)
            {
                case Op.Neg: for (int i = 0; i < n; i++) r[i] = -a[i]; break;
                case Op.Abs: for (int i = 0; i < n; i++) r[i] = ScalarMath.Abs(a[i]); break;
                case Op.Sign: for (int i = 0; i < n; i++) r[i] = ScalarMath.Sign(a[i]); break;
                case Op.Sqrt: for (int i = 0; i < n; i++) r[i] = ScalarMath.Sqrt(a[i]); break;
                case Op.Rsqrt: for (int i = 0; i < n; i++) r[i] = ScalarMath.Rsqrt(a[i]); break;
                case Op.Exp: for (int i = 0; i < n; i++) r[i] = ScalarMath.Exp(a[i]); break;
                case Op.Log: for (int i = 0; i < n; i++) r[i] = ScalarMath.Log(a[i]); break;
                case Op.Add: for (int i = 0; i < n; i++) r[i] = a[i] + b[i]; break;
                case Op.Sub: for (int i = 0; i < n; i++) r[i] = a[i] - b[i]; break;
                case Op.Mul: for (int i = 0; i < n; i++) r[i] = a[i] * b[i]; break;
                case Op.Div: for (int i = 0; i < n; i++) r[i] = a[i] / b[i]; break;
                case Op.Min: for (int i = 0; i < n; i++) r[i] = ScalarMath.Min(a[i], b[i]); break;
                case Op.Max: for (int i = 0; i < n; i++) r[i] = ScalarMath.Max(a[i], b[i]); break;
                case Op.Pow: for (int i = 0; i < n; i++) r[i] = ScalarMath.Pow(a[i], b[i]); break;
                case Op.Where: for (int i = 0; i < n; i++) r[i] = a[i] != 0f ? b[i] : c[i]; break;
                default:
                    // Comparisons and logic: rare in hot loops, shared definition.
                    for (int i = 0; i < n; i++) r[i] = Semantics.Float(op, a[i], b[i], c[i]);
                    break;
            }
        }
    }
}
