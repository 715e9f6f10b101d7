using System;
using System.Runtime.CompilerServices;

namespace Fused.Runtime.Precision
{
    /// <summary>
    /// Identifies one random stream of <see cref="CounterRng"/>: (seed, step, tensor id). Element indices are the
    /// counters within the stream. The constructor derives two 32-bit round keys with SplitMix64.
    /// </summary>
    public readonly struct CounterRngKey : IEquatable<CounterRngKey>
    {
        /// <summary>Creates the key of the stream for one tensor at one optimizer step.</summary>
        public CounterRngKey(ulong seed, long step, long tensorId)
        {
            Seed = seed;
            Step = step;
            TensorId = tensorId;
            ulong k = CounterRng.SplitMix64(CounterRng.SplitMix64(CounterRng.SplitMix64(seed) ^ (ulong)step) ^ (ulong)tensorId);
            Key64 = k;
            K0 = (uint)k;
            K1 = (uint)(k >> 32);
        }

        /// <summary>Run-wide seed.</summary>
        public ulong Seed { get; }

        /// <summary>Optimizer step (any value; usually 1-based).</summary>
        public long Step { get; }

        /// <summary>Stable identifier of the tensor within the model.</summary>
        public long TensorId { get; }

        internal ulong Key64 { get; }

        internal uint K0 { get; }

        internal uint K1 { get; }

        /// <inheritdoc/>
        public bool Equals(CounterRngKey other) => Seed == other.Seed && Step == other.Step && TensorId == other.TensorId;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is CounterRngKey other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => HashCode.Combine(Seed, Step, TensorId);

        /// <inheritdoc/>
        public override string ToString() => $"CounterRngKey(seed {Seed}, step {Step}, tensor {TensorId})";
    }

    /// <summary>
    /// Counter-based random numbers: a pure function of (key, counter), no state. Any element of any tensor at any
    /// step can be drawn independently, so a parallel loop produces bit-identical results at every thread count
    /// and split.
    /// </summary>
    /// <remarks>
    /// <para><see cref="NextUInt32"/> is two rounds of Wellons' "lowbias32" integer hash, keyed by XOR:
    /// h = mix(mix(lo(c) ⊕ K0) ⊕ hi(c) ⊕ K1). Each round is a bijection on 32 bits, so within a stream distinct
    /// counters below 2^32 never collide. It uses only 32-bit multiplies so it vectorises on AVX2
    /// (see <see cref="BFloat16.NarrowStochastic"/>). It is not cryptographic; it is meant for stochastic rounding
    /// and dropout-style noise.</para>
    /// <para><see cref="NextUInt16"/> splits each 32-bit draw into two 16-bit ones (counter 2j: low half of draw j,
    /// counter 2j + 1: high half), which is what stochastic rounding to bfloat16 consumes.</para>
    /// <para><see cref="NextUInt64"/> is SplitMix64's finaliser over (key + counter·φ), an independent function for
    /// scalar uses that need 64 bits.</para>
    /// </remarks>
    public static class CounterRng
    {
        /// <summary>32 random bits for <paramref name="counter"/> in stream <paramref name="key"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint NextUInt32(in CounterRngKey key, long counter)
        {
            uint h = LowBias32((uint)counter ^ key.K0);
            return LowBias32(h ^ (uint)((ulong)counter >> 32) ^ key.K1);
        }

        /// <summary>
        /// 16 random bits for <paramref name="counter"/> in stream <paramref name="key"/>: counters 2j and 2j + 1 share
        /// the draw <see cref="NextUInt32"/>(key, j), the even counter taking its low half and the odd one its high
        /// half. One hash serves two elements, and in SIMD code the 16-bit lanes of a vector of draws are already in
        /// element order.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ushort NextUInt16(in CounterRngKey key, long counter)
            => (ushort)(NextUInt32(key, counter >> 1) >> (int)((counter & 1) << 4));

        /// <summary>64 random bits for <paramref name="counter"/> in stream <paramref name="key"/>.</summary>
        public static ulong NextUInt64(in CounterRngKey key, long counter)
            => SplitMix64(key.Key64 + (ulong)counter * 0x9E3779B97F4A7C15UL);

        /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
        public static double NextDouble(in CounterRngKey key, long counter)
            => (NextUInt64(key, counter) >> 11) * (1.0 / (1UL << 53));

        /// <summary>Wellons' lowbias32: a 32-bit bijective mixer with low avalanche bias.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint LowBias32(uint x)
        {
            x ^= x >> 16;
            x *= 0x7FEB352Du;
            x ^= x >> 15;
            x *= 0x846CA68Bu;
            x ^= x >> 16;
            return x;
        }

        /// <summary>SplitMix64 finaliser (Steele, Lea, Flood 2014).</summary>
        internal static ulong SplitMix64(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
