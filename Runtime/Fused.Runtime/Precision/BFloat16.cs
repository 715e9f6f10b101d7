using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Fused.Runtime.Precision
{
    /// <summary>
    /// bfloat16 (1 sign, 8 exponent, 7 mantissa bits: the upper half of an IEEE binary32) stored as <see cref="ushort"/>.
    /// Conversions from float round to nearest even or stochastically; batch forms use Vector512/Vector256/Vector128 when the
    /// hardware accelerates them and are bit-identical to the scalar forms.
    /// </summary>
    /// <remarks>
    /// NaN stays NaN: the sign and the upper payload bits are kept and the quiet bit is set, so a NaN whose payload
    /// lies only in the discarded low bits cannot turn into infinity. ±Inf stays ±Inf. Finite values beyond the
    /// largest bf16 round to ±Inf under round-to-nearest-even; stochastic rounding overflows to ±Inf with
    /// probability proportional to the distance above bf16's max.
    /// </remarks>
    public static class BFloat16
    {
        /// <summary>Quiet-NaN bit of the bf16 mantissa.</summary>
        private const uint QuietBit = 0x0040;
        private const uint AbsMask = 0x7FFF_FFFF;
        private const uint PositiveInfinity32 = 0x7F80_0000;

        /// <summary>Widens a bf16 to float (exact).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float ToSingle(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

        /// <summary>Narrows a float to bf16, rounding to nearest, ties to even.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ushort FromSingleRoundToNearestEven(float value)
        {
            uint bits = BitConverter.SingleToUInt32Bits(value);
            if ((bits & AbsMask) > PositiveInfinity32)
            {
                return (ushort)((bits >> 16) | QuietBit);
            }

            return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
        }

        /// <summary>
        /// Narrows a float to bf16 stochastically: rounds away from zero with probability equal to the discarded
        /// fraction (the low 16 bits / 2^16), so the expected result equals <paramref name="value"/>.
        /// </summary>
        /// <param name="value">The value.</param>
        /// <param name="randomBits">Uniform random bits; only the low 16 are used.</param>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ushort FromSingleStochastic(float value, uint randomBits)
        {
            uint bits = BitConverter.SingleToUInt32Bits(value);
            if ((bits & AbsMask) > PositiveInfinity32)
            {
                return (ushort)((bits >> 16) | QuietBit);
            }

            // Adding to the magnitude bits carries into the kept part exactly when random < discarded fraction.
            return (ushort)((bits + (randomBits & 0xFFFFu)) >> 16);
        }

        /// <summary>
        /// Stochastic rounding of element <paramref name="elementIndex"/> of the stream <paramref name="key"/>:
        /// the random bits are <see cref="CounterRng.NextUInt16"/>(key, elementIndex), i.e. the low (even index) or
        /// high (odd index) half of <see cref="CounterRng.NextUInt32"/>(key, elementIndex / 2).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ushort FromSingleStochastic(float value, in CounterRngKey key, long elementIndex)
            => FromSingleStochastic(value, CounterRng.NextUInt16(key, elementIndex));

        /// <summary>Widens bf16 values to floats. <paramref name="destination"/> must be at least as long as the source.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
        {
            CheckLengths(source.Length, destination.Length);
            if (Vector512.IsHardwareAccelerated)
            {
                WidenVector512(source, destination);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                WidenVector256(source, destination);
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                WidenVector128(source, destination);
            }
            else
            {
                WidenScalar(source, destination, 0);
            }
        }

        /// <summary>Narrows floats to bf16 with round-to-nearest-even.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void NarrowToNearestEven(ReadOnlySpan<float> source, Span<ushort> destination)
        {
            CheckLengths(source.Length, destination.Length);
            if (Vector512.IsHardwareAccelerated)
            {
                NarrowToNearestEvenVector512(source, destination);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                NarrowToNearestEvenVector256(source, destination);
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                NarrowToNearestEvenVector128(source, destination);
            }
            else
            {
                NarrowToNearestEvenScalar(source, destination, 0);
            }
        }

        /// <summary>
        /// Narrows floats to bf16 with stochastic rounding. Element i of <paramref name="source"/> is element
        /// <paramref name="firstElementIndex"/> + i of the tensor, and uses the random bits of that index in stream
        /// <paramref name="key"/>; so converting a tensor in pieces, in any order, on any threads, gives the same
        /// bits as converting it whole.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void NarrowStochastic(ReadOnlySpan<float> source, Span<ushort> destination, in CounterRngKey key, long firstElementIndex)
        {
            CheckLengths(source.Length, destination.Length);
            if (firstElementIndex < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(firstElementIndex), firstElementIndex, "element index must be non-negative");
            }

            if (Vector512.IsHardwareAccelerated)
            {
                NarrowStochasticVector512(source, destination, key, firstElementIndex);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                NarrowStochasticVector256(source, destination, key, firstElementIndex);
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                NarrowStochasticVector128(source, destination, key, firstElementIndex);
            }
            else
            {
                NarrowStochasticScalar(source, destination, key, firstElementIndex, 0);
            }
        }

        private static void CheckLengths(int source, int destination)
        {
            if (destination < source)
            {
                throw new ArgumentException($"destination has {destination} elements, source has {source}", "destination");
            }
        }

        // ---- scalar tails (also the reference paths) ----

        internal static void WidenScalar(ReadOnlySpan<ushort> source, Span<float> destination, int from)
        {
            for (int i = from; i < source.Length; i++)
            {
                destination[i] = ToSingle(source[i]);
            }
        }

        internal static void NarrowToNearestEvenScalar(ReadOnlySpan<float> source, Span<ushort> destination, int from)
        {
            for (int i = from; i < source.Length; i++)
            {
                destination[i] = FromSingleRoundToNearestEven(source[i]);
            }
        }

        internal static void NarrowStochasticScalar(ReadOnlySpan<float> source, Span<ushort> destination, in CounterRngKey key, long firstElementIndex, int from)
        {
            for (int i = from; i < source.Length; i++)
            {
                destination[i] = FromSingleStochastic(source[i], key, firstElementIndex + i);
            }
        }

        /// <summary>
        /// Vector paths draw one 32-bit hash per pair of elements, so they start at an even element index: an odd
        /// first element is done here. Returns where the vector loop starts.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int AlignToPair(ReadOnlySpan<float> source, Span<ushort> destination, in CounterRngKey key, long firstElementIndex)
        {
            if ((firstElementIndex & 1) == 0 || source.Length == 0)
            {
                return 0;
            }

            destination[0] = FromSingleStochastic(source[0], key, firstElementIndex);
            return 1;
        }

        // ---- Vector256 ----

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void WidenVector256(ReadOnlySpan<ushort> source, Span<float> destination)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref uint dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
            int i = 0;
            for (; i <= source.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                Vector256.ShiftLeft(lower, 16).StoreUnsafe(ref dst, (nuint)i);
                Vector256.ShiftLeft(upper, 16).StoreUnsafe(ref dst, (nuint)(i + Vector256<uint>.Count));
            }

            WidenScalar(source, destination, i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void NarrowToNearestEvenVector256(ReadOnlySpan<float> source, Span<ushort> destination)
        {
            ref uint src = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source));
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            int i = 0;
            for (; i <= source.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var a = RoundNearestEven(Vector256.LoadUnsafe(ref src, (nuint)i));
                var b = RoundNearestEven(Vector256.LoadUnsafe(ref src, (nuint)(i + Vector256<uint>.Count)));
                Vector256.Narrow(a, b).StoreUnsafe(ref dst, (nuint)i);
            }

            NarrowToNearestEvenScalar(source, destination, i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void NarrowStochasticVector256(ReadOnlySpan<float> source, Span<ushort> destination, in CounterRngKey key, long firstElementIndex)
        {
            int i = AlignToPair(source, destination, key, firstElementIndex);
            int end = i + ((source.Length - i) & ~(Vector256<ushort>.Count - 1));
            if (end > i)
            {
                ref uint src = ref Unsafe.Add(ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source)), i);
                ref ushort dst = ref Unsafe.Add(ref MemoryMarshal.GetReference(destination), i);
                long firstPair = (firstElementIndex + i) >> 1;
                long lastPair = firstPair + ((end - i) >> 1) - 1;
                if (((ulong)firstPair >> 32) != ((ulong)lastPair >> 32) || !StochasticRunFast256(ref src, ref dst, end - i, firstPair, key))
                {
                    StochasticRunChecked256(ref src, ref dst, end - i, firstPair, key);
                }
            }

            NarrowStochasticScalar(source, destination, key, firstElementIndex, end);
        }

        /// <summary>
        /// The common case: the counters' high halves are one value over the run, so only the low halves step, and
        /// NaN is not looked for lane by lane: the largest magnitude seen says whether there was one. Returns false
        /// (having written wrong bits for NaN lanes) when a NaN was seen; the caller then redoes the run.
        /// <paramref name="count"/> is a multiple of the vector's ushort count.
        /// </summary>
        private static bool StochasticRunFast256(ref uint src, ref ushort dst, int count, long firstPair, in CounterRngKey key)
        {
            var k0 = Vector256.Create(key.K0);
            var highKey = Vector256.Create((uint)((ulong)firstPair >> 32) ^ key.K1);
            var counter = Vector256.Create((uint)firstPair) + Vector256<uint>.Indices;
            var magnitude = Vector256.Create(AbsMask);
            var largest = Vector256<int>.Zero;
            int Step = 2 * Vector256<uint>.Count; // elements per vector of draws (a JIT-time constant)
            int i = 0;
            // Four independent hash chains per iteration: the hash is a long dependency chain of multiplies, and
            // one chain per iteration leaves the vector units waiting on its latency.
            for (; i <= count - 4 * Step; i += 4 * Step)
            {
                var d0 = LowBias32(counter ^ k0);
                var d1 = LowBias32((counter + Vector256.Create(1u * (uint)Vector256<uint>.Count)) ^ k0);
                var d2 = LowBias32((counter + Vector256.Create(2u * (uint)Vector256<uint>.Count)) ^ k0);
                var d3 = LowBias32((counter + Vector256.Create(3u * (uint)Vector256<uint>.Count)) ^ k0);
                d0 = LowBias32(d0 ^ highKey);
                d1 = LowBias32(d1 ^ highKey);
                d2 = LowBias32(d2 ^ highKey);
                d3 = LowBias32(d3 ^ highKey);
                counter += Vector256.Create((uint)(4 * Vector256<uint>.Count));
                largest = RoundFast(ref src, ref dst, i, d0, largest, magnitude);
                largest = RoundFast(ref src, ref dst, i + 1 * Step, d1, largest, magnitude);
                largest = RoundFast(ref src, ref dst, i + 2 * Step, d2, largest, magnitude);
                largest = RoundFast(ref src, ref dst, i + 3 * Step, d3, largest, magnitude);
            }

            for (; i < count; i += Step)
            {
                var draws = LowBias32(LowBias32(counter ^ k0) ^ highKey);
                counter += Vector256.Create((uint)Vector256<uint>.Count);
                largest = RoundFast(ref src, ref dst, i, draws, largest, magnitude);
            }

            return !Vector256.GreaterThanAny(largest, Vector256.Create((int)PositiveInfinity32));
        }

        /// <summary>
        /// Stochastic rounding of the 2 × lanes elements at <paramref name="i"/> with the 16-bit lanes of
        /// <paramref name="draws"/>, without NaN handling; folds their magnitudes into <paramref name="largest"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> RoundFast(ref uint src, ref ushort dst, int i, Vector256<uint> draws, Vector256<int> largest, Vector256<uint> magnitude)
        {
            // 16-bit lane j of the draws belongs to element i + j.
            var (randomLower, randomUpper) = Vector256.Widen(draws.AsUInt16());
            var a = Vector256.LoadUnsafe(ref src, (nuint)i);
            var b = Vector256.LoadUnsafe(ref src, (nuint)(i + Vector256<uint>.Count));
            Vector256.Narrow((a + randomLower) >> 16, (b + randomUpper) >> 16).StoreUnsafe(ref dst, (nuint)i);
            return Vector256.Max(largest, Vector256.Max((a & magnitude).AsInt32(), (b & magnitude).AsInt32()));
        }

        /// <summary>Any run: 64-bit counters carried lane by lane, NaN selected lane by lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void StochasticRunChecked256(ref uint src, ref ushort dst, int count, long firstPair, in CounterRngKey key)
        {
            var k0 = Vector256.Create(key.K0);
            var k1 = Vector256.Create(key.K1);
            var iota = Vector256<uint>.Indices;
            for (int i = 0; i < count; i += Vector256<ushort>.Count)
            {
                var random = PairDraws(firstPair + (i >> 1), iota, k0, k1).AsUInt16();
                var (randomLower, randomUpper) = Vector256.Widen(random);
                var a = RoundStochastic(Vector256.LoadUnsafe(ref src, (nuint)i), randomLower);
                var b = RoundStochastic(Vector256.LoadUnsafe(ref src, (nuint)(i + Vector256<uint>.Count)), randomUpper);
                Vector256.Narrow(a, b).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector256<uint> RoundNearestEven(Vector256<uint> bits)
        {
            var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
            return SelectNaN(bits, rounded);
        }

        /// <summary><paramref name="random"/> holds 16 random bits per lane (zero-extended).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<uint> RoundStochastic(Vector256<uint> bits, Vector256<uint> random)
            => SelectNaN(bits, (bits + random) >> 16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<uint> SelectNaN(Vector256<uint> bits, Vector256<uint> rounded)
        {
            // Magnitudes fit in 31 bits, so a signed compare is exact and cheaper than an unsigned one on AVX2.
            var isNaN = Vector256.GreaterThan((bits & Vector256.Create(AbsMask)).AsInt32(), Vector256.Create((int)PositiveInfinity32)).AsUInt32();
            return Vector256.ConditionalSelect(isNaN, (bits >> 16) | Vector256.Create(QuietBit), rounded);
        }

        /// <summary><see cref="CounterRng.NextUInt32"/> of the counters firstPair + j, one per lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<uint> PairDraws(long firstIndex, Vector256<uint> iota, Vector256<uint> k0, Vector256<uint> k1)
        {
            // Counter lanes firstIndex + j, as (lo, hi) 32-bit halves with the carry of lo into hi.
            var lo = Vector256.Create((uint)firstIndex) + iota;
            var carry = Vector256.LessThan(lo, iota); // all-ones where lo wrapped
            var hi = Vector256.Create((uint)((ulong)firstIndex >> 32)) - carry;
            return LowBias32(LowBias32(lo ^ k0) ^ hi ^ k1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector256<uint> LowBias32(Vector256<uint> x)
        {
            x ^= x >> 16;
            x *= Vector256.Create(0x7FEB352Du);
            x ^= x >> 15;
            x *= Vector256.Create(0x846CA68Bu);
            x ^= x >> 16;
            return x;
        }

        // ---- Vector512 (same algorithms, twice the lanes) ----

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void WidenVector512(ReadOnlySpan<ushort> source, Span<float> destination)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref uint dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
            int i = 0;
            for (; i <= source.Length - Vector512<ushort>.Count; i += Vector512<ushort>.Count)
            {
                var (lower, upper) = Vector512.Widen(Vector512.LoadUnsafe(ref src, (nuint)i));
                Vector512.ShiftLeft(lower, 16).StoreUnsafe(ref dst, (nuint)i);
                Vector512.ShiftLeft(upper, 16).StoreUnsafe(ref dst, (nuint)(i + Vector512<uint>.Count));
            }

            WidenScalar(source, destination, i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void NarrowToNearestEvenVector512(ReadOnlySpan<float> source, Span<ushort> destination)
        {
            ref uint src = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source));
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            int i = 0;
            for (; i <= source.Length - Vector512<ushort>.Count; i += Vector512<ushort>.Count)
            {
                var a = RoundNearestEven(Vector512.LoadUnsafe(ref src, (nuint)i));
                var b = RoundNearestEven(Vector512.LoadUnsafe(ref src, (nuint)(i + Vector512<uint>.Count)));
                Vector512.Narrow(a, b).StoreUnsafe(ref dst, (nuint)i);
            }

            NarrowToNearestEvenScalar(source, destination, i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void NarrowStochasticVector512(ReadOnlySpan<float> source, Span<ushort> destination, in CounterRngKey key, long firstElementIndex)
        {
            int i = AlignToPair(source, destination, key, firstElementIndex);
            int end = i + ((source.Length - i) & ~(Vector512<ushort>.Count - 1));
            if (end > i)
            {
                ref uint src = ref Unsafe.Add(ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source)), i);
                ref ushort dst = ref Unsafe.Add(ref MemoryMarshal.GetReference(destination), i);
                long firstPair = (firstElementIndex + i) >> 1;
                long lastPair = firstPair + ((end - i) >> 1) - 1;
                if (((ulong)firstPair >> 32) != ((ulong)lastPair >> 32) || !StochasticRunFast512(ref src, ref dst, end - i, firstPair, key))
                {
                    StochasticRunChecked512(ref src, ref dst, end - i, firstPair, key);
                }
            }

            NarrowStochasticScalar(source, destination, key, firstElementIndex, end);
        }

        /// <summary>
        /// The common case: the counters' high halves are one value over the run, so only the low halves step, and
        /// NaN is not looked for lane by lane: the largest magnitude seen says whether there was one. Returns false
        /// (having written wrong bits for NaN lanes) when a NaN was seen; the caller then redoes the run.
        /// <paramref name="count"/> is a multiple of the vector's ushort count.
        /// </summary>
        private static bool StochasticRunFast512(ref uint src, ref ushort dst, int count, long firstPair, in CounterRngKey key)
        {
            var k0 = Vector512.Create(key.K0);
            var highKey = Vector512.Create((uint)((ulong)firstPair >> 32) ^ key.K1);
            var counter = Vector512.Create((uint)firstPair) + Vector512<uint>.Indices;
            var magnitude = Vector512.Create(AbsMask);
            var largest = Vector512<int>.Zero;
            int Step = 2 * Vector512<uint>.Count; // elements per vector of draws (a JIT-time constant)
            int i = 0;
            // two independent hash chains per iteration: the hash is a long dependency chain of multiplies, and
            // one chain per iteration leaves the vector units waiting on its latency.
            for (; i <= count - 2 * Step; i += 2 * Step)
            {
                var d0 = LowBias32(counter ^ k0);
                var d1 = LowBias32((counter + Vector512.Create(1u * (uint)Vector512<uint>.Count)) ^ k0);
                d0 = LowBias32(d0 ^ highKey);
                d1 = LowBias32(d1 ^ highKey);
                counter += Vector512.Create((uint)(2 * Vector512<uint>.Count));
                largest = RoundFast(ref src, ref dst, i, d0, largest, magnitude);
                largest = RoundFast(ref src, ref dst, i + 1 * Step, d1, largest, magnitude);
            }

            for (; i < count; i += Step)
            {
                var draws = LowBias32(LowBias32(counter ^ k0) ^ highKey);
                counter += Vector512.Create((uint)Vector512<uint>.Count);
                largest = RoundFast(ref src, ref dst, i, draws, largest, magnitude);
            }

            return !Vector512.GreaterThanAny(largest, Vector512.Create((int)PositiveInfinity32));
        }

        /// <summary>
        /// Stochastic rounding of the 2 × lanes elements at <paramref name="i"/> with the 16-bit lanes of
        /// <paramref name="draws"/>, without NaN handling; folds their magnitudes into <paramref name="largest"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<int> RoundFast(ref uint src, ref ushort dst, int i, Vector512<uint> draws, Vector512<int> largest, Vector512<uint> magnitude)
        {
            // 16-bit lane j of the draws belongs to element i + j.
            var (randomLower, randomUpper) = Vector512.Widen(draws.AsUInt16());
            var a = Vector512.LoadUnsafe(ref src, (nuint)i);
            var b = Vector512.LoadUnsafe(ref src, (nuint)(i + Vector512<uint>.Count));
            Vector512.Narrow((a + randomLower) >> 16, (b + randomUpper) >> 16).StoreUnsafe(ref dst, (nuint)i);
            return Vector512.Max(largest, Vector512.Max((a & magnitude).AsInt32(), (b & magnitude).AsInt32()));
        }

        /// <summary>Any run: 64-bit counters carried lane by lane, NaN selected lane by lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void StochasticRunChecked512(ref uint src, ref ushort dst, int count, long firstPair, in CounterRngKey key)
        {
            var k0 = Vector512.Create(key.K0);
            var k1 = Vector512.Create(key.K1);
            var iota = Vector512<uint>.Indices;
            for (int i = 0; i < count; i += Vector512<ushort>.Count)
            {
                var random = PairDraws(firstPair + (i >> 1), iota, k0, k1).AsUInt16();
                var (randomLower, randomUpper) = Vector512.Widen(random);
                var a = RoundStochastic(Vector512.LoadUnsafe(ref src, (nuint)i), randomLower);
                var b = RoundStochastic(Vector512.LoadUnsafe(ref src, (nuint)(i + Vector512<uint>.Count)), randomUpper);
                Vector512.Narrow(a, b).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector512<uint> RoundNearestEven(Vector512<uint> bits)
        {
            var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
            return SelectNaN(bits, rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<uint> RoundStochastic(Vector512<uint> bits, Vector512<uint> random)
            => SelectNaN(bits, (bits + random) >> 16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<uint> SelectNaN(Vector512<uint> bits, Vector512<uint> rounded)
        {
            var isNaN = Vector512.GreaterThan((bits & Vector512.Create(AbsMask)).AsInt32(), Vector512.Create((int)PositiveInfinity32)).AsUInt32();
            return Vector512.ConditionalSelect(isNaN, (bits >> 16) | Vector512.Create(QuietBit), rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<uint> PairDraws(long firstIndex, Vector512<uint> iota, Vector512<uint> k0, Vector512<uint> k1)
        {
            var lo = Vector512.Create((uint)firstIndex) + iota;
            var carry = Vector512.LessThan(lo, iota);
            var hi = Vector512.Create((uint)((ulong)firstIndex >> 32)) - carry;
            return LowBias32(LowBias32(lo ^ k0) ^ hi ^ k1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<uint> LowBias32(Vector512<uint> x)
        {
            x ^= x >> 16;
            x *= Vector512.Create(0x7FEB352Du);
            x ^= x >> 15;
            x *= Vector512.Create(0x846CA68Bu);
            x ^= x >> 16;
            return x;
        }

        // ---- Vector128 (same algorithms; ARM64 NEON and x86 without AVX2) ----

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void WidenVector128(ReadOnlySpan<ushort> source, Span<float> destination)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref uint dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
            int i = 0;
            for (; i <= source.Length - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var (lower, upper) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                Vector128.ShiftLeft(lower, 16).StoreUnsafe(ref dst, (nuint)i);
                Vector128.ShiftLeft(upper, 16).StoreUnsafe(ref dst, (nuint)(i + Vector128<uint>.Count));
            }

            WidenScalar(source, destination, i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void NarrowToNearestEvenVector128(ReadOnlySpan<float> source, Span<ushort> destination)
        {
            ref uint src = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source));
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            int i = 0;
            for (; i <= source.Length - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var a = RoundNearestEven(Vector128.LoadUnsafe(ref src, (nuint)i));
                var b = RoundNearestEven(Vector128.LoadUnsafe(ref src, (nuint)(i + Vector128<uint>.Count)));
                Vector128.Narrow(a, b).StoreUnsafe(ref dst, (nuint)i);
            }

            NarrowToNearestEvenScalar(source, destination, i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void NarrowStochasticVector128(ReadOnlySpan<float> source, Span<ushort> destination, in CounterRngKey key, long firstElementIndex)
        {
            int i = AlignToPair(source, destination, key, firstElementIndex);
            int end = i + ((source.Length - i) & ~(Vector128<ushort>.Count - 1));
            if (end > i)
            {
                ref uint src = ref Unsafe.Add(ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source)), i);
                ref ushort dst = ref Unsafe.Add(ref MemoryMarshal.GetReference(destination), i);
                long firstPair = (firstElementIndex + i) >> 1;
                long lastPair = firstPair + ((end - i) >> 1) - 1;
                if (((ulong)firstPair >> 32) != ((ulong)lastPair >> 32) || !StochasticRunFast128(ref src, ref dst, end - i, firstPair, key))
                {
                    StochasticRunChecked128(ref src, ref dst, end - i, firstPair, key);
                }
            }

            NarrowStochasticScalar(source, destination, key, firstElementIndex, end);
        }

        /// <summary>
        /// The common case: the counters' high halves are one value over the run, so only the low halves step, and
        /// NaN is not looked for lane by lane: the largest magnitude seen says whether there was one. Returns false
        /// (having written wrong bits for NaN lanes) when a NaN was seen; the caller then redoes the run.
        /// <paramref name="count"/> is a multiple of the vector's ushort count.
        /// </summary>
        private static bool StochasticRunFast128(ref uint src, ref ushort dst, int count, long firstPair, in CounterRngKey key)
        {
            var k0 = Vector128.Create(key.K0);
            var highKey = Vector128.Create((uint)((ulong)firstPair >> 32) ^ key.K1);
            var counter = Vector128.Create((uint)firstPair) + Vector128<uint>.Indices;
            var magnitude = Vector128.Create(AbsMask);
            var largest = Vector128<int>.Zero;
            int Step = 2 * Vector128<uint>.Count; // elements per vector of draws (a JIT-time constant)
            int i = 0;
            // Four independent hash chains per iteration: the hash is a long dependency chain of multiplies, and
            // one chain per iteration leaves the vector units waiting on its latency.
            for (; i <= count - 4 * Step; i += 4 * Step)
            {
                var d0 = LowBias32(counter ^ k0);
                var d1 = LowBias32((counter + Vector128.Create(1u * (uint)Vector128<uint>.Count)) ^ k0);
                var d2 = LowBias32((counter + Vector128.Create(2u * (uint)Vector128<uint>.Count)) ^ k0);
                var d3 = LowBias32((counter + Vector128.Create(3u * (uint)Vector128<uint>.Count)) ^ k0);
                d0 = LowBias32(d0 ^ highKey);
                d1 = LowBias32(d1 ^ highKey);
                d2 = LowBias32(d2 ^ highKey);
                d3 = LowBias32(d3 ^ highKey);
                counter += Vector128.Create((uint)(4 * Vector128<uint>.Count));
                largest = RoundFast(ref src, ref dst, i, d0, largest, magnitude);
                largest = RoundFast(ref src, ref dst, i + 1 * Step, d1, largest, magnitude);
                largest = RoundFast(ref src, ref dst, i + 2 * Step, d2, largest, magnitude);
                largest = RoundFast(ref src, ref dst, i + 3 * Step, d3, largest, magnitude);
            }

            for (; i < count; i += Step)
            {
                var draws = LowBias32(LowBias32(counter ^ k0) ^ highKey);
                counter += Vector128.Create((uint)Vector128<uint>.Count);
                largest = RoundFast(ref src, ref dst, i, draws, largest, magnitude);
            }

            return !Vector128.GreaterThanAny(largest, Vector128.Create((int)PositiveInfinity32));
        }

        /// <summary>
        /// Stochastic rounding of the 2 × lanes elements at <paramref name="i"/> with the 16-bit lanes of
        /// <paramref name="draws"/>, without NaN handling; folds their magnitudes into <paramref name="largest"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<int> RoundFast(ref uint src, ref ushort dst, int i, Vector128<uint> draws, Vector128<int> largest, Vector128<uint> magnitude)
        {
            // 16-bit lane j of the draws belongs to element i + j.
            var (randomLower, randomUpper) = Vector128.Widen(draws.AsUInt16());
            var a = Vector128.LoadUnsafe(ref src, (nuint)i);
            var b = Vector128.LoadUnsafe(ref src, (nuint)(i + Vector128<uint>.Count));
            Vector128.Narrow((a + randomLower) >> 16, (b + randomUpper) >> 16).StoreUnsafe(ref dst, (nuint)i);
            return Vector128.Max(largest, Vector128.Max((a & magnitude).AsInt32(), (b & magnitude).AsInt32()));
        }

        /// <summary>Any run: 64-bit counters carried lane by lane, NaN selected lane by lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void StochasticRunChecked128(ref uint src, ref ushort dst, int count, long firstPair, in CounterRngKey key)
        {
            var k0 = Vector128.Create(key.K0);
            var k1 = Vector128.Create(key.K1);
            var iota = Vector128<uint>.Indices;
            for (int i = 0; i < count; i += Vector128<ushort>.Count)
            {
                var random = PairDraws(firstPair + (i >> 1), iota, k0, k1).AsUInt16();
                var (randomLower, randomUpper) = Vector128.Widen(random);
                var a = RoundStochastic(Vector128.LoadUnsafe(ref src, (nuint)i), randomLower);
                var b = RoundStochastic(Vector128.LoadUnsafe(ref src, (nuint)(i + Vector128<uint>.Count)), randomUpper);
                Vector128.Narrow(a, b).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector128<uint> RoundNearestEven(Vector128<uint> bits)
        {
            var rounded = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128<uint>.One)) >> 16;
            return SelectNaN(bits, rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<uint> RoundStochastic(Vector128<uint> bits, Vector128<uint> random)
            => SelectNaN(bits, (bits + random) >> 16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<uint> SelectNaN(Vector128<uint> bits, Vector128<uint> rounded)
        {
            var isNaN = Vector128.GreaterThan((bits & Vector128.Create(AbsMask)).AsInt32(), Vector128.Create((int)PositiveInfinity32)).AsUInt32();
            return Vector128.ConditionalSelect(isNaN, (bits >> 16) | Vector128.Create(QuietBit), rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<uint> PairDraws(long firstIndex, Vector128<uint> iota, Vector128<uint> k0, Vector128<uint> k1)
        {
            var lo = Vector128.Create((uint)firstIndex) + iota;
            var carry = Vector128.LessThan(lo, iota);
            var hi = Vector128.Create((uint)((ulong)firstIndex >> 32)) - carry;
            return LowBias32(LowBias32(lo ^ k0) ^ hi ^ k1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector128<uint> LowBias32(Vector128<uint> x)
        {
            x ^= x >> 16;
            x *= Vector128.Create(0x7FEB352Du);
            x ^= x >> 15;
            x *= Vector128.Create(0x846CA68Bu);
            x ^= x >> 16;
            return x;
        }
    }
}
