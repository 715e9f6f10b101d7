using System;
using System.Collections.Generic;
using Fused.Execution;
using Fused.Ir;

namespace Fused.Runtime.Execution
{
    /// <summary>
    /// The shared scratch of a device backend (OpenCL, ILGPU), which steps one tensor per wave: how large the largest
    /// tensor needs it, and which kernel buffers are the backend's own — temporaries and ColSum operands (one value per
    /// element) and column values (one per column). Device-specific buffers (partials, packed row values) stay with
    /// each backend; the sizing facts live here once.
    /// </summary>
    public static class DeviceScratch
    {
        /// <summary>The largest element count, column count, row count and reduction-block count (of any pass) over the tensors.</summary>
        public readonly record struct Extents(long Elements, long Cols, long Rows, long Blocks);

        /// <summary>The largest extents of <paramref name="schedule"/>'s passes over <paramref name="shapes"/>: what shared scratch must hold.</summary>
        public static Extents Of(KernelSchedule schedule, IReadOnlyList<ShapeInfo> shapes)
        {
            long elements = 1, cols = 1, rows = 1, blocks = 1;
            foreach (var s in shapes)
            {
                elements = Math.Max(elements, s.Numel);
                cols = Math.Max(cols, s.Cols);
                rows = Math.Max(rows, s.Rows);
                foreach (var pass in schedule.Passes) blocks = Math.Max(blocks, ScheduleExecutor.BlocksOf(pass, s));
            }
            return new Extents(elements, cols, rows, blocks);
        }

        /// <summary>
        /// Reallocates the backend's own kernel buffers of one size class, in kernel-buffer order: column values
        /// (<paramref name="columns"/>) or temporaries and ColSum operands, each <paramref name="length"/> floats.
        /// </summary>
        public static void Regrow<TBuffer>(KernelSchedule schedule, TBuffer?[] buffers, bool columns, long length, Func<long, TBuffer> allocate)
            where TBuffer : class, IDisposable
        {
            var ordinals = schedule.KernelBuffers;
            for (int i = 0; i < buffers.Length; i++)
            {
                var kind = schedule.Buffers[ordinals[i]].Kind;
                if (columns ? kind != BufferKind.Column : kind is not (BufferKind.Temp or BufferKind.ColumnSumOperand)) continue;
                buffers[i]?.Dispose();
                buffers[i] = allocate(length);
            }
        }
    }
}
