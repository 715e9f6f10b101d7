using System;
using System.Buffers;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// An in-order command queue. Plain methods (<see cref="Write{T}"/>, <see cref="Read{T}"/>) block;
    /// <c>Copy</c>/<c>Fill</c>/<c>Launch</c> enqueue without an event; the <c>Enqueue*</c> variants are
    /// non-blocking and return a <see cref="ClEvent"/> (optionally waiting on other events first).
    /// Offsets and counts are in elements of the generic type unless the name says bytes.
    /// </summary>
    public sealed unsafe class ClQueue : IDisposable
    {
        private readonly ClObjectHandle handle;

        internal ClQueue(ClContext context, IntPtr queue, bool profiling)
        {
            Context = context;
            ProfilingEnabled = profiling;
            handle = new ClObjectHandle(queue, ClApi.ReleaseCommandQueue);
        }

        /// <summary>The context the queue belongs to.</summary>
        public ClContext Context { get; }

        /// <summary>The device the queue submits to.</summary>
        public OpenClDevice Device => Context.Device;

        /// <summary>True when events carry profiling timestamps.</summary>
        public bool ProfilingEnabled { get; }

        internal IntPtr Handle => handle.Value;

        /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> at element <paramref name="destinationOffset"/>; returns when done.</summary>
        public void Write<T>(ClBuffer destination, ReadOnlySpan<T> source, long destinationOffset = 0)
            where T : unmanaged
        {
            if (source.IsEmpty)
            {
                return;
            }
            CheckRange(destination, destinationOffset * sizeof(T), (long)source.Length * sizeof(T));
            fixed (T* host = source)
            {
                ClApi.Check(
                    ClApi.EnqueueWriteBuffer(Handle, destination.Handle, 1, (nuint)(destinationOffset * sizeof(T)), (nuint)((long)source.Length * sizeof(T)), host, 0, null, null),
                    "clEnqueueWriteBuffer");
            }
        }

        /// <summary>
        /// Starts copying <paramref name="source"/> to the device without blocking. The memory stays pinned until
        /// the returned event is waited on or disposed; do not modify it before the event completes.
        /// </summary>
        public ClEvent EnqueueWrite<T>(ClBuffer destination, ReadOnlyMemory<T> source, long destinationOffset = 0, ReadOnlySpan<ClEvent> waitFor = default)
            where T : unmanaged
        {
            long bytes = (long)source.Length * sizeof(T);
            CheckRange(destination, destinationOffset * sizeof(T), bytes);
            MemoryHandle pin = source.Pin();
            IntPtr evt;
            int status;
            IntPtr* waitList = stackalloc IntPtr[Math.Max(waitFor.Length, 1)];
            uint waitCount = FillWaitList(waitFor, waitList);
            status = ClApi.EnqueueWriteBuffer(Handle, destination.Handle, 0, (nuint)(destinationOffset * sizeof(T)), (nuint)bytes, pin.Pointer, waitCount, waitCount == 0 ? null : waitList, &evt);
            if (status != 0)
            {
                pin.Dispose();
                ClApi.Check(status, "clEnqueueWriteBuffer");
            }
            return new ClEvent(evt, pin, pinned: true);
        }

        /// <summary>Copies from <paramref name="source"/> at element <paramref name="sourceOffset"/> into <paramref name="destination"/>; returns when done.</summary>
        public void Read<T>(ClBuffer source, Span<T> destination, long sourceOffset = 0)
            where T : unmanaged
        {
            if (destination.IsEmpty)
            {
                return;
            }
            CheckRange(source, sourceOffset * sizeof(T), (long)destination.Length * sizeof(T));
            fixed (T* host = destination)
            {
                ClApi.Check(
                    ClApi.EnqueueReadBuffer(Handle, source.Handle, 1, (nuint)(sourceOffset * sizeof(T)), (nuint)((long)destination.Length * sizeof(T)), host, 0, null, null),
                    "clEnqueueReadBuffer");
            }
        }

        /// <summary>
        /// Starts reading into <paramref name="destination"/> without blocking; the data is valid once the returned
        /// event completes. The memory stays pinned until the event is waited on or disposed.
        /// </summary>
        public ClEvent EnqueueRead<T>(ClBuffer source, Memory<T> destination, long sourceOffset = 0, ReadOnlySpan<ClEvent> waitFor = default)
            where T : unmanaged
        {
            long bytes = (long)destination.Length * sizeof(T);
            CheckRange(source, sourceOffset * sizeof(T), bytes);
            MemoryHandle pin = destination.Pin();
            IntPtr evt;
            IntPtr* waitList = stackalloc IntPtr[Math.Max(waitFor.Length, 1)];
            uint waitCount = FillWaitList(waitFor, waitList);
            int status = ClApi.EnqueueReadBuffer(Handle, source.Handle, 0, (nuint)(sourceOffset * sizeof(T)), (nuint)bytes, pin.Pointer, waitCount, waitCount == 0 ? null : waitList, &evt);
            if (status != 0)
            {
                pin.Dispose();
                ClApi.Check(status, "clEnqueueReadBuffer");
            }
            return new ClEvent(evt, pin, pinned: true);
        }

        /// <summary>Enqueues a device-to-device copy of <paramref name="bytes"/> bytes.</summary>
        public void Copy(ClBuffer source, ClBuffer destination, long bytes, long sourceOffsetBytes = 0, long destinationOffsetBytes = 0)
        {
            CopyCore(source, destination, bytes, sourceOffsetBytes, destinationOffsetBytes, default, null);
        }

        /// <summary>Enqueues a device-to-device copy and returns its completion event.</summary>
        public ClEvent EnqueueCopy(ClBuffer source, ClBuffer destination, long bytes, long sourceOffsetBytes = 0, long destinationOffsetBytes = 0, ReadOnlySpan<ClEvent> waitFor = default)
        {
            IntPtr evt;
            CopyCore(source, destination, bytes, sourceOffsetBytes, destinationOffsetBytes, waitFor, &evt);
            return new ClEvent(evt);
        }

        /// <summary>Enqueues filling <paramref name="count"/> elements from element <paramref name="offset"/> with <paramref name="value"/>.</summary>
        public void Fill<T>(ClBuffer destination, T value, long offset, long count)
            where T : unmanaged
        {
            FillCore(destination, value, offset, count, default, null);
        }

        /// <summary>Enqueues a fill and returns its completion event.</summary>
        public ClEvent EnqueueFill<T>(ClBuffer destination, T value, long offset, long count, ReadOnlySpan<ClEvent> waitFor = default)
            where T : unmanaged
        {
            IntPtr evt;
            FillCore(destination, value, offset, count, waitFor, &evt);
            return new ClEvent(evt);
        }

        /// <summary>
        /// Enqueues a 1-D launch of <paramref name="globalSize"/> work-items in groups of <paramref name="localSize"/>
        /// (0 lets the driver choose). Arguments must already be set on <paramref name="kernel"/>.
        /// </summary>
        public void Launch(ClKernel kernel, long globalSize, long localSize = 0)
        {
            nuint global = (nuint)globalSize;
            nuint local = (nuint)localSize;
            ClApi.Check(
                ClApi.EnqueueNDRangeKernel(Handle, kernel.Handle, 1, null, &global, localSize == 0 ? null : &local, 0, null, null),
                "clEnqueueNDRangeKernel");
        }

        /// <summary>
        /// Enqueues a 1-D launch whose work-items have global ids <paramref name="globalOffset"/> to
        /// <paramref name="globalOffset"/> + <paramref name="globalSize"/> - 1 (a kernel's tail after another kernel covered the start).
        /// </summary>
        public void Launch(ClKernel kernel, long globalSize, long localSize, long globalOffset)
        {
            nuint global = (nuint)globalSize;
            nuint local = (nuint)localSize;
            nuint offset = (nuint)globalOffset;
            ClApi.Check(
                ClApi.EnqueueNDRangeKernel(Handle, kernel.Handle, 1, globalOffset == 0 ? null : &offset, &global, localSize == 0 ? null : &local, 0, null, null),
                "clEnqueueNDRangeKernel");
        }

        /// <summary>Like <see cref="Launch(ClKernel, long, long)"/> but returns the completion event (for waiting or profiling).</summary>
        public ClEvent EnqueueLaunch(ClKernel kernel, long globalSize, long localSize = 0, ReadOnlySpan<ClEvent> waitFor = default)
        {
            nuint global = (nuint)globalSize;
            nuint local = (nuint)localSize;
            IntPtr evt;
            IntPtr* waitList = stackalloc IntPtr[Math.Max(waitFor.Length, 1)];
            uint waitCount = FillWaitList(waitFor, waitList);
            ClApi.Check(
                ClApi.EnqueueNDRangeKernel(Handle, kernel.Handle, 1, null, &global, localSize == 0 ? null : &local, waitCount, waitCount == 0 ? null : waitList, &evt),
                "clEnqueueNDRangeKernel");
            return new ClEvent(evt);
        }

        /// <summary>Enqueues a 2-D launch; dimension 0 is the fastest-varying (get_global_id(0)).</summary>
        public void Launch2D(ClKernel kernel, long global0, long global1, long local0 = 0, long local1 = 0)
        {
            Launch2DCore(kernel, global0, global1, local0, local1, null);
        }

        /// <summary>Like <see cref="Launch2D"/> but returns the completion event.</summary>
        public ClEvent EnqueueLaunch2D(ClKernel kernel, long global0, long global1, long local0 = 0, long local1 = 0)
        {
            IntPtr evt;
            Launch2DCore(kernel, global0, global1, local0, local1, &evt);
            return new ClEvent(evt);
        }

        /// <summary>Blocks until every command in the queue has completed (clFinish).</summary>
        public void Finish() => ClApi.Check(ClApi.Finish(Handle), "clFinish");

        /// <summary>Submits queued commands to the device without waiting (clFlush).</summary>
        public void Flush() => ClApi.Check(ClApi.Flush(Handle), "clFlush");

        /// <summary>Releases the queue (pending commands still complete in the driver).</summary>
        public void Dispose() => handle.Dispose();

        private void Launch2DCore(ClKernel kernel, long global0, long global1, long local0, long local1, IntPtr* evt)
        {
            nuint* global = stackalloc nuint[2] { (nuint)global0, (nuint)global1 };
            nuint* local = stackalloc nuint[2] { (nuint)local0, (nuint)local1 };
            bool driverChoosesLocal = local0 == 0 || local1 == 0;
            ClApi.Check(
                ClApi.EnqueueNDRangeKernel(Handle, kernel.Handle, 2, null, global, driverChoosesLocal ? null : local, 0, null, evt),
                "clEnqueueNDRangeKernel");
        }

        private void CopyCore(ClBuffer source, ClBuffer destination, long bytes, long sourceOffsetBytes, long destinationOffsetBytes, ReadOnlySpan<ClEvent> waitFor, IntPtr* evt)
        {
            CheckRange(source, sourceOffsetBytes, bytes);
            CheckRange(destination, destinationOffsetBytes, bytes);
            IntPtr* waitList = stackalloc IntPtr[Math.Max(waitFor.Length, 1)];
            uint waitCount = FillWaitList(waitFor, waitList);
            ClApi.Check(
                ClApi.EnqueueCopyBuffer(Handle, source.Handle, destination.Handle, (nuint)sourceOffsetBytes, (nuint)destinationOffsetBytes, (nuint)bytes, waitCount, waitCount == 0 ? null : waitList, evt),
                "clEnqueueCopyBuffer");
        }

        private void FillCore<T>(ClBuffer destination, T value, long offset, long count, ReadOnlySpan<ClEvent> waitFor, IntPtr* evt)
            where T : unmanaged
        {
            CheckRange(destination, offset * sizeof(T), count * sizeof(T));
            IntPtr* waitList = stackalloc IntPtr[Math.Max(waitFor.Length, 1)];
            uint waitCount = FillWaitList(waitFor, waitList);
            ClApi.Check(
                ClApi.EnqueueFillBuffer(Handle, destination.Handle, &value, (nuint)sizeof(T), (nuint)(offset * sizeof(T)), (nuint)(count * sizeof(T)), waitCount, waitCount == 0 ? null : waitList, evt),
                "clEnqueueFillBuffer");
        }

        private static uint FillWaitList(ReadOnlySpan<ClEvent> waitFor, IntPtr* waitList)
        {
            for (int i = 0; i < waitFor.Length; i++)
            {
                waitList[i] = waitFor[i].Handle;
            }
            return (uint)waitFor.Length;
        }

        private static void CheckRange(ClBuffer buffer, long offsetBytes, long bytes)
        {
            if (offsetBytes < 0 || bytes < 0 || offsetBytes + bytes > buffer.SizeBytes)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(offsetBytes),
                    "Range [" + offsetBytes + ", " + (offsetBytes + bytes) + ") bytes is outside the " + buffer.SizeBytes + "-byte buffer.");
            }
        }
    }
}
