using System;
using System.Linq;
using System.Runtime.InteropServices;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// C-AdamW's first pass stores its masked update as a temporary with non-temporal stores where a vector's address is
    /// aligned (<see cref="KernelDispatch.StreamTemporaries"/>). At every start within a line, odd lengths and every width,
    /// the temporary, the states and the partials must be the scalar path's bits with streaming on and off, nothing outside
    /// the range may be touched, and the streaming branch must actually have run (a start on a line boundary).
    /// </summary>
    public sealed class TemporaryStreamTests
    {
        [Fact]
        public void Streamed_temporaries_equal_the_scalar_path_at_every_alignment()
        {
            const int pad = 7;
            int savedBits = KernelDispatch.MaxVectorBits;
            bool savedStream = KernelDispatch.StreamTemporaries;
            bool streamedAligned = false;
            try
            {
                foreach (int n in new[] { 1, 17, 1023, 1025, 3001 })
                    for (int offset = 0; offset < 16; offset++)
                    {
                        var random = new Random(n * 31 + offset);
                        var uniforms = Enumerable.Range(0, CautiousAdamW.Layout.UniformCount).Select(_ => (float)(0.1 + 0.9 * random.NextDouble())).ToArray();
                        // param, grad, m, v, temp0; pinned, so the offset decides where a slice starts within a line.
                        var input = Enumerable.Range(0, 5).Select(b =>
                        {
                            var a = GC.AllocateArray<float>(n + offset + pad, pinned: true);
                            for (int i = 0; i < a.Length; i++) a[i] = b == 3 ? (float)random.NextDouble() : (float)(2 * random.NextDouble() - 1);
                            return a;
                        }).ToArray();
                        (float[][] Buffers, double[] Partials) Run(int bits, bool stream)
                        {
                            KernelDispatch.MaxVectorBits = bits;
                            KernelDispatch.StreamTemporaries = stream;
                            var b = input.Select(a =>
                            {
                                var copy = GC.AllocateArray<float>(a.Length, pinned: true);
                                a.CopyTo(copy, 0);
                                return copy;
                            }).ToArray();
                            var partials = new double[(n + 1023) / 1024];
                            if (bits == 512 && stream)
                                streamedAligned |= Marshal.UnsafeAddrOfPinnedArrayElement(b[4], offset) % 64 == 0;
                            CautiousAdamW.Pass0(uniforms, b[0].AsSpan(offset, n), b[1].AsSpan(offset, n), b[2].AsSpan(offset, n), b[3].AsSpan(offset, n), b[4].AsSpan(offset, n), partials);
                            return (b, partials);
                        }
                        var scalar = Run(0, stream: false);
                        foreach (int bits in new[] { 512, 256, 128 })
                            foreach (bool stream in new[] { true, false })
                            {
                                var got = Run(bits, stream);
                                string what = $"Vector{bits}, streaming {(stream ? "on" : "off")}, length {n}, offset {offset}";
                                for (int b = 0; b < 5; b++)
                                    Assert.True(scalar.Buffers[b].Select(BitConverter.SingleToInt32Bits).SequenceEqual(got.Buffers[b].Select(BitConverter.SingleToInt32Bits)), $"buffer {b}: {what}");
                                Assert.Equal(scalar.Partials, got.Partials);
                            }
                    }
            }
            finally
            {
                KernelDispatch.MaxVectorBits = savedBits;
                KernelDispatch.StreamTemporaries = savedStream;
            }
            Assert.True(streamedAligned, "no run started the temporary on a line: the non-temporal branch never ran");
        }
    }
}
