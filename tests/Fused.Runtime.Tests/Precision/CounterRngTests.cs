using System;
using System.Numerics;
using Fused.Runtime.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Precision
{
    public class CounterRngTests
    {
        private readonly Random _rng = new Random(Environment.TickCount ^ 0x2c1);

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

        [Fact]
        public void Low16Bits_AreUniform_ChiSquare()
        {
            // 2^20 draws into 64 buckets of the low 16 bits (what stochastic rounding consumes).
            var key = new CounterRngKey((ulong)_rng.NextInt64(), _rng.Next(), _rng.Next());
            const int buckets = 64, draws = 1 << 20;
            long[] counts = new long[buckets];
            long first = _rng.NextInt64(0, 1L << 40);
            for (long i = 0; i < draws; i++)
            {
                counts[(CounterRng.NextUInt32(key, first + i) & 0xFFFF) >> 10]++;
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
