using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Reusable scratch memory for the matrix passes. Buffers grow to the largest request seen and are then
    /// reused, so a steady-state call with unchanged shapes allocates nothing. Not thread-safe: use one
    /// workspace per thread (or per concurrently processed parameter).
    /// </summary>
    public sealed class MatrixWorkspace
    {
        internal const int SlotCount = 6;

        private readonly float[][] slots = new float[SlotCount][];

        /// <summary>Creates an empty workspace; buffers are allocated on first use.</summary>
        public MatrixWorkspace()
        {
            for (int i = 0; i < SlotCount; i++)
            {
                slots[i] = Array.Empty<float>();
            }
        }

        /// <summary>Total floats currently held, for memory accounting.</summary>
        public long CapacityElements
        {
            get
            {
                long total = 0;
                foreach (float[] slot in slots)
                {
                    total += slot.Length;
                }

                return total;
            }
        }

        /// <summary>Pre-sizes the buffers <see cref="NewtonSchulz.Orthogonalize(ReadOnlySpan{float}, int, int, Span{float}, NewtonSchulzOptions, MatrixWorkspace)"/> needs for a rows×cols input, so the first call allocates nothing either.</summary>
        public void ReserveForNewtonSchulz(int rows, int cols)
        {
            if (rows <= 0 || cols <= 0)
            {
                throw new ArgumentException($"Matrix shape must be positive, got {rows}x{cols}.");
            }

            int small = Math.Min(rows, cols);
            Get(0, checked(rows * cols));
            for (int slot = 1; slot <= 5; slot++)
            {
                Get(slot, checked(small * small));
            }
        }

        /// <summary>Slot <paramref name="slot"/> as a span of exactly <paramref name="length"/> floats (contents unspecified).</summary>
        internal Span<float> Get(int slot, int length)
        {
            float[] buffer = slots[slot];
            if (buffer.Length < length)
            {
                buffer = GC.AllocateUninitializedArray<float>(length);
                slots[slot] = buffer;
            }

            return buffer.AsSpan(0, length);
        }
    }
}
