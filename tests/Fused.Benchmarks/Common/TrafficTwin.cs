using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;

namespace Fused.Benchmarks
{
    /// <summary>
    /// A bandwidth ceiling shaped like a one-pass optimizer step: <c>written</c> arrays read and written (the parameter and
    /// each element state) and one array only read (the gradient), with one multiply-add per element — the same bytes an
    /// ideal fused step moves (AdamW: 3 read-write + 1 read = 28 B/param), on the same pool and chunking as the engine.
    /// A plain copy is not a ceiling for such a step (its write stream is the only one and the copy routine picks its own
    /// stores), so the engine is also reported against this twin: twin time ÷ engine time, 1 = the step runs at the speed
    /// of its own traffic.
    /// </summary>
    public sealed unsafe class TrafficTwin : IDisposable
    {
        public const int MaxWritten = 4;

        private readonly System.Buffers.MemoryHandle[] _handles;
        private readonly int _length;
        private TwinWork _work;

        /// <summary>Pins <paramref name="written"/> (read and written) and <paramref name="readOnly"/> (read) once, outside any timed call.</summary>
        public TrafficTwin(float[][] written, float[] readOnly)
        {
            if (written.Length is < 1 or > MaxWritten) throw new ArgumentException($"1 to {MaxWritten} written arrays, got {written.Length}");
            _handles = new System.Buffers.MemoryHandle[written.Length + 1];
            _work = new TwinWork { Count = written.Length };
            for (int k = 0; k < written.Length; k++)
            {
                _handles[k] = written[k].AsMemory().Pin();
                _work.Set(k, (float*)_handles[k].Pointer);
            }
            _handles[written.Length] = readOnly.AsMemory().Pin();
            _work.Read = (float*)_handles[written.Length].Pointer;
            _length = readOnly.Length;
        }

        /// <summary>One pass over every array on <paramref name="pool"/>: nothing allocated or pinned per call.</summary>
        public void Run(WorkerPool pool) => pool.Run(ref _work, _length, 64 * 1024);

        public void Dispose()
        {
            foreach (var h in _handles) h.Dispose();
        }

        private struct TwinWork : IRangeWork
        {
            public float* W0, W1, W2, W3, Read;
            public int Count;

            public void Set(int k, float* p)
            {
                switch (k) { case 0: W0 = p; break; case 1: W1 = p; break; case 2: W2 = p; break; default: W3 = p; break; }
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Execute(long start, long end)
            {
                // Array by array over one chunk would re-read the gradient per array; interleaved streams are what a step does.
                if (KernelDispatch.Use512) Wide512(start, end);
                else Wide256(start, end);
            }

            private void Wide512(long start, long end)
            {
                var half = Vector512.Create(0.5f);
                long i = start;
                for (; i + 16 <= end; i += 16)
                {
                    var g = Vector512.Load(Read + i);
                    Vector512.Store(Vector512.Load(W0 + i) * half + g, W0 + i);
                    if (Count > 1) Vector512.Store(Vector512.Load(W1 + i) * half + g, W1 + i);
                    if (Count > 2) Vector512.Store(Vector512.Load(W2 + i) * half + g, W2 + i);
                    if (Count > 3) Vector512.Store(Vector512.Load(W3 + i) * half + g, W3 + i);
                }
                Tail(i, end);
            }

            private void Wide256(long start, long end)
            {
                var half = Vector256.Create(0.5f);
                long i = start;
                for (; i + 8 <= end; i += 8)
                {
                    var g = Vector256.Load(Read + i);
                    Vector256.Store(Vector256.Load(W0 + i) * half + g, W0 + i);
                    if (Count > 1) Vector256.Store(Vector256.Load(W1 + i) * half + g, W1 + i);
                    if (Count > 2) Vector256.Store(Vector256.Load(W2 + i) * half + g, W2 + i);
                    if (Count > 3) Vector256.Store(Vector256.Load(W3 + i) * half + g, W3 + i);
                }
                Tail(i, end);
            }

            private void Tail(long i, long end)
            {
                for (; i < end; i++)
                {
                    float g = Read[i];
                    W0[i] = W0[i] * 0.5f + g;
                    if (Count > 1) W1[i] = W1[i] * 0.5f + g;
                    if (Count > 2) W2[i] = W2[i] * 0.5f + g;
                    if (Count > 3) W3[i] = W3[i] * 0.5f + g;
                }
            }
        }
    }
}
