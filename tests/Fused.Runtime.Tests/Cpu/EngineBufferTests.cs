using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Cpu;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Runtime.Tests.Cpu
{
    /// <summary>
    /// The engine's own memory (<see cref="AlignedBuffer{T}"/>): element states start where their parameter starts within a
    /// cache line (on a line when the parameter does), the buffers are zeroed and freed once; and C-AdamW, whose first pass
    /// stores its update in the backend's line-aligned temporaries, gives a float64 reference's values over misaligned user
    /// arrays at odd lengths with every tensor of a wave sharing one padded temporary pool, at both widths.
    /// </summary>
    [Collection(nameof(KernelDispatchSettingsCollection))]
    public sealed unsafe class EngineBufferTests
    {
        private static long LineOffset(Memory<float> m)
        {
            fixed (float* p = m.Span) return (long)((nuint)p % 64);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(12)]
        [InlineData(60)]
        public void States_start_at_their_parameters_offset_within_a_line(int parameterOffset)
        {
            const int n = 1001;
            using var param = new AlignedBuffer<float>(n, parameterOffset);
            using var grad = new AlignedBuffer<float>(n, 40);
            Assert.Equal(parameterOffset, LineOffset(param.Memory)); // the helper itself places what it says
            using var opt = new OptimizerBuilder().AddParameter("w", new[] { n }, param.Memory, grad.Memory)
                .Route(_ => true, AdamW.Rule).Threads(1).Build();
            Assert.Equal(parameterOffset, LineOffset(opt.Float32StateBuffer("w", "m")));
            Assert.Equal(parameterOffset, LineOffset(opt.Float32StateBuffer("w", "v")));

            // A caller's new float[] (wherever the GC put it): the states share its offset.
            var p2 = new float[n];
            var g2 = new float[n];
            using var opt2 = new OptimizerBuilder().AddParameter("w", new[] { n }, p2, g2).Route(_ => true, Lion.Rule).Threads(1).Build();
            fixed (float* pp = p2) Assert.Equal((long)((nuint)pp % 64), LineOffset(opt2.Float32StateBuffer("w", "momentum")));
        }

        [Fact]
        public void Aligned_buffers_are_zeroed_placed_and_freed_once()
        {
            foreach (long n in new long[] { 1, 17, 1 << 20 }) // the last one is past the huge-page threshold
            {
                var b = new AlignedBuffer<ushort>(n, 6);
                Assert.Equal(6L, (long)((nuint)b.Pointer % 64));
                Assert.True(b.Span.ToArray().All(x => x == 0));
                Assert.True(b.ReservedBytes >= 2 * n + 6 && b.ReservedBytes % 64 == 0);
                if (OperatingSystem.IsLinux() && 2 * n >= AlignedBuffer<ushort>.HugePageBytes) Assert.Equal(0, b.ReservedBytes % AlignedBuffer<ushort>.HugePageBytes);
                b.Dispose();
                b.Dispose();
                Assert.Throws<ObjectDisposedException>(() => b.Span.Length);
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer<float>(4, 2)); // not a whole float past the line
            Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer<float>(4, 64));
        }

        /// <summary>C-AdamW from its formula (seed 001), in float64: the mask's mean is over the whole tensor.</summary>
        private static void CautiousAdamWReference(double[] p, float[] g, double[] m, double[] v, int t)
        {
            const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
            var u = new double[p.Length];
            double maskSum = 0;
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * (double)g[i];
                u[i] = m[i] / (1 - Math.Pow(b1, t)) / (Math.Sqrt(v[i] / (1 - Math.Pow(b2, t))) + eps);
                if (u[i] * g[i] > 0) maskSum++;
                else u[i] = 0;
            }
            double scale = Math.Max(maskSum / p.Length, 1e-3);
            for (int i = 0; i < p.Length; i++) p[i] -= lr * (u[i] / scale + wd * p[i]);
        }

        [Theory]
        [InlineData(512)]
        [InlineData(256)]
        public void Cautious_AdamW_over_misaligned_user_arrays_matches_float64(int bits)
        {
            // Odd lengths (tails, temporaries padded to lines within a wave) and user arrays 1..3 floats past whatever
            // line offset the GC gave them; one tensor long enough for parallel units.
            int[] sizes = { 70001, 1001, 17, 5 };
            var random = new Random(4242);
            var initial = sizes.Select(n => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
            var grads = Enumerable.Range(1, 3).Select(_ => sizes.Select(n => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray()).ToArray();

            float[][] Run()
            {
                int savedBits = KernelDispatch.MaxVectorBits;
                KernelDispatch.MaxVectorBits = bits;
                try
                {
                    var ps = sizes.Select((n, i) => new float[n + 3]).ToArray();
                    var gs = sizes.Select((n, i) => new float[n + 3]).ToArray();
                    var builder = new OptimizerBuilder();
                    for (int i = 0; i < sizes.Length; i++)
                    {
                        initial[i].CopyTo(ps[i], 1 + i % 3);
                        builder.AddParameter($"t{i}", new[] { sizes[i] }, ps[i].AsMemory(1 + i % 3, sizes[i]), gs[i].AsMemory(1 + i % 3, sizes[i]));
                    }
                    using var opt = builder.Route(_ => true, CautiousAdamW.Rule).Threads(2).Build();
                    foreach (var step in grads)
                    {
                        for (int i = 0; i < sizes.Length; i++) step[i].CopyTo(gs[i], 1 + i % 3);
                        Assert.True(opt.Step().Applied);
                    }
                    return ps.Select((a, i) => a.AsSpan(1 + i % 3, sizes[i]).ToArray()).ToArray();
                }
                finally
                {
                    KernelDispatch.MaxVectorBits = savedBits;
                }
            }

            var got = Run();
            for (int i = 0; i < sizes.Length; i++)
            {
                var p = initial[i].Select(x => (double)x).ToArray();
                var m = new double[sizes[i]];
                var v = new double[sizes[i]];
                for (int t = 1; t <= grads.Length; t++) CautiousAdamWReference(p, grads[t - 1][i], m, v, t);
                for (int e = 0; e < sizes[i]; e++)
                    Assert.True(Math.Abs(got[i][e] - p[e]) <= 1e-6 + 1e-5 * Math.Abs(p[e]), $"tensor {i} element {e}: {got[i][e]} vs float64 {p[e]}");
            }
        }
    }
}
