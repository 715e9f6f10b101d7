using System;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Launches an element-wise kernel with the signature
    /// <c>kernel(__global float* b0, ..., __global float* b{N-1}, __constant float* uniforms, int n)</c>
    /// (any pointer element types, any __global/__constant qualifiers) over <c>n</c> elements. The global size is
    /// rounded up to a multiple of <see cref="LocalSize"/>, so the kernel must start with <c>if (i &gt;= n) return;</c>.
    /// Arguments that did not change since the previous launch are not re-set, and a launch allocates nothing.
    /// One instance must not be launched from two threads at once (the kernel object holds the arguments).
    /// <para>
    /// On CPU devices such a kernel is slow: PoCL vectorises the work-group's loop over work-items and turns the bounds
    /// check into masked loads and stores (AVX2 vmaskmovps), about 3x slower than a copy on the 2-core EPYC we measure
    /// on. The generated rules therefore also have a vector kernel per pass (see <see cref="ClBackend"/>).
    /// </para>
    /// </summary>
    public sealed class ClElementwise
    {
        private readonly IntPtr[] lastHandles;
        private int lastCount = -1;

        /// <summary>Wraps <paramref name="kernel"/>, whose first <paramref name="bufferCount"/> arguments are buffers.</summary>
        /// <param name="kernel">The element-wise kernel (e.g. from <see cref="ClProgram.GetKernel"/>).</param>
        /// <param name="bufferCount">How many buffer arguments precede the uniforms buffer.</param>
        /// <param name="localSize">Work-group size; 0 chooses one with <see cref="ChooseLocalSize"/>.</param>
        public ClElementwise(ClKernel kernel, int bufferCount, long localSize = 0)
        {
            ArgumentNullException.ThrowIfNull(kernel);
            ArgumentOutOfRangeException.ThrowIfNegative(bufferCount);
            Kernel = kernel;
            BufferCount = bufferCount;
            LocalSize = localSize > 0 ? localSize : ChooseLocalSize(kernel);
            // Slots 0..bufferCount-1 are the buffers, slot bufferCount the uniforms.
            lastHandles = new IntPtr[bufferCount + 1];
        }

        /// <summary>The wrapped kernel.</summary>
        public ClKernel Kernel { get; }

        /// <summary>Number of buffer arguments before the uniforms argument.</summary>
        public int BufferCount { get; }

        /// <summary>The work-group size used for launches.</summary>
        public long LocalSize { get; }

        /// <summary>
        /// A work-group size for a bandwidth-bound 1-D kernel: the largest multiple of the kernel's preferred
        /// multiple not above 256 on GPUs/accelerators, or 1024 on CPU devices (where each work-group is a task
        /// and larger groups amortise scheduling), capped by the kernel's own maximum.
        /// </summary>
        public static long ChooseLocalSize(ClKernel kernel)
        {
            ArgumentNullException.ThrowIfNull(kernel);
            bool cpu = (kernel.Program.Context.Device.Type & OpenClDeviceType.Cpu) != 0;
            long target = Math.Min(cpu ? 1024 : 256, kernel.WorkGroupSize);
            long multiple = kernel.PreferredWorkGroupSizeMultiple;
            long local = target >= multiple ? target / multiple * multiple : target;
            return Math.Max(1, local);
        }

        /// <summary>Sets the arguments and enqueues the kernel over <paramref name="n"/> elements (nothing for n = 0).</summary>
        public void Launch(ClQueue queue, ReadOnlySpan<ClBuffer> buffers, ClBuffer uniforms, int n)
        {
            if (Prepare(queue, buffers, uniforms, n))
            {
                queue.Launch(Kernel, GlobalSize(n), LocalSize);
            }
        }

        /// <summary>Like <see cref="Launch"/> but returns the completion event; null when n = 0 (nothing launched).</summary>
        public ClEvent? EnqueueLaunch(ClQueue queue, ReadOnlySpan<ClBuffer> buffers, ClBuffer uniforms, int n)
        {
            return Prepare(queue, buffers, uniforms, n) ? queue.EnqueueLaunch(Kernel, GlobalSize(n), LocalSize) : null;
        }

        /// <summary>The global size for <paramref name="n"/> elements: n rounded up to a multiple of <see cref="LocalSize"/>.</summary>
        public long GlobalSize(int n) => (n + LocalSize - 1) / LocalSize * LocalSize;

        private bool Prepare(ClQueue queue, ReadOnlySpan<ClBuffer> buffers, ClBuffer uniforms, int n)
        {
            ArgumentNullException.ThrowIfNull(queue);
            ArgumentNullException.ThrowIfNull(uniforms);
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            if (buffers.Length != BufferCount)
            {
                throw new ArgumentException("Kernel " + Kernel.Name + " takes " + BufferCount + " buffers, got " + buffers.Length + ".", nameof(buffers));
            }
            if (n == 0)
            {
                return false;
            }
            for (int i = 0; i < buffers.Length; i++)
            {
                IntPtr handle = buffers[i].Handle;
                if (handle != lastHandles[i])
                {
                    Kernel.SetArg(i, buffers[i]);
                    lastHandles[i] = handle;
                }
            }
            if (uniforms.Handle != lastHandles[BufferCount])
            {
                Kernel.SetArg(BufferCount, uniforms);
                lastHandles[BufferCount] = uniforms.Handle;
            }
            if (n != lastCount)
            {
                Kernel.SetArg(BufferCount + 1, n);
                lastCount = n;
            }
            return true;
        }
    }
}
