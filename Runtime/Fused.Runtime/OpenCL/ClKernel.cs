using System;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// A kernel object with its arguments. Set arguments, then launch with <see cref="ClQueue.Launch(ClKernel, long, long)"/>.
    /// Arguments are stored in the kernel object itself, so one instance must not be configured from two
    /// threads at once (create one kernel per thread with <see cref="ClProgram.CreateKernel"/> if needed).
    /// </summary>
    public sealed unsafe class ClKernel : IDisposable
    {
        private readonly ClObjectHandle handle;
        private long workGroupSize = -1;
        private long preferredMultiple = -1;

        internal ClKernel(ClProgram program, IntPtr kernel, string name)
        {
            Program = program;
            Name = name;
            handle = new ClObjectHandle(kernel, ClApi.ReleaseKernel);
        }

        /// <summary>The program the kernel belongs to.</summary>
        public ClProgram Program { get; }

        /// <summary>The kernel function name.</summary>
        public string Name { get; }

        internal IntPtr Handle => handle.Value;

        /// <summary>CL_KERNEL_WORK_GROUP_SIZE: the largest work-group this kernel can be launched with on the device.</summary>
        public long WorkGroupSize
        {
            get
            {
                if (workGroupSize < 0)
                {
                    workGroupSize = (long)WorkGroupInfo(ClInfo.KernelWorkGroupSize);
                }
                return workGroupSize;
            }
        }

        /// <summary>CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE (warp/wavefront/SIMD width hint).</summary>
        public long PreferredWorkGroupSizeMultiple
        {
            get
            {
                if (preferredMultiple < 0)
                {
                    preferredMultiple = Math.Max(1, (long)WorkGroupInfo(ClInfo.KernelPreferredWorkGroupSizeMultiple));
                }
                return preferredMultiple;
            }
        }

        /// <summary>Sets a <c>__global</c> or <c>__constant</c> pointer argument.</summary>
        public void SetArg(int index, ClBuffer buffer)
        {
            IntPtr mem = buffer.Handle;
            Set(index, (nuint)sizeof(IntPtr), &mem);
        }

        /// <summary>Sets an <c>int</c> argument.</summary>
        public void SetArg(int index, int value) => Set(index, sizeof(int), &value);

        /// <summary>Sets a <c>uint</c> argument.</summary>
        public void SetArg(int index, uint value) => Set(index, sizeof(uint), &value);

        /// <summary>Sets a <c>long</c> argument.</summary>
        public void SetArg(int index, long value) => Set(index, sizeof(long), &value);

        /// <summary>Sets a <c>float</c> argument.</summary>
        public void SetArg(int index, float value) => Set(index, sizeof(float), &value);

        /// <summary>Sets any by-value argument whose OpenCL layout matches <typeparamref name="T"/> (e.g. float4 as a 16-byte struct).</summary>
        public void SetValue<T>(int index, T value) where T : unmanaged => Set(index, (nuint)sizeof(T), &value);

        /// <summary>
        /// Sets a by-value argument from its bytes, laid out as the kernel declares it: for programs written by other
        /// compilers (ILGPU's OpenCL C) whose structs have no C# type here.
        /// </summary>
        public void SetBytes(int index, ReadOnlySpan<byte> value)
        {
            if (value.IsEmpty) throw new ArgumentException("a by-value kernel argument has at least one byte", nameof(value));
            fixed (byte* bytes = value) Set(index, (nuint)value.Length, bytes);
        }

        /// <summary>Sizes a <c>__local</c> pointer argument to <paramref name="bytes"/> bytes of local memory.</summary>
        public void SetLocalMemory(int index, long bytes) => Set(index, (nuint)bytes, null);

        /// <summary>Releases the kernel object.</summary>
        public void Dispose() => handle.Dispose();

        private void Set(int index, nuint size, void* value)
        {
            int status = ClApi.SetKernelArg(Handle, (uint)index, size, value);
            if (status != 0)
            {
                throw new OpenClException("clSetKernelArg", status, "Kernel " + Name + ", argument " + index + ".");
            }
        }

        private nuint WorkGroupInfo(uint param)
        {
            nuint value;
            ClApi.Check(ClApi.GetKernelWorkGroupInfo(Handle, Program.Context.Device.Id, param, (nuint)sizeof(nuint), &value, null), "clGetKernelWorkGroupInfo");
            return value;
        }
    }
}
