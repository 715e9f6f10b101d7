using System;
using System.Buffers;
using System.Runtime.InteropServices;
using System.Threading;

namespace Fused.Runtime.Cpu
{
    /// <summary>
    /// Native memory the engine owns for a stream it moves every step (element states, a wave's temporaries): zeroed,
    /// starting <see cref="LineOffset"/> bytes past a 64-byte cache-line boundary, and on Linux, from
    /// <see cref="HugePageBytes"/> up, on 2 MB boundaries with <c>madvise(MADV_HUGEPAGE)</c> before the first touch —
    /// the GC's heaps are not madvised, so under THP=madvise a 256 MB state array otherwise sits on 65,536 4 KB pages.
    /// Freed by <see cref="Dispose()"/> (or, if its owner forgets, by the finalizer); never moved.
    /// </summary>
    /// <remarks>
    /// <see cref="LineOffset"/> lets a state share its parameter's place within a line: the kernels peel a scalar head to
    /// align one stored stream, and every stream starting at the same offset is then aligned too.
    /// </remarks>
    public sealed unsafe class AlignedBuffer<T> : MemoryManager<T> where T : unmanaged
    {
        /// <summary>Buffers of at least this many bytes are placed on huge-page boundaries and advised (Linux).</summary>
        public const long HugePageBytes = 2 << 20;

        private nint _block;         // what NativeMemory.AlignedAlloc returned; 0 once freed
        private readonly T* _data;

        /// <summary>A zeroed buffer of <paramref name="length"/> elements starting <paramref name="lineOffset"/> bytes (a multiple of sizeof(T), below 64) past a line boundary.</summary>
        public AlignedBuffer(long length, int lineOffset = 0)
        {
            if (length < 0 || length > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(length), length, "between 0 and int.MaxValue elements");
            if (lineOffset < 0 || lineOffset >= Kernels.KernelDispatch.CacheLineBytes || lineOffset % sizeof(T) != 0)
                throw new ArgumentOutOfRangeException(nameof(lineOffset), lineOffset, $"a multiple of {sizeof(T)} below {Kernels.KernelDispatch.CacheLineBytes}");
            Length = (int)length;
            LineOffset = lineOffset;
            long bytes = length * sizeof(T) + lineOffset;
            bool huge = bytes >= HugePageBytes && OperatingSystem.IsLinux();
            long alignment = huge ? HugePageBytes : Kernels.KernelDispatch.CacheLineBytes;
            long reserved = Math.Max(alignment, (bytes + alignment - 1) / alignment * alignment);
            var block = NativeMemory.AlignedAlloc((nuint)reserved, (nuint)alignment);
            if (huge) HugePagesAdvised = HugePageAdvice.Madvise(block, (nuint)reserved, HugePageAdvice.MadvHugePage) == 0;
            NativeMemory.Clear(block, (nuint)reserved); // the first touch, after the advice
            _block = (nint)block;
            _data = (T*)((byte*)block + lineOffset);
            GC.AddMemoryPressure(reserved);
            ReservedBytes = reserved;
        }

        /// <summary>Elements.</summary>
        public int Length { get; }

        /// <summary>Bytes from the line boundary before the first element to it.</summary>
        public int LineOffset { get; }

        /// <summary>Bytes reserved (a whole number of lines, or of 2 MB pages when advised).</summary>
        public long ReservedBytes { get; }

        /// <summary>Whether the kernel accepted the huge-page advice (Linux, large buffers).</summary>
        public bool HugePagesAdvised { get; }

        /// <summary>The first element.</summary>
        public T* Pointer => _block == 0 ? throw new ObjectDisposedException(nameof(AlignedBuffer<T>)) : _data;

        /// <summary>The elements.</summary>
        public Span<T> Span => new(Pointer, Length);

        /// <inheritdoc/>
        public override Span<T> GetSpan() => Span;

        /// <inheritdoc/>
        public override MemoryHandle Pin(int elementIndex = 0) => new(Pointer + elementIndex); // native memory never moves

        /// <inheritdoc/>
        public override void Unpin() { }

        /// <summary>Frees the memory (the buffer must no longer be in use).</summary>
        public void Dispose() => ((IDisposable)this).Dispose();

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            nint block = Interlocked.Exchange(ref _block, 0);
            if (block == 0) return;
            NativeMemory.AlignedFree((void*)block);
            GC.RemoveMemoryPressure(ReservedBytes);
            if (disposing) GC.SuppressFinalize(this);
        }

        /// <summary>Frees the memory of a buffer its owner never disposed.</summary>
        /// <remarks>
        /// CA2015 warns that a span over this memory may outlive the buffer's last reference. The engine's spans live inside
        /// a step that keeps its group (the owner) alive (<c>GC.KeepAlive</c>); a caller who drops the optimizer while still
        /// using a span of its state is the one case left. Without the finalizer a forgotten Dispose would leak gigabytes.
        /// </remarks>
#pragma warning disable CA2015
        ~AlignedBuffer() => Dispose(false);
#pragma warning restore CA2015
    }

    internal static unsafe class HugePageAdvice
    {
        public const int MadvHugePage = 14;

        [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
        public static extern int Madvise(void* address, nuint length, int advice);
    }
}
