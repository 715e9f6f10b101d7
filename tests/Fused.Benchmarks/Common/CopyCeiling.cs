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
            fixed (float* d = destination, s = source)
            {
                var work = new CopyWork { Destination = d, Source = s };
                pool.Run(ref work, source.Length, 64 * 1024);
            }
        }

        private struct CopyWork : IRangeWork
        {
            public float* Destination, Source;

            public void Execute(long start, long end)
                => new ReadOnlySpan<float>(Source + start, (int)(end - start)).CopyTo(new Span<float>(Destination + start, (int)(end - start)));
        }
    }
}
