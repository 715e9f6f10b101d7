using System;
using Fused.Runtime.Execution;

namespace Fused.Benchmarks
{
    /// <summary>
    /// The STREAM-like copy every engine figure is compared with: one array copied into another on the same
    /// <see cref="WorkerPool"/> as the engine, in the pool's chunks. Counted as 8 B per float (a write also costs a read
    /// for ownership, so fused kernels can show more counted GB/s than the copy).
    /// </summary>
    public static unsafe class CopyCeiling
    {
        public static void Copy(WorkerPool pool, float[] destination, float[] source)
        {
            fixed (float* d = destination, s = source) Copy(pool, d, s, source.Length);
        }

        /// <summary>The same copy over the engine's kind of memory (<see cref="Fused.Runtime.Cpu.AlignedBuffer{T}"/>: line-aligned, huge pages on Linux).</summary>
        public static void Copy(WorkerPool pool, Fused.Runtime.Cpu.AlignedBuffer<float> destination, Fused.Runtime.Cpu.AlignedBuffer<float> source) =>
            Copy(pool, destination.Pointer, source.Pointer, source.Length);

        private static void Copy(WorkerPool pool, float* destination, float* source, long length)
        {
            var work = new CopyWork { Destination = destination, Source = source };
            pool.Run(ref work, length, 64 * 1024);
        }

        private struct CopyWork : IRangeWork
        {
            public float* Destination, Source;

            public void Execute(long start, long end)
                => new ReadOnlySpan<float>(Source + start, (int)(end - start)).CopyTo(new Span<float>(Destination + start, (int)(end - start)));
        }
    }
}
