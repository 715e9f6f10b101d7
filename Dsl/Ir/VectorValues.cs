using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// The per-row and per-column values of one tensor during one step (<see cref="KernelPlan.Vectors"/>):
    /// row/column states at entry, RowSum/ColSum results, and what the rule computes from them, in
    /// float32 like element values. One implementation for every backend: the CPU runner, the engine,
    /// the interpreter and the OpenCL runner all compute these small vectors here, so they agree.
    /// Reusable across steps and tensors; it allocates only when a tensor has more rows or columns than
    /// any before.
    /// </summary>
    public sealed class VectorValues
    {
        private readonly KernelPlan _plan;
        private readonly float[][] _values;
        private readonly Operand[][] _sources;
        private readonly (int slot, int vector)[] _perRow;
        private readonly (int slot, int vector, bool max)[] _reductions;
        private readonly Dictionary<Node, int> _index = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
        private long _rows, _cols;

        /// <summary>Where a vector node's source comes from: a constant, a uniform slot, or another vector.</summary>
        private readonly struct Operand
        {
            public readonly float Constant;
            public readonly int Slot;
            public readonly int Vector;
            public Operand(float constant, int slot, int vector) { Constant = constant; Slot = slot; Vector = vector; }
        }

        public VectorValues(KernelPlan plan)
        {
            _plan = plan;
            var vectors = plan.Vectors;
            _values = new float[vectors.Count][];
            for (int v = 0; v < vectors.Count; v++) { _values[v] = Array.Empty<float>(); _index[vectors[v].Node] = v; }
            var slots = UniformEvaluator.SlotMap(plan);
            // Loads and RowSum/ColSum results are filled from outside; only the rest reads sources here.
            _sources = vectors.Select(v => v.Node.Op is Op.Load or Op.RowSum or Op.ColSum ? new Operand[0] : v.Node.Sources.Select(s =>
                s.Op == Op.Const ? new Operand(s.Value, -1, -1)
                : _index.TryGetValue(s, out var vi) ? new Operand(0f, -1, vi)
                : new Operand(0f, slots.TryGetValue(s, out var slot) ? slot : throw new IrException($"no slot for {s}"), -1)).ToArray()).ToArray();
            _perRow = plan.Uniforms.Where(u => u.PerRow).Select(u => (u.Slot, _index[u.Node])).ToArray();
            _reductions = plan.Uniforms
                .Where(u => u.Node.Op is Op.ReduceSum or Op.ReduceMax && _index.ContainsKey(u.Node.Sources[0]))
                .Select(u => (u.Slot, _index[u.Node.Sources[0]], u.Node.Op == Op.ReduceMax)).ToArray();
        }

        public KernelPlan Plan => _plan;

        /// <summary>Sizes the vectors for a tensor of this shape (rows and columns as <see cref="ShapeInfo"/> defines them).</summary>
        public void Begin(ShapeInfo shape)
        {
            _rows = shape.Rows;
            _cols = shape.Cols;
            for (int v = 0; v < _values.Length; v++)
            {
                long length = LengthOf(v);
                if (_values[v].Length < length) _values[v] = new float[checked((int)length)];
            }
        }

        private long LengthOf(int vector) => _plan.Vectors[vector].Domain == Domain.Row ? _rows : _cols;

        /// <summary>Vector <paramref name="vector"/>'s values (rows or columns long).</summary>
        public Span<float> Values(int vector) => _values[vector].AsSpan(0, (int)LengthOf(vector));

        /// <summary>Vector <paramref name="vector"/>'s values as memory (to pin for native or unsafe kernels).</summary>
        public Memory<float> Memory(int vector) => _values[vector].AsMemory(0, (int)LengthOf(vector));

        /// <summary>The vector holding <paramref name="node"/>'s values.</summary>
        public int IndexOf(Node node) => _index.TryGetValue(node, out var v) ? v : throw new ArgumentException($"{node} has no per-row or per-column values", nameof(node));

        /// <summary>Takes a row/column state's values at entry.</summary>
        public void LoadState(int buffer, ReadOnlySpan<float> values)
        {
            foreach (var v in _plan.Vectors)
                if (v.Node.Op == Op.Load && v.Node.Index == buffer)
                {
                    var target = Values(v.Index);
                    if (values.Length != target.Length)
                        throw new ArgumentException($"{_plan.Program.Name}: state '{_plan.Program.Buffers[buffer].Name}' has {values.Length} values, the tensor has {target.Length} {(v.Domain == Domain.Row ? "rows" : "columns")}");
                    values.CopyTo(target);
                }
        }

        /// <summary>
        /// Computes the vector values of <paramref name="level"/> (uniforms of that level must be ready),
        /// then the whole-tensor reductions of vector values whose results belong to level + 1.
        /// </summary>
        public void Evaluate(int level, Span<double> uniforms)
        {
            for (int v = 0; v < _values.Length; v++)
            {
                var slot = _plan.Vectors[v];
                if (slot.Level != level || slot.Node.Op is Op.Load or Op.RowSum or Op.ColSum) continue;
                var op = slot.Node.Op;
                var target = Values(v);
                var sources = _sources[v];
                float a = 0f, b = 0f, c = 0f;
                for (int i = 0; i < target.Length; i++)
                {
                    if (sources.Length > 0) a = Read(sources[0], uniforms, i);
                    if (sources.Length > 1) b = Read(sources[1], uniforms, i);
                    if (sources.Length > 2) c = Read(sources[2], uniforms, i);
                    target[i] = Semantics.Float(op, a, b, c);
                }
            }
            foreach (var (slotIndex, vector, max) in _reductions)
            {
                if (_plan.Vectors[vector].Level != level) continue;
                double reduced = Reduction.ReduceVector(Values(vector), max);
                // A sum over the tensor counts each row value once per column (each column value once per row).
                uniforms[slotIndex] = max ? reduced : reduced * (_plan.Vectors[vector].Domain == Domain.Row ? _cols : _rows);
            }
        }

        private float Read(in Operand o, Span<double> uniforms, int i) =>
            o.Vector >= 0 ? _values[o.Vector][i] : o.Slot >= 0 ? (float)uniforms[o.Slot] : o.Constant;

        /// <summary>Writes row <paramref name="row"/>'s values into the per-row slots of a kernel's uniforms.</summary>
        public void WriteRowSlots(long row, Span<float> uniforms)
        {
            foreach (var (slot, vector) in _perRow) uniforms[slot] = _values[vector][row];
        }

        /// <summary>True when the plan has per-row slots to fill before each row.</summary>
        public bool HasPerRowSlots => _perRow.Length > 0;

        /// <summary>Writes a row/column state's new value (after the last level).</summary>
        public void StoreState(int buffer, ReadOnlySpan<double> uniforms, Span<float> destination)
        {
            foreach (var o in _plan.VectorStores)
            {
                if (o.Buffer != buffer) continue;
                if (_index.TryGetValue(o.Value, out var v)) Values(v).CopyTo(destination);
                else destination.Fill(o.Value.Op == Op.Const ? o.Value.Value : (float)uniforms[_plan.SlotOf(o.Value)!.Slot]);
            }
        }
    }
}
