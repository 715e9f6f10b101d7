using System;
using System.Collections.Generic;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// An OpenCL context on a single device. Owns its <see cref="ProgramCache"/> and any per-context helper
    /// state (e.g. the SGEMM kernels), all released on <see cref="Dispose"/>.
    /// </summary>
    public sealed unsafe class ClContext : IDisposable
    {
        private const ulong MemCopyHostPtr = 1 << 5;
        private readonly ClObjectHandle handle;
        private readonly string? programCacheDirectory;
        private readonly object extensionsLock = new object();
        private readonly Dictionary<Type, IDisposable> extensions = new Dictionary<Type, IDisposable>();
        private ProgramCache? programs;

        private ClContext(OpenClDevice device, IntPtr context, string? programCacheDirectory)
        {
            Device = device;
            handle = new ClObjectHandle(context, ClApi.ReleaseContext);
            this.programCacheDirectory = programCacheDirectory;
        }

        /// <summary>The device this context runs on.</summary>
        public OpenClDevice Device { get; }

        internal IntPtr Handle => handle.Value;

        /// <summary>
        /// The context's program cache (in-memory plus on-disk binaries). Its directory is the one passed to
        /// <see cref="Create"/>, or <see cref="ProgramCache.DefaultDirectory"/>.
        /// </summary>
        public ProgramCache Programs
        {
            get
            {
                lock (extensionsLock)
                {
                    ObjectDisposedException.ThrowIf(handle.IsClosed, this);
                    return programs ??= new ProgramCache(this, programCacheDirectory);
                }
            }
        }

        /// <summary>Creates a context on <paramref name="device"/>.</summary>
        /// <param name="device">The device, e.g. from <see cref="OpenClDevice.Select"/>.</param>
        /// <param name="programCacheDirectory">Directory for cached program binaries; null for the default.</param>
        public static ClContext Create(OpenClDevice device, string? programCacheDirectory = null)
        {
            ArgumentNullException.ThrowIfNull(device);
            IntPtr deviceId = device.Id;
            int status;
            IntPtr context = ClApi.CreateContext(null, 1, &deviceId, IntPtr.Zero, IntPtr.Zero, &status);
            ClApi.Check(status, "clCreateContext");
            return new ClContext(device, context, programCacheDirectory);
        }

        /// <summary>Creates a context on the device chosen by <see cref="OpenClDevice.Select"/> with no hints (environment or default).</summary>
        public static ClContext CreateDefault() => Create(OpenClDevice.Select());

        /// <summary>Creates an in-order command queue, optionally with profiling so events report timestamps.</summary>
        public ClQueue CreateQueue(bool profiling = false)
        {
            int status;
            IntPtr queue = ClApi.CreateCommandQueue(Handle, Device.Id, profiling ? ClInfo.QueueProfilingEnable : 0, &status);
            ClApi.Check(status, "clCreateCommandQueue");
            return new ClQueue(this, queue, profiling);
        }

        /// <summary>Allocates an uninitialised device buffer of <paramref name="bytes"/> bytes.</summary>
        public ClBuffer CreateBuffer(long bytes, ClMemoryAccess access = ClMemoryAccess.ReadWrite)
        {
            // OpenCL rejects zero-sized buffers; a 1-byte buffer keeps zero-length tensors uniform for callers.
            ArgumentOutOfRangeException.ThrowIfNegative(bytes);
            long size = Math.Max(bytes, 1);
            int status;
            IntPtr buffer = ClApi.CreateBuffer(Handle, (ulong)access, (nuint)size, null, &status);
            ClApi.Check(status, "clCreateBuffer");
            return new ClBuffer(this, buffer, bytes);
        }

        /// <summary>Allocates an uninitialised buffer holding <paramref name="count"/> elements of <typeparamref name="T"/>.</summary>
        public ClBuffer CreateBuffer<T>(long count, ClMemoryAccess access = ClMemoryAccess.ReadWrite)
            where T : unmanaged
        {
            return CreateBuffer(count * sizeof(T), access);
        }

        /// <summary>Allocates a buffer initialised with a copy of <paramref name="data"/>.</summary>
        public ClBuffer CreateBuffer<T>(ReadOnlySpan<T> data, ClMemoryAccess access = ClMemoryAccess.ReadWrite)
            where T : unmanaged
        {
            if (data.IsEmpty)
            {
                return CreateBuffer(0, access);
            }
            long bytes = (long)data.Length * sizeof(T);
            int status;
            IntPtr buffer;
            fixed (T* source = data)
            {
                buffer = ClApi.CreateBuffer(Handle, (ulong)access | MemCopyHostPtr, (nuint)bytes, source, &status);
            }
            ClApi.Check(status, "clCreateBuffer");
            return new ClBuffer(this, buffer, bytes);
        }

        /// <summary>Builds a program from source without any caching (see <see cref="Programs"/> for the cached path).</summary>
        public ClProgram BuildProgram(string source, string options = "") => ClProgram.FromSource(this, source, options);

        /// <summary>
        /// Returns the per-context helper state of type <typeparamref name="T"/>, creating it once. Used by helpers
        /// such as <see cref="ClGemm"/> to keep built kernels alive exactly as long as the context.
        /// </summary>
        public T GetOrAddState<T>(Func<ClContext, T> create)
            where T : class, IDisposable
        {
            lock (extensionsLock)
            {
                ObjectDisposedException.ThrowIf(handle.IsClosed, this);
                if (extensions.TryGetValue(typeof(T), out IDisposable? existing))
                {
                    return (T)existing;
                }
                T created = create(this);
                extensions.Add(typeof(T), created);
                return created;
            }
        }

        /// <summary>Releases helper state, cached programs and the context itself.</summary>
        public void Dispose()
        {
            lock (extensionsLock)
            {
                foreach (IDisposable extension in extensions.Values)
                {
                    extension.Dispose();
                }
                extensions.Clear();
                programs?.Dispose();
                programs = null;
            }
            handle.Dispose();
        }
    }
}
