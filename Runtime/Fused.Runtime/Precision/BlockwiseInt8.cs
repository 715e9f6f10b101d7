using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Fused.Runtime.Precision
{
    /// <summary>
    /// A 256-entry non-linear code book on [−1, 1] (signed) or [0, 1] (unsigned) for 8-bit dynamic quantisation:
    /// dense near zero, sparse near ±1, so values spanning several orders of magnitude within a block keep
    /// relative precision.
    /// </summary>
    /// <remarks>
    /// <para>The tables are bitsandbytes' <c>create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)</c>
    /// ("dynamic tree" quantisation, Dettmers 2016/2022): for decades i = 0..6 the midpoints of
    /// linspace(0.1, 1, 2^i + 1) (signed) or linspace(0.1, 1, 2^(i+1) + 1) (unsigned) scaled by 10^(i−6),
    /// mirrored for the signed map, plus 0 and 1. The signed map therefore contains +1 but not −1 (its most
    /// negative code is −0.99297). Values are computed in double and stored as float, so they can differ from
    /// bitsandbytes' float32 table in the last bit.</para>
    /// <para>Encoding is the exact nearest code without a search: a table indexed by the sign, exponent and top
    /// <see cref="MantissaBits"/> mantissa bits of the value gives the lowest code any value of that bucket can
    /// have, and one comparison with the next midpoint decides between it and the code above. The constructor
    /// checks, bucket by bucket, that no bucket holds more than one midpoint.</para>
    /// </remarks>
    public sealed class DynamicQuantizationMap
    {
        /// <summary>Mantissa bits of the bucket index (with 7, the densest decade still has at most one midpoint per bucket).</summary>
        internal const int MantissaBits = 7;

        /// <summary>Magnitudes below 2^(LowestExponent − 127) all share bucket 0 (they are far below the smallest code).</summary>
        internal const int LowestExponent = 127 - 24;

        /// <summary>First bucket key ((biased exponent, mantissa bits) of the magnitude, as bits >> 16).</summary>
        internal const int BucketBase = LowestExponent << MantissaBits;

        /// <summary>Buckets per sign: magnitudes [0, 2^-23.99...) in bucket 0 up to [1, ∞] in the last (everything ≥ 1).</summary>
        internal const int BucketsPerSign = ((127 << MantissaBits) - BucketBase) + 1;

        private readonly float[] _codes;
        private readonly double[] _midpoints;
        private readonly float[] _thresholds;   // 256: x <= thresholds[i] ⟺ x <= midpoint i (as double); [255] = +∞
        private readonly byte[] _bucketCode;    // 2 × BucketsPerSign
        private readonly int[] _bucketEntry;    // 2 × BucketsPerSign: code | threshold key << 8 (see BucketEntries)
        private readonly int _zeroCode;

        private DynamicQuantizationMap(bool signed)
        {
            IsSigned = signed;
            var data = new List<double>(256);
            const int maxExponentBits = 7;
            const int nonSignBits = 7;
            for (int i = 0; i < maxExponentBits; i++)
            {
                int fractionItems = signed
                    ? (1 << (i + nonSignBits - maxExponentBits)) + 1
                    : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
                double scale = Math.Pow(10, -(maxExponentBits - 1) + i);
                for (int k = 0; k + 1 < fractionItems; k++)
                {
                    double lower = 0.1 + 0.9 * k / (fractionItems - 1);
                    double upper = 0.1 + 0.9 * (k + 1) / (fractionItems - 1);
                    double mean = (lower + upper) / 2;
                    data.Add(scale * mean);
                    if (signed)
                    {
                        data.Add(-scale * mean);
                    }
                }
            }

            data.Add(0);
            data.Add(1);
            if (data.Count != 256)
            {
                throw new InvalidOperationException($"dynamic map has {data.Count} entries, expected 256");
            }

            data.Sort();
            _codes = new float[256];
            for (int i = 0; i < 256; i++)
            {
                _codes[i] = (float)data[i];
            }

            _midpoints = new double[255];
            for (int i = 0; i < 255; i++)
            {
                _midpoints[i] = ((double)_codes[i] + _codes[i + 1]) / 2;
            }

            _zeroCode = Array.IndexOf(_codes, 0f);

            // Largest float <= each midpoint: for a float x, x <= midpoint exactly when x <= that float.
            _thresholds = new float[256];
            for (int i = 0; i < 255; i++)
            {
                float t = (float)_midpoints[i];
                if (t > _midpoints[i])
                {
                    t = MathF.BitDecrement(t);
                }

                _thresholds[i] = t;
            }

            _thresholds[255] = float.PositiveInfinity;

            _bucketCode = new byte[2 * BucketsPerSign];
            _bucketEntry = new int[2 * BucketsPerSign];
            for (int sign = 0; sign < 2; sign++)
            {
                for (int k = 0; k < BucketsPerSign; k++)
                {
                    uint lowBits = k == 0 ? 0u : (uint)(BucketBase + k) << 16;
                    uint highBits = k == BucketsPerSign - 1 ? 0x7F80_0000u : ((uint)(BucketBase + k + 1) << 16) - 1;
                    float low = BitConverter.UInt32BitsToSingle(lowBits);
                    float high = BitConverter.UInt32BitsToSingle(highBits);
                    // Ascending values of the bucket: [low, high] for positive, [−high, −low] for negative.
                    int first = EncodeBySearch(sign == 0 ? low : -high);
                    int last = EncodeBySearch(sign == 0 ? high : -low);
                    if (last - first > 1)
                    {
                        throw new InvalidOperationException($"quantisation bucket {sign}/{k} spans codes {first}..{last}; the encoder needs at most two");
                    }

                    _bucketCode[sign * BucketsPerSign + k] = (byte)first;

                    // The same decision from 16 bits: inside one bucket the upper 16 bits of every value are the
                    // same (bar the two clamped end buckets, which hold no midpoint), so x > threshold compares the
                    // low 16 bits, reversed for negative values (larger magnitude, smaller value).
                    int key = NoThreshold;
                    if (last != first)
                    {
                        uint t = BitConverter.SingleToUInt32Bits(_thresholds[first]);
                        if (k == 0 || k == BucketsPerSign - 1 || BucketOf(t) != sign * BucketsPerSign + k)
                        {
                            throw new InvalidOperationException($"quantisation bucket {sign}/{k}: midpoint {_thresholds[first]} cannot be compared by its low bits");
                        }

                        key = (int)((t & 0xFFFF) ^ (sign == 0 ? 0u : 0xFFFFu));
                    }

                    _bucketEntry[sign * BucketsPerSign + k] = first | (key << 8);
                }
            }
        }

        /// <summary>Map for signed values (e.g. Adam's first moment): codes in [−0.99297, 1].</summary>
        public static DynamicQuantizationMap Signed { get; } = new DynamicQuantizationMap(signed: true);

        /// <summary>Map for non-negative values (e.g. Adam's second moment): codes in [0, 1], twice as fine.</summary>
        public static DynamicQuantizationMap Unsigned { get; } = new DynamicQuantizationMap(signed: false);

        /// <summary>Whether the map covers negative values.</summary>
        public bool IsSigned { get; }

        /// <summary>The 256 code values, strictly ascending.</summary>
        public ReadOnlySpan<float> Codes => _codes;

        /// <summary>The code whose value is 0.</summary>
        public byte ZeroCode => (byte)_zeroCode;

        /// <summary>Value of <paramref name="code"/>.</summary>
        public float Decode(byte code) => _codes[code];

        /// <summary>
        /// Nearest code to <paramref name="normalized"/> (an exact midpoint between two codes goes to the lower code).
        /// Values outside the map's range go to its ends; NaN goes to the zero code.
        /// </summary>
        public byte Encode(float normalized)
        {
            if (float.IsNaN(normalized))
            {
                return ZeroCode;
            }

            return EncodeFinite(normalized, ref MemoryMarshal.GetArrayDataReference(_bucketCode), ref MemoryMarshal.GetArrayDataReference(_thresholds));
        }

        /// <summary>The code by table and one comparison (any non-NaN value).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte EncodeFinite(float x, ref byte bucketCode, ref float thresholds)
        {
            int code = Unsafe.Add(ref bucketCode, BucketOf(BitConverter.SingleToUInt32Bits(x)));
            return (byte)(code + (x > Unsafe.Add(ref thresholds, code) ? 1 : 0));
        }

        /// <summary>Index into the bucket table of a float's bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static int BucketOf(uint bits)
        {
            int k = Math.Clamp((int)((bits & 0x7FFF_FFFFu) >> 16) - BucketBase, 0, BucketsPerSign - 1);
            return k + ((int)(bits >> 31) * BucketsPerSign);
        }

        internal byte[] BucketCodes => _bucketCode;

        /// <summary>Threshold key of a bucket without a midpoint: above every 16-bit value.</summary>
        internal const int NoThreshold = 0x1_0000;

        /// <summary>
        /// Per bucket: its lowest code in bits 0–7 and, above, the key k of the midpoint to the next code: a value x of
        /// the bucket takes the next code when (low 16 bits of x, complemented if x is negative) &gt; k.
        /// One 32-bit load per value, for gathers.
        /// </summary>
        internal int[] BucketEntries => _bucketEntry;

        internal float[] Thresholds => _thresholds;

        /// <summary>Binary search over the midpoints (the definition the table is built from and checked against).</summary>
        internal byte EncodeBySearch(float normalized)
        {
            // Smallest i with normalized <= midpoint[i]; 255 if above every midpoint.
            double x = normalized;
            int lo = 0, hi = 255;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (x <= _midpoints[mid])
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }

            return (byte)lo;
        }
    }

    /// <summary>
    /// 8-bit blockwise dynamic quantisation (bitsandbytes style) for optimizer state: each block of
    /// <c>blockSize</c> values stores one float scale (the block's absolute maximum) and one byte per value,
    /// the nearest <see cref="DynamicQuantizationMap"/> code of value / absmax.
    /// </summary>
    /// <remarks>
    /// <para>Blocks start at multiples of the block size from the start of the span; the last block may be
    /// shorter. To quantise a tensor in parallel pieces, cut it at block boundaries.</para>
    /// <para>Zeros: an all-zero block stores scale 0 and dequantises to exact zeros.</para>
    /// <para>NaN and ±Inf affect only their own element (as in float32 state, not the whole block of 256): the
    /// block's scale is its largest finite magnitude, NaN stores as 0 and ±Inf as ±scale. Eight-bit codes cannot hold
    /// them; the parameter updated from the same value in the same step already shows the fault
    /// (<see cref="Engine.FusedOptimizer.FindNonFiniteParameters"/>), and neighbouring parameters keep training.</para>
    /// <para>With the unsigned map, negative values quantise to 0.</para>
    /// </remarks>
    public static class BlockwiseInt8
    {
        /// <summary>Default block size (bitsandbytes' optimizer default).</summary>
        public const int DefaultBlockSize = 256;

        /// <summary>Number of blocks (and scales) for <paramref name="length"/> values.</summary>
        public static int BlockCount(int length, int blockSize = DefaultBlockSize)
        {
            CheckBlockSize(blockSize);
            if (length < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, "length must be non-negative");
            }

            return (int)(((long)length + blockSize - 1) / blockSize);
        }

        /// <summary>Quantises <paramref name="values"/> into one code per value and one absmax scale per block.</summary>
        /// <param name="values">Input values.</param>
        /// <param name="codes">Output codes; at least <c>values.Length</c> long.</param>
        /// <param name="blockAbsMax">Output scales; at least <see cref="BlockCount"/> long.</param>
        /// <param name="map">Code book (<see cref="DynamicQuantizationMap.Signed"/> or <see cref="DynamicQuantizationMap.Unsigned"/>).</param>
        /// <param name="blockSize">Values per block.</param>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Quantize(ReadOnlySpan<float> values, Span<byte> codes, Span<float> blockAbsMax, DynamicQuantizationMap map, int blockSize = DefaultBlockSize)
        {
            ArgumentNullException.ThrowIfNull(map);
            int blocks = BlockCount(values.Length, blockSize);
            CheckSizes(values.Length, codes.Length, blocks, blockAbsMax.Length);
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize;
                int length = Math.Min(blockSize, values.Length - start);
                blockAbsMax[b] = QuantizeBlock(values.Slice(start, length), codes.Slice(start, length), map);
            }
        }

        /// <summary>Reconstructs values as code value × block absmax.</summary>
        /// <param name="codes">Codes from <see cref="Quantize"/>.</param>
        /// <param name="blockAbsMax">Scales from <see cref="Quantize"/>.</param>
        /// <param name="values">Output; at least <c>codes.Length</c> long.</param>
        /// <param name="map">The code book used to quantise.</param>
        /// <param name="blockSize">The block size used to quantise.</param>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Dequantize(ReadOnlySpan<byte> codes, ReadOnlySpan<float> blockAbsMax, Span<float> values, DynamicQuantizationMap map, int blockSize = DefaultBlockSize)
        {
            ArgumentNullException.ThrowIfNull(map);
            int blocks = BlockCount(codes.Length, blockSize);
            CheckSizes(codes.Length, values.Length, blocks, blockAbsMax.Length);
            ref float table = ref MemoryMarshal.GetReference(map.Codes);
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize;
                int length = Math.Min(blockSize, codes.Length - start);
                DequantizeBlock(codes.Slice(start, length), values.Slice(start, length), blockAbsMax[b], ref table);
            }
        }

        private static unsafe void DequantizeBlock(ReadOnlySpan<byte> codes, Span<float> values, float scale, ref float table)
        {
            ref byte code = ref MemoryMarshal.GetReference(codes);
            ref float value = ref MemoryMarshal.GetReference(values);
            int i = 0;
            if (Avx2.IsSupported)
            {
                var factor = Vector256.Create(scale);
                fixed (float* t = &table)
                fixed (byte* c = &code)
                {
                    for (; i <= codes.Length - Vector256<int>.Count; i += Vector256<int>.Count)
                    {
                        var index = Avx2.ConvertToVector256Int32(c + i);
                        (Avx2.GatherVector256(t, index, sizeof(float)) * factor).StoreUnsafe(ref value, (nuint)i);
                    }
                }
            }

            for (; i < codes.Length; i++)
            {
                Unsafe.Add(ref value, i) = Unsafe.Add(ref table, Unsafe.Add(ref code, i)) * scale;
            }
        }

        private static float QuantizeBlock(ReadOnlySpan<float> block, Span<byte> codes, DynamicQuantizationMap map)
        {
            // |v| as an integer orders like |v| as a float (NaN above +∞), so one integer max finds both the absmax
            // and whether the block is finite.
            uint largest = LargestMagnitudeBits(block);
            if (largest >= 0x7F80_0000u)
            {
                return QuantizeNonFiniteBlock(block, codes, map);
            }

            if (largest == 0)
            {
                codes.Fill(map.ZeroCode);
                return 0f;
            }

            float absMax = BitConverter.UInt32BitsToSingle(largest);
            ref float value = ref MemoryMarshal.GetReference(block);
            ref byte code = ref MemoryMarshal.GetReference(codes);
            ref byte bucketCode = ref MemoryMarshal.GetArrayDataReference(map.BucketCodes);
            ref float thresholds = ref MemoryMarshal.GetArrayDataReference(map.Thresholds);
            int i = Avx2.IsSupported ? EncodeAvx2(ref value, ref code, block.Length, absMax, ref MemoryMarshal.GetArrayDataReference(map.BucketEntries)) : 0;
            for (; i < block.Length; i++)
            {
                Unsafe.Add(ref code, i) = DynamicQuantizationMap.EncodeFinite(Unsafe.Add(ref value, i) / absMax, ref bucketCode, ref thresholds);
            }

            return absMax;
        }

        /// <summary>
        /// A block holding NaN or ±∞ (rare: the slow path). The scale is the largest finite magnitude, so the other
        /// values keep their codes; NaN stores as 0 and ±∞ as ±scale (the map's end codes). With no finite non-zero
        /// value, ±∞ store as ±<see cref="float.MaxValue"/>.
        /// </summary>
        private static float QuantizeNonFiniteBlock(ReadOnlySpan<float> block, Span<byte> codes, DynamicQuantizationMap map)
        {
            float absMax = 0f;
            bool infinite = false;
            foreach (float v in block)
            {
                if (float.IsFinite(v)) absMax = Math.Max(absMax, Math.Abs(v));
                else infinite |= float.IsInfinity(v);
            }

            if (absMax == 0f && infinite) absMax = float.MaxValue;
            for (int i = 0; i < block.Length; i++)
            {
                codes[i] = absMax == 0f || float.IsNaN(block[i]) ? map.ZeroCode : map.Encode(Math.Clamp(block[i], -absMax, absMax) / absMax);
            }

            return absMax;
        }

        /// <summary>Largest |v| of the span as float bits (≥ 0x7F800000 when some value is not finite).</summary>
        internal static uint LargestMagnitudeBits(ReadOnlySpan<float> values)
        {
            ref int bits = ref Unsafe.As<float, int>(ref MemoryMarshal.GetReference(values));
            int i = 0;
            int largest = 0;
            if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<int>.Count)
            {
                var mask = Vector256.Create(0x7FFF_FFFF);
                var acc = Vector256<int>.Zero;
                for (; i <= values.Length - Vector256<int>.Count; i += Vector256<int>.Count)
                {
                    acc = Vector256.Max(acc, Vector256.LoadUnsafe(ref bits, (nuint)i) & mask);
                }

                largest = MaxLane(Vector128.Max(acc.GetLower(), acc.GetUpper()));
            }
            else if (Vector128.IsHardwareAccelerated && values.Length >= Vector128<int>.Count)
            {
                var mask = Vector128.Create(0x7FFF_FFFF);
                var acc = Vector128<int>.Zero;
                for (; i <= values.Length - Vector128<int>.Count; i += Vector128<int>.Count)
                {
                    acc = Vector128.Max(acc, Vector128.LoadUnsafe(ref bits, (nuint)i) & mask);
                }

                largest = MaxLane(acc);
            }

            for (; i < values.Length; i++)
            {
                largest = Math.Max(largest, Unsafe.Add(ref bits, i) & 0x7FFF_FFFF);
            }

            return (uint)largest;
        }

        private static int MaxLane(Vector128<int> v) => Math.Max(Math.Max(v[0], v[1]), Math.Max(v[2], v[3]));

        /// <summary>
        /// <see cref="DynamicQuantizationMap.EncodeFinite"/> of value / absMax, 32 values per step with one AVX2
        /// gather per 8 (the bucket entry: lowest code and threshold key). Returns how many leading values it encoded.
        /// </summary>
        private static unsafe int EncodeAvx2(ref float value, ref byte code, int length, float absMax, ref int bucketEntries)
        {
            var divisor = Vector256.Create(absMax);
            int i = 0;
            fixed (int* entries = &bucketEntries)
            {
                for (; i <= length - 4 * Vector256<int>.Count; i += 4 * Vector256<int>.Count)
                {
                    var c0 = Encode8(Vector256.LoadUnsafe(ref value, (nuint)i) / divisor, entries);
                    var c1 = Encode8(Vector256.LoadUnsafe(ref value, (nuint)(i + 8)) / divisor, entries);
                    var c2 = Encode8(Vector256.LoadUnsafe(ref value, (nuint)(i + 16)) / divisor, entries);
                    var c3 = Encode8(Vector256.LoadUnsafe(ref value, (nuint)(i + 24)) / divisor, entries);
                    Vector256.Narrow(Vector256.Narrow(c0, c1), Vector256.Narrow(c2, c3)).StoreUnsafe(ref code, (nuint)i);
                }
            }

            return i;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe Vector256<uint> Encode8(Vector256<float> x, int* bucketEntries)
        {
            var bits = x.AsInt32();
            var negative = bits >> 31;
            var k = Vector256.Min(
                Vector256.Max(((bits & Vector256.Create(0x7FFF_FFFF)) >>> 16) - Vector256.Create(DynamicQuantizationMap.BucketBase), Vector256<int>.Zero),
                Vector256.Create(DynamicQuantizationMap.BucketsPerSign - 1));
            var entry = Avx2.GatherVector256(bucketEntries, k + (negative & Vector256.Create(DynamicQuantizationMap.BucketsPerSign)), sizeof(int));
            var key = (bits ^ negative) & Vector256.Create(0xFFFF);
            var next = Vector256.GreaterThan(key, entry >> 8);
            return ((entry & Vector256.Create(0xFF)) - next).AsUInt32();
        }

        private static void CheckBlockSize(int blockSize)
        {
            if (blockSize <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "block size must be positive");
            }
        }

        private static void CheckSizes(int values, int other, int blocks, int scales)
        {
            if (other < values)
            {
                throw new ArgumentException($"output has {other} elements, input has {values}");
            }

            if (scales < blocks)
            {
                throw new ArgumentException($"block scale buffer has {scales} elements, {blocks} blocks need one each");
            }
        }
    }
}
