using System;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>A device buffer (cl_mem). Released on <see cref="Dispose"/>.</summary>
    public sealed unsafe class ClBuffer : IDisposable
    {
        private readonly ClObjectHandle handle;

        internal ClBuffer(ClContext context, IntPtr buffer, long sizeBytes)
        {
            Context = context;
            SizeBytes = sizeBytes;
            handle = new ClObjectHandle(buffer, ClApi.ReleaseMemObject);
        }

        /// <summary>The context the buffer was allocated in.</summary>
        public ClContext Context { get; }

        /// <summary>Size in bytes as requested (a zero-sized request still allocates one byte on the device).</summary>
        public long SizeBytes { get; }

        /// <summary>How many elements of <typeparamref name="T"/> fit in the buffer.</summary>
        public long Length<T>() where T : unmanaged => SizeBytes / sizeof(T);

        internal IntPtr Handle => handle.Value;

        /// <summary>Releases the device memory.</summary>
        public void Dispose() => handle.Dispose();
    }
}
