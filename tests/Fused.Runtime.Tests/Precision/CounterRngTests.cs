using System;
using System.Numerics;
using Fused.Runtime.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Precision
{
    public class CounterRngTests
    {
        private readonly Random _rng = new Random(Environment.TickCount ^ 0x2c1);

        /// <summary>
        /// The definition, written out here from the documentation rather than calling the library: the key is
        /// SplitMix64(SplitMix64(SplitMix64(seed) ⊕ step) ⊕ tensor) split into K0 (low half) and K1 (high half);
        /// a 32-bit draw is lowbias32(lowbias32(lo(c) ⊕ K0) ⊕ hi(c) ⊕ K1); a 16-bit draw for counter c is the low
        /// (c even) or high (c odd) half of the 32-bit draw for ⌊c / 2⌋.
        /// </summary>
        internal static class Reference
        {
            private static ulong SplitMix64(ulong z)
            {
                unchecked
                {
                    z += 0x9E3779B97F4A7C15UL;
                    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                    return z ^ (z >> 31);
                }
            }

            private static uint LowBias32(uint x)
            {
                unchecked
                {
                    x ^= x >> 16;
                    x *= 0x7FEB352Du;
                    x ^= x >> 15;
                    x *= 0x846CA68Bu;
                    x ^= x >> 16;
                    return x;
                }
            }

            public static uint Draw32(ulong seed, long step, long tensor, long counter)
            {
                ulong k = SplitMix64(SplitMix64(SplitMix64(seed) ^ (ulong)step) ^ (ulong)tensor);
                uint k0 = (uint)(k & 0xFFFF_FFFF), k1 = (uint)(k >> 32);
                ulong c = (ulong)counter;
                return LowBias32(LowBias32((uint)(c & 0xFFFF_FFFF) ^ k0) ^ (uint)(c >> 32) ^ k1);
            }

            public static ushort Draw16(ulong seed, long step, long tensor, long counter)
            {
                long pair = counter >= 0 ? counter / 2 : -((1 - counter) / 2); // ⌊c / 2⌋
                uint draw = Draw32(seed, step, tensor, pair);
                return (ushort)(counter - 2 * pair == 0 ? draw & 0xFFFF : draw >> 16);
            }
        }

        [Fact]
        public void Draws_match_known_answers_computed_outside_dotnet()
        {
            // From a Python transcription of the same definition (seed 42, step 7, tensor 3·64 + 2).
            var key = new CounterRngKey(42, 7, 3 * 64 + 2);
            Assert.Equal(0xE9D49015u, CounterRng.NextUInt32(key, 0));
            Assert.Equal(0x03F9DF0Bu, CounterRng.NextUInt32(key, 1));
            Assert.Equal(0x8D69DBB8u, CounterRng.NextUInt32(key, 2));
            Assert.Equal(0x8767C6BDu, CounterRng.NextUInt32(key, (1L << 32) + 5));
            Assert.Equal((ushort)0x9015, CounterRng.NextUInt16(key, 0));
            Assert.Equal((ushort)0xE9D4, CounterRng.NextUInt16(key, 1));
            Assert.Equal((ushort)0xDF0B, CounterRng.NextUInt16(key, 2));
            Assert.Equal((ushort)0x03F9, CounterRng.NextUInt16(key, 3));
            Assert.Equal((ushort)0x8D24, CounterRng.NextUInt16(key, (1L << 33) + 1));
        }

        [Fact]
        public void Draws_match_the_reference_definition()
        {
            for (int trial = 0; trial < 200; trial++)
            {
                ulong seed = (ulong)_rng.NextInt64();
                long step = _rng.NextInt64(0, 1L << 40);
                long tensor = _rng.NextInt64(0, 1L << 20);
                var key = new CounterRngKey(seed, step, tensor);
                long first = trial % 2 == 0 ? _rng.NextInt64(0, 1L << 34) : (1L << 33) - 50;
                for (long c = first; c < first + 100; c++)
                {
                    Assert.Equal(Reference.Draw32(seed, step, tensor, c), CounterRng.NextUInt32(key, c));
                    Assert.Equal(Reference.Draw16(seed, step, tensor, c), CounterRng.NextUInt16(key, c));
                }
            }
        }

        [Fact]
        public void IsAPureFunctionOfKeyAndCounter()
        {
            ulong seed = (ulong)_rng.NextInt64();
            var a = new CounterRngKey(seed, 10, 3);
            var b = new CounterRngKey(seed, 10, 3);
            for (long c = 0; c < 1000; c++)
            {
                long counter = c * 7919 + (c % 3 == 0 ? 1L << 40 : 0);
                Assert.Equal(CounterRng.NextUInt32(a, counter), CounterRng.NextUInt32(b, counter));
                Assert.Equal(CounterRng.NextUInt64(a, counter), CounterRng.NextUInt64(b, counter));
            }
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void SixteenBitDraws_AreUniform_ChiSquare(bool halvesOfOneDraw)
        {
            // 2^20 draws into 64 buckets: the low 16 bits of 32-bit draws, or the 16-bit draws stochastic rounding
            // consumes (both halves of each 32-bit draw).
            var key = new CounterRngKey((ulong)_rng.NextInt64(), _rng.Next(), _rng.Next());
            const int buckets = 64, draws = 1 << 20;
            long[] counts = new long[buckets];
            long first = _rng.NextInt64(0, 1L << 40);
            for (long i = 0; i < draws; i++)
            {
                uint bits = halvesOfOneDraw ? CounterRng.NextUInt16(key, first + i) : CounterRng.NextUInt32(key, first + i) & 0xFFFF;
                counts[bits >> 10]++;
            }

            double expected = (double)draws / buckets, chi2 = 0;
            foreach (long n in counts)
            {
                chi2 += (n - expected) * (n - expected) / expected;
            }

            // df = 63: mean 63, sd ≈ 11.2; 140 is beyond the 1e-7 upper quantile.
            Assert.InRange(chi2, 20, 140);
        }

        [Fact]
        public void NeighbouringKeysAndCounters_GiveUncorrelatedBits()
        {
            ulong seed = (ulong)_rng.NextInt64();
            var keys = new[]
            {
                new CounterRngKey(seed, 5, 1), new CounterRngKey(seed, 5, 2),
                new CounterRngKey(seed, 6, 1), new CounterRngKey(seed + 1, 5, 1),
            };
            const int n = 20_000;
            for (int x = 0; x < keys.Length; x++)
            {
                for (int y = x + 1; y < keys.Length; y++)
                {
                    long agree = 0;
                    for (long c = 0; c < n; c++)
                    {
                        agree += 32 - BitOperations.PopCount(CounterRng.NextUInt32(keys[x], c) ^ CounterRng.NextUInt32(keys[y], c));
                    }

                    // Binomial(640000, 1/2): sd = 400; allow 6 sd.
                    Assert.InRange(agree, 32L * n / 2 - 2400, 32L * n / 2 + 2400);
                }
            }

            // Consecutive counters within one stream.
            long adjacentAgree = 0;
            for (long c = 0; c < n; c++)
            {
                adjacentAgree += 32 - BitOperations.PopCount(CounterRng.NextUInt32(keys[0], c) ^ CounterRng.NextUInt32(keys[0], c + 1));
            }

            Assert.InRange(adjacentAgree, 32L * n / 2 - 2400, 32L * n / 2 + 2400);

            // The two halves of one 32-bit draw (elements 2j and 2j + 1 round with them): Binomial(320000, 1/2), sd ≈ 283.
            long halvesAgree = 0;
            for (long c = 0; c < n; c++)
            {
                halvesAgree += 16 - BitOperations.PopCount((uint)(CounterRng.NextUInt16(keys[0], 2 * c) ^ CounterRng.NextUInt16(keys[0], 2 * c + 1)));
            }

            Assert.InRange(halvesAgree, 16L * n / 2 - 1700, 16L * n / 2 + 1700);
        }

        [Fact]
        public void NextDouble_IsInUnitInterval_WithMeanOneHalf()
        {
            var key = new CounterRngKey((ulong)_rng.NextInt64(), 1, 1);
            const int n = 200_000;
            double sum = 0;
            for (long i = 0; i < n; i++)
            {
                double u = CounterRng.NextDouble(key, i);
                Assert.InRange(u, 0.0, Math.BitDecrement(1.0));
                sum += u;
            }

            // sd of the mean = sqrt(1/12 / n) ≈ 6.5e-4.
            Assert.InRange(sum / n, 0.5 - 6 * 6.5e-4, 0.5 + 6 * 6.5e-4);
        }
    }
}
