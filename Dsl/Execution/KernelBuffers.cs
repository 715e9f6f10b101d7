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
        private readonly long _roundingBase;
        private readonly IntPtr _parameterCopy;

        /// <param name="pointers">Base address of each buffer (float32); valid while the call runs.</param>
        /// <param name="count">Number of buffers.</param>
        /// <param name="offset">First element of the range, in every buffer.</param>
        /// <param name="length">Elements in the range.</param>
        /// <param name="roundingBase">See <see cref="RoundingBase"/>; 0 for a whole tensor.</param>
        /// <param name="parameterCopy">Base of the parameter's bfloat16 copy (see <see cref="ParameterCopy"/>), or 0 for none.</param>
        public KernelBuffers(IntPtr* pointers, int count, long offset, int length, long roundingBase = 0, IntPtr parameterCopy = default)
        {
            _parameterCopy = parameterCopy;
            if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
            if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
            _pointers = pointers;
            Count = count;
            _offset = offset;
            Length = length;
            _roundingBase = roundingBase;
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

        /// <summary>First element of the range, in every buffer (a tensor element when the pointers are a tensor's bases).</summary>
        public long Offset => _offset;

        /// <summary>
        /// The stochastic-rounding counter of the tensor's element 0: 0 for a whole tensor; for a piece of a parameter
        /// stepped as a tensor of its own (a sharded run), the piece's first element in that parameter, so the piece draws
        /// its parameter's rounding stream and equals one process bit for bit.
        /// </summary>
        public long RoundingBase => _roundingBase;

        /// <summary>Buffer <paramref name="index"/>, whose base holds 16-bit values (bfloat16 state), sliced to the range.</summary>
        public Span<ushort> UInt16(int index)
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the call has {Count} buffers");
            return new Span<ushort>((ushort*)_pointers[index] + _offset, Length);
        }

        /// <summary>Buffer <paramref name="index"/> holding <typeparamref name="T"/> values (a float32 or bfloat16 gradient), sliced to the range.</summary>
        public Span<T> Elements<T>(int index) where T : unmanaged
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the call has {Count} buffers");
            return new Span<T>((T*)_pointers[index] + _offset, Length);
        }

        /// <summary>
        /// The parameter's bfloat16 copy (16-bit values) sliced to the range, which the kernels write beside each parameter store
        /// when asked to; empty when the call has none.
        /// </summary>
        public Span<ushort> ParameterCopy => _parameterCopy == IntPtr.Zero ? default : new Span<ushort>((ushort*)_parameterCopy + _offset, Length);

        /// <summary>The same buffers over [offset + start, offset + start + length).</summary>
        public KernelBuffers Slice(int start, int length)
        {
            if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start)) throw new ArgumentOutOfRangeException(nameof(start));
            return new KernelBuffers(_pointers, Count, _offset + start, length, _roundingBase, _parameterCopy);
        }
    }
}

namespace Fused.Execution
{
    /// <summary>
    /// Managed arrays pinned for kernel calls, with their pointer table in unmanaged memory: for callers (tools, tests)
    /// that run a rule's passes directly on <c>float[]</c> buffers. Dispose to unpin.
    /// </summary>
    public sealed unsafe class PinnedKernelBuffers : IDisposable
    {
        private readonly System.Runtime.InteropServices.GCHandle[] _handles;
        private IntPtr* _table;

        /// <param name="buffers">The kernel buffers in order, each at least as long as the ranges that will be passed.</param>
        public PinnedKernelBuffers(params float[][] buffers)
        {
            if (buffers is null) throw new ArgumentNullException(nameof(buffers));
            _handles = new System.Runtime.InteropServices.GCHandle[buffers.Length];
            _table = (IntPtr*)System.Runtime.InteropServices.Marshal.AllocHGlobal(IntPtr.Size * Math.Max(1, buffers.Length));
            Length = int.MaxValue;
            for (int i = 0; i < buffers.Length; i++)
            {
                var array = buffers[i] ?? throw new ArgumentNullException(nameof(buffers), $"buffer {i} is null");
                _handles[i] = System.Runtime.InteropServices.GCHandle.Alloc(array, System.Runtime.InteropServices.GCHandleType.Pinned);
                _table[i] = _handles[i].AddrOfPinnedObject();
                Length = Math.Min(Length, array.Length);
            }
            if (buffers.Length == 0) Length = 0;
        }

        /// <summary>The shortest buffer's length.</summary>
        public int Length { get; }

        /// <summary>Every buffer sliced to [offset, offset + length).</summary>
        public KernelBuffers Slice(int offset, int length)
        {
            if (_table == null) throw new ObjectDisposedException(nameof(PinnedKernelBuffers));
            if (offset < 0 || length < 0 || offset + length > Length) throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, {offset + length}) is outside the buffers' {Length} elements");
            return new KernelBuffers(_table, _handles.Length, offset, length);
        }

        /// <summary>Every buffer, whole (as long as the shortest).</summary>
        public KernelBuffers All => Slice(0, Length);

        /// <summary>Unpins every buffer.</summary>
        public void Dispose()
        {
            if (_table == null) return;
            foreach (var h in _handles) if (h.IsAllocated) h.Free();
            System.Runtime.InteropServices.Marshal.FreeHGlobal((IntPtr)_table);
            _table = null;
        }
    }
}
