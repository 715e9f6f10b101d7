using System;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Deterministic sum of a float array: each work-group writes one float partial sum (each work-item adds a
    /// fixed strided subset in fixed order, then a fixed-shape tree in local memory), and the host adds the
    /// partials in index order in double. The group count and local size depend only on n and the device, so
    /// repeated sums of the same data on the same device give bit-identical results.
    /// Thread-safe (launches are serialised per instance).
    /// </summary>
    public sealed class ClReduction : IDisposable
    {
        /// <summary>The OpenCL C source of the partial-sum kernel.</summary>
        public const string KernelSource = @"
// partials[group] = sum of x[offset + i] over the i this group's work-items visit, in a fixed order.
__kernel void fused_partial_sums(__global const float* restrict x, const int offset, const int n,
                                 __global float* restrict partials, __local float* scratch)
{
    const int lid = get_local_id(0);
    const int stride = get_global_size(0);
    float s = 0.0f;
    for (int i = get_global_id(0); i < n; i += stride) s += x[offset + i];
    scratch[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = get_local_size(0) / 2; width > 0; width >>= 1) {
        if (lid < width) scratch[lid] += scratch[lid + width];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) partials[get_group_id(0)] = scratch[0];
}
";

        /// <summary>Upper bound on work-groups (and so on partials read back per sum).</summary>
        public const int MaxGroups = 256;

        private readonly object gate = new object();
        private readonly ClKernel kernel;
        private readonly ClBuffer partials;
        private readonly float[] hostPartials = new float[MaxGroups];

        /// <summary>Builds (or fetches from <see cref="ClContext.Programs"/>) the reduction kernel for <paramref name="context"/>.</summary>
        public ClReduction(ClContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            kernel = context.Programs.Get(KernelSource).CreateKernel("fused_partial_sums");
            // The tree step needs a power-of-two group size.
            long limit = Math.Min(256, kernel.WorkGroupSize);
            long local = 1;
            while (local * 2 <= limit)
            {
                local *= 2;
            }
            LocalSize = (int)local;
            partials = context.CreateBuffer<float>(MaxGroups);
        }

        /// <summary>The (power-of-two) work-group size.</summary>
        public int LocalSize { get; }

        /// <summary>How many work-groups (partials) a sum of <paramref name="n"/> elements uses.</summary>
        public int GroupCount(int n) => (int)Math.Clamp((n + (long)LocalSize - 1) / LocalSize, 1, MaxGroups);

        /// <summary>Sums <paramref name="n"/> floats of <paramref name="input"/> starting at element <paramref name="offset"/>; blocks until done.</summary>
        public double Sum(ClQueue queue, ClBuffer input, int n, int offset = 0)
        {
            ArgumentNullException.ThrowIfNull(queue);
            ArgumentNullException.ThrowIfNull(input);
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            if ((long)offset + n > input.Length<float>())
            {
                throw new ArgumentException("The range exceeds the input buffer.", nameof(n));
            }
            if (n == 0)
            {
                return 0.0;
            }
            lock (gate)
            {
                int groups = GroupCount(n);
                kernel.SetArg(0, input);
                kernel.SetArg(1, offset);
                kernel.SetArg(2, n);
                kernel.SetArg(3, partials);
                kernel.SetLocalMemory(4, LocalSize * sizeof(float));
                queue.Launch(kernel, (long)groups * LocalSize, LocalSize);
                Span<float> read = hostPartials.AsSpan(0, groups);
                queue.Read<float>(partials, read);
                double total = 0.0;
                for (int i = 0; i < read.Length; i++)
                {
                    total += read[i];
                }
                return total;
            }
        }

        /// <summary>Releases the kernel and the partials buffer (the program stays in the context's cache).</summary>
        public void Dispose()
        {
            kernel.Dispose();
            partials.Dispose();
        }
    }
}
