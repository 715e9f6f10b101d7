using System;
using System.Collections.Generic;

namespace Fused.Runtime.Precision
{
    /// <summary>
    /// A 256-entry non-linear code book on [−1, 1] (signed) or [0, 1] (unsigned) for 8-bit dynamic quantisation:
    /// dense near zero, sparse near ±1, so values spanning several orders of magnitude within a block keep
    /// relative precision.
    /// </summary>
    /// <remarks>
    /// The tables are bitsandbytes' <c>create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)</c>
    /// ("dynamic tree" quantisation, Dettmers 2016/2022): for decades i = 0..6 the midpoints of
    /// linspace(0.1, 1, 2^i + 1) (signed) or linspace(0.1, 1, 2^(i+1) + 1) (unsigned) scaled by 10^(i−6),
    /// mirrored for the signed map, plus 0 and 1. The signed map therefore contains +1 but not −1 (its most
    /// negative code is −0.99297). Values are computed in double and stored as float, so they can differ from
    /// bitsandbytes' float32 table in the last bit.
    /// </remarks>
    public sealed class DynamicQuantizationMap
    {
        private readonly float[] _codes;
        private readonly double[] _midpoints;
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
        /// Nearest code to <paramref name="normalized"/> (binary search over the midpoints between codes; an exact
        /// midpoint goes to the lower code). Values outside the map's range go to its ends; NaN goes to the zero code.
        /// </summary>
        public byte Encode(float normalized)
        {
            if (float.IsNaN(normalized))
            {
                return ZeroCode;
            }

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
    /// <para>NaN and ±Inf: any non-finite value poisons its block: the scale is stored as NaN and every value of
    /// that block dequantises to NaN, so a diverged state stays visible instead of being silently clipped.
    /// Other blocks are unaffected.</para>
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
        public static void Dequantize(ReadOnlySpan<byte> codes, ReadOnlySpan<float> blockAbsMax, Span<float> values, DynamicQuantizationMap map, int blockSize = DefaultBlockSize)
        {
            ArgumentNullException.ThrowIfNull(map);
            int blocks = BlockCount(codes.Length, blockSize);
            CheckSizes(codes.Length, values.Length, blocks, blockAbsMax.Length);
            ReadOnlySpan<float> table = map.Codes;
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize;
                int end = Math.Min(start + blockSize, codes.Length);
                float scale = blockAbsMax[b];
                for (int i = start; i < end; i++)
                {
                    values[i] = table[codes[i]] * scale;
                }
            }
        }

        private static float QuantizeBlock(ReadOnlySpan<float> block, Span<byte> codes, DynamicQuantizationMap map)
        {
            float absMax = 0;
            bool finite = true;
            foreach (float v in block)
            {
                finite &= float.IsFinite(v);
                absMax = MathF.Max(absMax, MathF.Abs(v));
            }

            if (!finite || absMax == 0)
            {
                codes.Fill(map.ZeroCode);
                return finite ? 0f : float.NaN;
            }

            for (int i = 0; i < block.Length; i++)
            {
                codes[i] = map.Encode(block[i] / absMax);
            }

            return absMax;
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
