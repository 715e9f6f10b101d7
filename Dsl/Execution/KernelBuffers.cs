using System;

namespace Fused.Execution
{
    /// <summary>
    /// The buffers of one kernel call, in the order of <see cref="Ir.KernelSchedule.KernelBuffers"/>, each sliced to the
    /// range being processed: a table of base pointers (pinned or native memory, or the stack), an element offset and
    /// a length. A ref struct over a pointer table, so a rule may have any number of buffers and passing it allocates
    /// nothing; generated kernels read it through the indexer and never need unsafe code themselves.
    /// </summary>
    public readonly unsafe ref struct KernelBuffers
    {
        private readonly IntPtr* _pointers;
        private readonly long _offset;

        /// <param name="pointers">Base address of each buffer (float32); valid while the call runs.</param>
        /// <param name="count">Number of buffers.</param>
        /// <param name="offset">First element of the range, in every buffer.</param>
        /// <param name="length">Elements in the range.</param>
        public KernelBuffers(IntPtr* pointers, int count, long offset, int length)
        {
            if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
            if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
            _pointers = pointers;
            Count = count;
            _offset = offset;
            Length = length;
        }

        /// <summary>Number of buffers.</summary>
        public int Count { get; }

        /// <summary>Elements in the range every buffer is sliced to.</summary>
        public int Length { get; }

        /// <summary>Buffer <paramref name="index"/> sliced to the range.</summary>
        public Span<float> this[int index]
        {
            get
            {
                if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the call has {Count} buffers");
                return new Span<float>((float*)_pointers[index] + _offset, Length);
            }
        }

        /// <summary>The same buffers over [offset + start, offset + start + length).</summary>
        public KernelBuffers Slice(int start, int length)
        {
            if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start)) throw new ArgumentOutOfRangeException(nameof(start));
            return new KernelBuffers(_pointers, Count, _offset + start, length);
        }
    }
}
