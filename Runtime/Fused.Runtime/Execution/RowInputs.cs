using System;
using System.Linq;
using Fused.Execution;
using Fused.Ir;

namespace Fused.Runtime.Execution
{
    /// <summary>
    /// What a device backend uploads before a row-wise pass (OpenCL, ILGPU): the column values it reads (buffers of Cols
    /// floats, by kernel ordinal) and, when it reads any, the per-row slots packed row by row — row r's values at
    /// [r · <see cref="PerRowCount"/>, (r + 1) · <see cref="PerRowCount"/>), in <see cref="KernelSchedule.PerRowSlots"/>
    /// order — both from the executor's <see cref="VectorValues"/>.
    /// </summary>
    public sealed class RowInputs
    {
        private readonly int[][] _columnsRead;   // per pass: ordinals of the column-value buffers it reads
        private readonly bool[] _readsPerRow;    // per pass: reads per-row slots
        private readonly int[] _perRowVectors;   // per packed per-row slot: its vector

        /// <summary>The per-row inputs of <paramref name="schedule"/>'s row-wise passes.</summary>
        public RowInputs(KernelSchedule schedule)
        {
            ArgumentNullException.ThrowIfNull(schedule);
            _columnsRead = schedule.Passes.Select(p => p.Inputs
                .Where(i => i.Kind == OperandKind.Buffer && schedule.Buffers[i.Index].Kind == BufferKind.Column)
                .Select(i => schedule.KernelOrdinal(i.Index)).Distinct().ToArray()).ToArray();
            var perRowSlots = schedule.PerRowSlots;
            _readsPerRow = schedule.Passes.Select(p => p.Inputs.Any(i => i.Kind == OperandKind.Slot && perRowSlots.Any(u => u.Slot == i.Index))).ToArray();
            _perRowVectors = perRowSlots.Select(u => u.Index).ToArray();
        }

        /// <summary>Per-row values per row.</summary>
        public int PerRowCount => _perRowVectors.Length;

        /// <summary>Kernel ordinals of the column-value buffers pass <paramref name="pass"/> reads.</summary>
        public int[] ColumnsRead(int pass) => _columnsRead[pass];

        /// <summary>Whether pass <paramref name="pass"/> reads per-row values.</summary>
        public bool ReadsPerRow(int pass) => _readsPerRow[pass];

        /// <summary>
        /// Row by row, each row's per-row values into <paramref name="packed"/> (Rows · <see cref="PerRowCount"/> floats);
        /// a value of a later level is stale and unread.
        /// </summary>
        public void Pack(ShapeInfo shape, VectorValues vectors, Span<float> packed)
        {
            int rows = checked((int)shape.Rows), P = _perRowVectors.Length;
            for (int k = 0; k < P; k++)
            {
                var values = vectors.Values(_perRowVectors[k]);
                for (int r = 0; r < rows; r++) packed[r * P + k] = values[r];
            }
        }
    }
}
