using System;
using System.Linq;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// The per-row and per-column values of one tensor during a step (<see cref="KernelSchedule.Vectors"/>): row/column
    /// states at entry, RowSum/ColSum results, and what the rule computes from them, float32 like element values.
    /// Every backend uses this one implementation (the executor computes the vectors on the host), so they agree.
    /// Sized by <see cref="Begin"/>; grows only when a tensor has more rows or columns than any before.
    /// </summary>
    public sealed class VectorValues
    {
        private readonly KernelSchedule _schedule;
        private readonly float[][] _values;
        private readonly (int slot, int vector)[] _perRow;
        private long _rows, _cols;

        /// <summary>The per-row and per-column value program of <paramref name="schedule"/>.</summary>
        public VectorValues(KernelSchedule schedule)
        {
            _schedule = schedule;
            _values = new float[schedule.Vectors.Count][];
            for (int v = 0; v < _values.Length; v++) _values[v] = System.Array.Empty<float>();
            _perRow = schedule.PerRowSlots.Select(u => (u.Slot, u.Index)).ToArray();
        }

        /// <summary>The schedule whose vectors this computes.</summary>
        public KernelSchedule Schedule => _schedule;

        /// <summary>Sizes the vectors for a tensor of this shape.</summary>
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

        private long LengthOf(int vector) => _schedule.Vectors[vector].Domain == Domain.Row ? _rows : _cols;

        /// <summary>Vector <paramref name="vector"/>'s values (rows or columns long).</summary>
        public Span<float> Values(int vector) => _values[vector].AsSpan(0, (int)LengthOf(vector));

        /// <summary>Vector <paramref name="vector"/>'s values as an array (at least as long as <see cref="Values"/>), for pinning.</summary>
        public float[] Array(int vector) => _values[vector];

        /// <summary>Takes the row/column states' values at entry; <paramref name="state"/> gives buffer b's values.</summary>
        public void LoadStates(Func<int, float[]> state)
        {
            foreach (var v in _schedule.Vectors)
            {
                if (v.Kind != VectorKind.State) continue;
                var values = state(v.Index);
                var target = Values(v.Vector);
                if (values.Length != target.Length)
                    throw new ArgumentException($"{_schedule.Name}: state '{_schedule.Buffers[v.Index].Name}' has {values.Length} values, the tensor has {target.Length} {(v.Domain == Domain.Row ? "rows" : "columns")}");
                values.AsSpan().CopyTo(target);
            }
        }

        /// <summary>Takes one row/column state's values at entry.</summary>
        public void LoadState(int buffer, ReadOnlySpan<float> values)
        {
            foreach (var v in _schedule.Vectors)
            {
                if (v.Kind != VectorKind.State || v.Index != buffer) continue;
                var target = Values(v.Vector);
                if (values.Length != target.Length)
                    throw new ArgumentException($"{_schedule.Name}: state '{_schedule.Buffers[buffer].Name}' has {values.Length} values, the tensor has {target.Length} {(v.Domain == Domain.Row ? "rows" : "columns")}");
                values.CopyTo(target);
            }
        }

        /// <summary>
        /// Computes the vectors of <paramref name="level"/> (that level's uniforms must be ready), then the whole-tensor
        /// reductions of those vectors (a sum counts each row value once per column, each column value once per row).
        /// </summary>
        public void Evaluate(int level, Span<double> uniforms)
        {
            foreach (var v in _schedule.Vectors)
            {
                if (v.Level != level || v.Kind != VectorKind.Compute) continue;
                var target = Values(v.Vector);
                var sources = v.Sources;
                float a = 0f, b = 0f, c = 0f;
                for (int i = 0; i < target.Length; i++)
                {
                    if (sources.Count > 0) a = Read(sources[0], uniforms, i);
                    if (sources.Count > 1) b = Read(sources[1], uniforms, i);
                    if (sources.Count > 2) c = Read(sources[2], uniforms, i);
                    target[i] = Semantics.Float(v.Op, a, b, c);
                }
            }
            foreach (var r in _schedule.VectorReductions)
            {
                var vector = _schedule.Vectors[r.Vector];
                if (vector.Level != level) continue;
                double reduced = Reduction.ReduceVector(Values(r.Vector), r.Max);
                uniforms[r.Slot] = r.Max ? reduced : reduced * (vector.Domain == Domain.Row ? _cols : _rows);
            }
        }

        private float Read(in Operand o, Span<double> uniforms, int i) => o.Kind switch
        {
            OperandKind.Vector => _values[o.Index][i],
            OperandKind.Slot => (float)uniforms[o.Index],
            _ => o.Value,
        };

        /// <summary>Writes row <paramref name="row"/>'s values into the per-row slots of a kernel's uniforms.</summary>
        public void WriteRowSlots(long row, Span<float> uniforms)
        {
            foreach (var (slot, vector) in _perRow) uniforms[slot] = _values[vector][row];
        }

        /// <summary>True when row-wise passes read per-row slots.</summary>
        public bool HasPerRowSlots => _perRow.Length > 0;

        /// <summary>Writes a row/column state's new value (after the last level) into <paramref name="destination"/>.</summary>
        public void StoreState(int buffer, ReadOnlySpan<double> uniforms, Span<float> destination)
        {
            foreach (var o in _schedule.VectorStores)
            {
                if (o.Buffer != buffer) continue;
                switch (o.Value.Kind)
                {
                    case OperandKind.Vector: Values(o.Value.Index).CopyTo(destination); break;
                    case OperandKind.Slot: destination.Fill((float)uniforms[o.Value.Index]); break;
                    default: destination.Fill(o.Value.Value); break;
                }
            }
        }
    }
}
