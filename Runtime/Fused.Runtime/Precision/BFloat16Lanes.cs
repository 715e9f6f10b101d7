using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Fused.Runtime.Precision
{
    /// <summary>
    /// The stochastic-rounding streams of one kernel call over bfloat16 element states: one <see cref="CounterRngKey"/> per
    /// element state (kernel order) and the tensor element the call's range starts at (the counter of its first element).
    /// </summary>
    public readonly ref struct StateRounding
    {
        private readonly ReadOnlySpan<CounterRngKey> _keys;

        /// <summary>Streams <paramref name="keys"/> (element state k uses keys[k]); the range starts at tensor element <paramref name="element"/>.</summary>
        public StateRounding(ReadOnlySpan<CounterRngKey> keys, long element)
        {
            _keys = keys;
            Element = element;
        }

        /// <summary>Tensor element of the range's first element: the counter stochastic rounding draws for it.</summary>
        public long Element { get; }

        /// <summary>The stream of element state <paramref name="state"/> (kernel order).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public CounterRngKey Key(int state)
        {
            if ((uint)state >= (uint)_keys.Length) ThrowNoStream(state, _keys.Length);
            return _keys[state];
        }

        private static void ThrowNoStream(int state, int streams) =>
            throw new ArgumentOutOfRangeException(nameof(state), state, $"the call has {streams} rounding streams");
    }

    /// <summary>
    /// bfloat16 element state inside the generated kernels: loads widen in registers (a bf16 is the upper half of a float32,
    /// so widening is a zero-extend and a shift by 16), stores narrow by stochastic rounding with exactly the bits of
    /// <see cref="BFloat16.NarrowStochastic"/> — element e draws <see cref="CounterRng.NextUInt16"/>(key, e) — so a state
    /// narrowed in a kernel is bit-identical to one widened into scratch, computed and narrowed there.
    /// A vector store of W elements at an even element e draws the W/2 pairs e/2 .. e/2 + W/2 − 1 in one half-width
    /// vector of hashes whose 16-bit lanes are already in element order; kernels start their vector bodies on even elements.
    /// </summary>
    public static class BFloat16Lanes
    {
        private const uint AbsMask = 0x7FFF_FFFF;
        private const uint PositiveInfinity32 = 0x7F80_0000;
        private const uint QuietBit = 0x0040;

        /// <summary>The scalar load: bf16 <paramref name="value"/> as float32 (exact).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Load(ushort value) => BFloat16.ToSingle(value);

        /// <summary>The scalar store: <paramref name="value"/> rounded stochastically as tensor element <paramref name="element"/> of stream <paramref name="key"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ushort Round(float value, in CounterRngKey key, long element) => BFloat16.FromSingleStochastic(value, key, element);

        // ---- Vector512: 16 elements, 8 draws in a Vector256 ----

        /// <summary>16 bf16 values at <paramref name="source"/>[i] as float32.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> LoadVector512(ref ushort source, nuint i)
            => (Widen(Vector256.LoadUnsafe(ref source, i)) << 16).AsSingle();

        /// <summary>Stores <paramref name="value"/> at <paramref name="destination"/>[i] rounded stochastically as tensor elements <paramref name="element"/> (even) onwards, the stream's keys as <see cref="KeysVector512"/> broadcast them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector512(Vector512<float> value, ref ushort destination, nuint i, Vector256<uint> k0, Vector256<uint> k1High, long element)
        {
            var low = Vector256.Create((uint)(element >> 1)) + Vector256<uint>.Indices;
            var draws = BFloat16.LowBias32(BFloat16.LowBias32(low ^ k0) ^ k1High);
            var bits = value.AsUInt32();
            var rounded = (bits + Widen(draws.AsUInt16())) >> 16;
            var isNaN = Vector512.GreaterThan((bits & Vector512.Create(AbsMask)).AsInt32(), Vector512.Create((int)PositiveInfinity32)).AsUInt32();
            rounded = Vector512.ConditionalSelect(isNaN, (bits >> 16) | Vector512.Create(QuietBit), rounded);
            Narrow(rounded).StoreUnsafe(ref destination, i);
        }

        /// <summary>A stream's keys broadcast for <see cref="StoreVector512"/> over a range starting at <paramref name="element"/> (see <see cref="OneCounterHigh"/>).</summary>
        public static (Vector256<uint> K0, Vector256<uint> K1High) KeysVector512(in CounterRngKey key, long element) => (Vector256.Create(key.K0), Vector256.Create(key.K1 ^ (uint)((ulong)element >> 33)));

        // ---- Vector256: 8 elements, 4 draws in a Vector128 ----

        /// <summary>8 bf16 values at <paramref name="source"/>[i] as float32.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> LoadVector256(ref ushort source, nuint i)
            => (Widen(Vector128.LoadUnsafe(ref source, i)) << 16).AsSingle();

        /// <summary>As <see cref="StoreVector512"/>, 8 elements.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector256(Vector256<float> value, ref ushort destination, nuint i, Vector128<uint> k0, Vector128<uint> k1High, long element)
        {
            var low = Vector128.Create((uint)(element >> 1)) + Vector128<uint>.Indices;
            var draws = BFloat16.LowBias32(BFloat16.LowBias32(low ^ k0) ^ k1High);
            var bits = value.AsUInt32();
            var rounded = (bits + Widen(draws.AsUInt16())) >> 16;
            var isNaN = Vector256.GreaterThan((bits & Vector256.Create(AbsMask)).AsInt32(), Vector256.Create((int)PositiveInfinity32)).AsUInt32();
            rounded = Vector256.ConditionalSelect(isNaN, (bits >> 16) | Vector256.Create(QuietBit), rounded);
            Vector256.Narrow(rounded, rounded).GetLower().StoreUnsafe(ref destination, i);
        }

        /// <summary>A stream's keys broadcast for <see cref="StoreVector256"/> (see <see cref="KeysVector512"/>).</summary>
        public static (Vector128<uint> K0, Vector128<uint> K1High) KeysVector256(in CounterRngKey key, long element) => (Vector128.Create(key.K0), Vector128.Create(key.K1 ^ (uint)((ulong)element >> 33)));

        // ---- Vector128: 4 elements, 2 draws (the low half of a Vector128 of draws) ----

        /// <summary>4 bf16 values at <paramref name="source"/>[i] as float32.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> LoadVector128(ref ushort source, nuint i)
            => (Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(
                ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref source, i)))).AsUInt16()) << 16).AsSingle();

        /// <summary>As <see cref="StoreVector512"/>, 4 elements.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector128(Vector128<float> value, ref ushort destination, nuint i, Vector128<uint> k0, Vector128<uint> k1High, long element)
        {
            var low = Vector128.Create((uint)(element >> 1)) + Vector128<uint>.Indices;
            var draws = BFloat16.LowBias32(BFloat16.LowBias32(low ^ k0) ^ k1High);
            var bits = value.AsUInt32();
            var rounded = (bits + Vector128.WidenLower(draws.AsUInt16())) >> 16;
            var isNaN = Vector128.GreaterThan((bits & Vector128.Create(AbsMask)).AsInt32(), Vector128.Create((int)PositiveInfinity32)).AsUInt32();
            rounded = Vector128.ConditionalSelect(isNaN, (bits >> 16) | Vector128.Create(QuietBit), rounded);
            ulong packed = Vector128.Narrow(rounded, rounded).AsUInt64().ToScalar();
            Unsafe.WriteUnaligned(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref destination, i)), packed);
        }

        /// <summary>A stream's keys broadcast for <see cref="StoreVector128"/> (see <see cref="KeysVector512"/>).</summary>
        public static (Vector128<uint> K0, Vector128<uint> K1High) KeysVector128(in CounterRngKey key, long element) => (Vector128.Create(key.K0), Vector128.Create(key.K1 ^ (uint)((ulong)element >> 33)));

        /// <summary>
        /// Whether the pair counters of elements [element, element + length) share one high half (the vector stores fold it
        /// into the key once per call): true unless the range crosses a multiple of 2^33 elements; the kernels run such a
        /// call's elements scalar instead.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool OneCounterHigh(long element, int length) => ((ulong)element >> 33) == ((ulong)(element + length) >> 33);

        // ---- lanes ----

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<uint> Widen(Vector256<ushort> x)
            => Avx512F.IsSupported ? Avx512F.ConvertToVector512UInt32(x) : Vector512.Create(Vector256.WidenLower(x), Vector256.WidenUpper(x));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<uint> Widen(Vector128<ushort> x)
            => Avx2.IsSupported ? Avx2.ConvertToVector256Int32(x).AsUInt32() : Vector256.Create(Vector128.WidenLower(x), Vector128.WidenUpper(x));

        /// <summary>The low 16 bits of each lane (every lane is below 2^16 here).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<ushort> Narrow(Vector512<uint> x)
            => Avx512F.IsSupported ? Avx512F.ConvertToVector256UInt16(x) : Vector512.Narrow(x, x).GetLower();
    }
}
