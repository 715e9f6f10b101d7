using System;
using System.Linq;
using Fused.Runtime.Execution;
using Fused.Runtime.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Precision
{
    public class BFloat16Tests
    {
        private readonly Random _rng = new Random(Environment.TickCount ^ 0x5bf0);

        /// <summary>
        /// Independent reference: value of a bf16 bit pattern as a double, with the all-ones exponent of a
        /// would-be overflow read as ±2^128 (the next "step" above the largest finite bf16), so distances work.
        /// </summary>
        private static double DecodeForDistance(uint bf16)
        {
            bool negative = (bf16 & 0x8000) != 0;
            int exponent = (int)((bf16 >> 7) & 0xFF);
            int mantissa = (int)(bf16 & 0x7F);
            double magnitude = exponent == 0xFF
                ? Math.Pow(2, 128)
                : exponent == 0
                    ? mantissa * Math.Pow(2, -126 - 7)
                    : (128 + mantissa) * Math.Pow(2, exponent - 127 - 7);
            return negative ? -magnitude : magnitude;
        }

        private static double DecodeFloat(uint bits)
        {
            bool negative = (bits & 0x8000_0000) != 0;
            int exponent = (int)((bits >> 23) & 0xFF);
            long mantissa = bits & 0x7F_FFFF;
            double magnitude = exponent == 0
                ? mantissa * Math.Pow(2, -126 - 23)
                : ((1L << 23) + mantissa) * Math.Pow(2, exponent - 127 - 23);
            return negative ? -magnitude : magnitude;
        }

        /// <summary>Nearest bf16 by comparing distances to the two candidates; ties to the even mantissa.</summary>
        private static ushort ReferenceRne(uint bits)
        {
            double x = DecodeFloat(bits);
            uint down = bits >> 16;          // toward zero
            uint up = down + 1;              // away from zero (same sign)
            double dDown = Math.Abs(x - DecodeForDistance(down));
            double dUp = Math.Abs(DecodeForDistance(up) - x);
            if (dDown < dUp)
            {
                return (ushort)down;
            }

            if (dUp < dDown)
            {
                return (ushort)up;
            }

            return (ushort)((down & 1) == 0 ? down : up);
        }

        [Fact]
        public void RoundToNearestEven_MatchesDistanceReference_ForEveryExponentAndMantissa()
        {
            uint[] lows = { 0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, (uint)_rng.Next(0x10000), (uint)_rng.Next(0x10000) };
            for (uint high = 0; high < 0x10000; high++)
            {
                if ((high & 0x7F80) == 0x7F80)
                {
                    continue; // Inf/NaN tested separately
                }

                foreach (uint low in lows)
                {
                    uint bits = (high << 16) | low;
                    ushort actual = BFloat16.FromSingleRoundToNearestEven(BitConverter.UInt32BitsToSingle(bits));
                    ushort expected = ReferenceRne(bits);
                    if (actual != expected)
                    {
                        Assert.Fail($"0x{bits:X8}: got 0x{actual:X4}, reference 0x{expected:X4}");
                    }
                }
            }
        }

        [Theory]
        [InlineData(0x7F80_0000u, 0x7F80)] // +Inf
        [InlineData(0xFF80_0000u, 0xFF80)] // -Inf
        [InlineData(0x0000_0000u, 0x0000)]
        [InlineData(0x8000_0000u, 0x8000)] // -0 keeps its sign
        [InlineData(0x7F7F_FFFFu, 0x7F80)] // float max rounds to +Inf under RNE
        public void SpecialValues_RoundToNearestEven(uint input, int expected)
        {
            Assert.Equal((ushort)expected, BFloat16.FromSingleRoundToNearestEven(BitConverter.UInt32BitsToSingle(input)));
        }

        [Theory]
        [InlineData(0x7F80_0001u)] // payload only in discarded bits: must not become Inf
        [InlineData(0xFF80_0001u)]
        [InlineData(0x7FC0_0000u)]
        [InlineData(0xFFFF_FFFFu)] // would overflow 32 bits if the random bits were added
        [InlineData(0x7FBF_0000u)] // signalling NaN with upper payload
        public void NaN_StaysNaN_WithSign_InEveryPath(uint input)
        {
            float value = BitConverter.UInt32BitsToSingle(input);
            var key = new CounterRngKey(1, 2, 3);
            ushort rne = BFloat16.FromSingleRoundToNearestEven(value);
            ushort sr = BFloat16.FromSingleStochastic(value, 0xFFFFu);
            Assert.True(float.IsNaN(BFloat16.ToSingle(rne)));
            Assert.True(float.IsNaN(BFloat16.ToSingle(sr)));
            Assert.Equal(input >> 31, (uint)rne >> 15);
            Assert.Equal(input >> 31, (uint)sr >> 15);

            float[] many = Enumerable.Repeat(value, 37).ToArray();
            ushort[] out1 = new ushort[37];
            BFloat16.NarrowStochastic(many, out1, key, 5);
            Assert.All(out1, b => Assert.True(float.IsNaN(BFloat16.ToSingle(b))));
            BFloat16.NarrowToNearestEven(many, out1);
            Assert.All(out1, b => Assert.True(float.IsNaN(BFloat16.ToSingle(b))));
        }

        [Fact]
        public void Infinity_StaysInfinity_UnderStochasticRounding()
        {
            for (uint r = 0; r < 0x10000; r += 0x111)
            {
                Assert.Equal(0x7F80, BFloat16.FromSingleStochastic(float.PositiveInfinity, r));
                Assert.Equal(0xFF80, BFloat16.FromSingleStochastic(float.NegativeInfinity, r));
            }
        }

        [Fact]
        public void StochasticRounding_IsUnbiased_AndOnlyPicksTheTwoNeighbours()
        {
            const int draws = 100_000;
            var key = new CounterRngKey((ulong)_rng.NextInt64(), _rng.Next(1, 1000), _rng.Next());
            float[] source = new float[draws];
            ushort[] rounded = new ushort[draws];
            for (int trial = 0; trial < 24; trial++)
            {
                // Random sign, exponent over the normal and subnormal range, random discarded fraction,
                // plus the extreme fractions 1/65536 and 65535/65536.
                // Exponent below 254 keeps the upper neighbour finite.
                uint upper = ((uint)_rng.Next(2) << 15) | ((uint)_rng.Next(0, 254) << 7) | (uint)_rng.Next(128);
                uint low = trial switch { 0 => 1u, 1 => 0xFFFFu, 2 => 0u, _ => (uint)_rng.Next(0x10000) };
                uint bits = (upper << 16) | low;

                float value = BitConverter.UInt32BitsToSingle(bits);
                Array.Fill(source, value);
                BFloat16.NarrowStochastic(source, rounded, key, (long)trial * draws);

                double below = BFloat16.ToSingle((ushort)(bits >> 16));
                double above = DecodeForDistance((bits >> 16) + 1);
                double sum = 0;
                foreach (ushort r in rounded)
                {
                    double v = BFloat16.ToSingle(r);
                    Assert.True(v == below || v == above, $"0x{bits:X8} rounded to {v}, not a neighbour");
                    sum += v;
                }

                double p = low / 65536.0;
                double gap = Math.Abs(above - below);
                double mean = sum / draws;
                double sigmaOfMean = gap * Math.Sqrt(p * (1 - p) / draws);
                // 6 sigma: false alarm ≈ 2e-9 per trial; plus a hair for the double accumulation.
                double tolerance = 6 * sigmaOfMean + Math.Abs(value) * 1e-12;
                Assert.True(Math.Abs(mean - value) <= tolerance,
                    $"0x{bits:X8}: mean {mean:R} vs value {value:R}, tolerance {tolerance:R} (p={p})");
            }
        }

        private float[] RandomFloats(int length)
        {
            var values = new float[length];
            for (int i = 0; i < length; i++)
            {
                // Random bit patterns: every exponent incl. subnormals, Inf and NaN payloads.
                values[i] = _rng.Next(10) == 0
                    ? BitConverter.UInt32BitsToSingle((uint)_rng.NextInt64(0, 1L << 32))
                    : (float)(_rng.NextDouble() * 2 - 1) * MathF.Pow(2, _rng.Next(-30, 30));
            }

            return values;
        }

        private float[] FiniteFloats(int length)
        {
            var values = new float[length];
            for (int i = 0; i < length; i++)
            {
                values[i] = (float)(_rng.NextDouble() * 2 - 1) * MathF.Pow(2, _rng.Next(-140, 127));
            }

            return values;
        }

        public static TheoryData<int, int> LengthsAndOffsets()
        {
            var data = new TheoryData<int, int>();
            foreach (int length in new[] { 0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 1001, 4099 })
            {
                foreach (int offset in new[] { 0, 1, 3 })
                {
                    data.Add(length, offset);
                }
            }

            return data;
        }

        /// <summary>
        /// Stochastic rounding by its definition: the 16 random bits of element e are
        /// <see cref="CounterRngTests.Reference.Draw16"/> of counter e; they are added to the float's bits and the
        /// upper half kept; NaN keeps its upper half with the quiet bit set.
        /// </summary>
        private static ushort ReferenceStochastic(float value, CounterRngKey key, long element)
        {
            uint bits = BitConverter.SingleToUInt32Bits(value);
            if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
            {
                return (ushort)((bits >> 16) | 0x40);
            }

            return (ushort)((bits + CounterRngTests.Reference.Draw16(key.Seed, key.Step, key.TensorId, element)) >> 16);
        }

        [Theory]
        [MemberData(nameof(LengthsAndOffsets))]
        public void SimdPaths_AreBitIdenticalToScalar(int length, int offset)
        {
            // With NaN/Inf among the values (the vector paths' checked loop) and without (their fast loop).
            foreach (bool finite in new[] { false, true })
            {
                float[] input = finite ? FiniteFloats(length + offset) : RandomFloats(length + offset);
                var src = input.AsSpan(offset, length);
                var key = new CounterRngKey((ulong)_rng.NextInt64(), _rng.Next(), _rng.Next());
                // Even and odd first elements; also straddle 2^32 in the pair counter (element 2^33), to exercise the
                // carry between the counter's halves.
                foreach (long first in new[] { 2 * _rng.Next(1000), 2 * _rng.Next(1000) + 1, (1L << 33) - _rng.Next(1, 80) })
                {
                    CheckSimdAgainstScalar(src, key, first);
                }
            }

            float[] values = RandomFloats(length + offset);
            var span = values.AsSpan(offset, length);
            ushort[] rneScalar = new ushort[length];
            BFloat16.NarrowToNearestEvenScalar(span, rneScalar, 0);
            ushort[] rne128 = new ushort[length];
            BFloat16.NarrowToNearestEvenVector128(span, rne128);
            ushort[] rne256 = new ushort[length];
            BFloat16.NarrowToNearestEvenVector256(span, rne256);
            ushort[] rne512 = new ushort[length];
            BFloat16.NarrowToNearestEvenVector512(span, rne512);
            ushort[] rneDispatched = new ushort[length];
            BFloat16.NarrowToNearestEven(span, rneDispatched);
            Assert.Equal(rneScalar, rne128);
            Assert.Equal(rneScalar, rne256);
            Assert.Equal(rneScalar, rne512);
            Assert.Equal(rneScalar, rneDispatched);

            ushort[] halves = Enumerable.Range(0, length + offset).Select(_ => (ushort)_rng.Next(0x10000)).ToArray();
            var hsrc = halves.AsSpan(offset, length);
            float[] wScalar = new float[length];
            BFloat16.WidenScalar(hsrc, wScalar, 0);
            float[] w128 = new float[length];
            BFloat16.WidenVector128(hsrc, w128);
            float[] w256 = new float[length];
            BFloat16.WidenVector256(hsrc, w256);
            float[] w512 = new float[length];
            BFloat16.WidenVector512(hsrc, w512);
            float[] wDispatched = new float[length];
            BFloat16.Widen(hsrc, wDispatched);
            for (int i = 0; i < length; i++)
            {
                uint expected = (uint)hsrc[i] << 16;
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(wScalar[i]));
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(w128[i]));
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(w256[i]));
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(w512[i]));
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(wDispatched[i]));
            }
        }

        private static void CheckSimdAgainstScalar(ReadOnlySpan<float> src, CounterRngKey key, long first)
        {
            int length = src.Length;
            int offset = 2; // misaligned destination for the public entry point
            ushort[] scalar = new ushort[length];
            BFloat16.NarrowStochasticScalar(src, scalar, key, first, 0);
            ushort[] v128 = new ushort[length];
            BFloat16.NarrowStochasticVector128(src, v128, key, first);
            ushort[] v256 = new ushort[length];
            BFloat16.NarrowStochasticVector256(src, v256, key, first);
            ushort[] v512 = new ushort[length];
            BFloat16.NarrowStochasticVector512(src, v512, key, first);
            ushort[] dispatched = new ushort[length + offset];
            BFloat16.NarrowStochastic(src, dispatched.AsSpan(offset), key, first);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(ReferenceStochastic(src[i], key, first + i), scalar[i]);
                Assert.Equal(scalar[i], BFloat16.FromSingleStochastic(src[i], key, first + i));
            }

            Assert.Equal(scalar, v128);
            Assert.Equal(scalar, v256);
            Assert.Equal(scalar, v512);
            Assert.Equal(scalar, dispatched.AsSpan(offset).ToArray());
        }

        [Fact]
        public void Widen_ThenNarrow_IsIdentity_ForEveryNonNaNBf16()
        {
            ushort[] all = Enumerable.Range(0, 0x10000).Select(i => (ushort)i).Where(b => !float.IsNaN(BFloat16.ToSingle(b))).ToArray();
            float[] wide = new float[all.Length];
            BFloat16.Widen(all, wide);
            ushort[] back = new ushort[all.Length];
            BFloat16.NarrowToNearestEven(wide, back);
            Assert.Equal(all, back);
            BFloat16.NarrowStochastic(wide, back, new CounterRngKey(9, 9, 9), 0);
            Assert.Equal(all, back); // exactly representable: no randomness may change it
        }

        private unsafe struct NarrowPiecesWork : IRangeWork
        {
            public float* Source;
            public ushort* Destination;
            public CounterRngKey Key;

            public void Execute(long start, long end)
            {
                BFloat16.NarrowStochastic(
                    new ReadOnlySpan<float>(Source + start, (int)(end - start)),
                    new Span<ushort>(Destination + start, (int)(end - start)),
                    Key,
                    start);
            }
        }

        [Fact]
        public unsafe void StochasticNarrowing_IsIndependentOfHowTheRangeIsSplit()
        {
            int length = 100_003;
            float[] source = RandomFloats(length);
            var key = new CounterRngKey((ulong)_rng.NextInt64(), 17, 4);
            ushort[] whole = new ushort[length];
            BFloat16.NarrowStochastic(source, whole, key, 0);

            // Random split points, pieces converted in reverse order.
            ushort[] pieces = new ushort[length];
            int[] cuts = Enumerable.Range(0, 20).Select(_ => _rng.Next(length)).Append(0).Append(length).Distinct().OrderByDescending(c => c).ToArray();
            for (int c = 1; c < cuts.Length; c++)
            {
                int start = cuts[c], end = cuts[c - 1];
                BFloat16.NarrowStochastic(source.AsSpan(start, end - start), pieces.AsSpan(start, end - start), key, start);
            }

            Assert.Equal(whole, pieces);

            // Through the worker pool at two thread counts.
            foreach (int dop in new[] { 1, 3 })
            {
                using var pool = new WorkerPool(dop);
                ushort[] parallel = new ushort[length];
                fixed (float* s = source)
                fixed (ushort* d = parallel)
                {
                    var work = new NarrowPiecesWork { Source = s, Destination = d, Key = key };
                    pool.Run(ref work, length, grain: 1000);
                }

                Assert.Equal(whole, parallel);
            }
        }

        [Fact]
        public void DestinationTooShort_Throws()
        {
            Assert.Throws<ArgumentException>(() => BFloat16.Widen(new ushort[5], new float[4]));
            Assert.Throws<ArgumentException>(() => BFloat16.NarrowToNearestEven(new float[5], new ushort[4]));
            Assert.Throws<ArgumentException>(() => BFloat16.NarrowStochastic(new float[5], new ushort[4], default, 0));
        }
    }
}
