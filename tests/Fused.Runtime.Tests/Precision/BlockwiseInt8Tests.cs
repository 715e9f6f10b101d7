using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Precision
{
    public class BlockwiseInt8Tests
    {
        private readonly Random _rng = new Random(Environment.TickCount ^ 0x18);

        /// <summary>Re-derivation of bitsandbytes' create_dynamic_map, written from its Python.</summary>
        private static double[] ReferenceMap(bool signed)
        {
            var data = new List<double>();
            for (int i = 0; i < 7; i++)
            {
                int items = signed ? (int)Math.Pow(2, i) + 1 : (int)Math.Pow(2, i + 1) + 1;
                double step = (1.0 - 0.1) / (items - 1);
                double[] boundaries = Enumerable.Range(0, items).Select(k => 0.1 + step * k).ToArray();
                for (int k = 0; k < items - 1; k++)
                {
                    double mean = (boundaries[k] + boundaries[k + 1]) / 2.0;
                    data.Add(Math.Pow(10, -6 + i) * mean);
                    if (signed)
                    {
                        data.Add(-Math.Pow(10, -6 + i) * mean);
                    }
                }
            }

            data.Add(0);
            data.Add(1.0);
            data.Sort();
            return data.ToArray();
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Map_MatchesReferenceDerivation(bool signed)
        {
            var map = signed ? DynamicQuantizationMap.Signed : DynamicQuantizationMap.Unsigned;
            double[] reference = ReferenceMap(signed);
            Assert.Equal(256, reference.Length);
            Assert.Equal(256, map.Codes.Length);
            for (int i = 0; i < 256; i++)
            {
                Assert.True(Math.Abs(map.Codes[i] - reference[i]) <= Math.Abs(reference[i]) * 1.2e-7,
                    $"code {i}: {map.Codes[i]} vs {reference[i]}");
                if (i > 0)
                {
                    Assert.True(map.Codes[i] > map.Codes[i - 1]);
                }
            }

            Assert.Equal(0f, map.Decode(map.ZeroCode));
            Assert.Equal(1f, map.Codes[255]);
            Assert.Equal(signed ? -0.99296875f : 0f, map.Codes[0]);
            Assert.Equal(signed ? 5.5e-7f : 3.25e-7f, map.Codes[map.ZeroCode + 1], 12);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Encode_PicksTheNearestCode_ByExhaustiveSearch(bool signed)
        {
            var map = signed ? DynamicQuantizationMap.Signed : DynamicQuantizationMap.Unsigned;
            for (int t = 0; t < 20_000; t++)
            {
                float x = (float)((signed ? _rng.NextDouble() * 2 - 1 : _rng.NextDouble()) * Math.Pow(10, -_rng.Next(0, 7)));
                byte code = map.Encode(x);
                double best = Enumerable.Range(0, 256).Min(c => Math.Abs((double)map.Codes[c] - x));
                Assert.Equal(best, Math.Abs((double)map.Codes[code] - x));
            }
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Encode_AgreesWithBinarySearch_AtEveryMidpointAndBucketEdge(bool signed)
        {
            // The table encoder's hard cases: values at, just below and just above every midpoint between codes,
            // and the first and last float of every table bucket, of both signs.
            var map = signed ? DynamicQuantizationMap.Signed : DynamicQuantizationMap.Unsigned;
            var probes = new List<float> { 0f, -0f, 1f, -1f, 2f, -2f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon };
            for (int i = 0; i < 255; i++)
            {
                float mid = (float)(((double)map.Codes[i] + map.Codes[i + 1]) / 2);
                for (float x = MathF.BitDecrement(MathF.BitDecrement(mid)); x <= MathF.BitIncrement(MathF.BitIncrement(mid)); x = MathF.BitIncrement(x))
                {
                    probes.Add(x);
                }
            }

            for (int key = DynamicQuantizationMap.BucketBase; key <= 127 << DynamicQuantizationMap.MantissaBits; key++)
            {
                float first = BitConverter.UInt32BitsToSingle((uint)key << 16);
                probes.Add(first);
                probes.Add(MathF.BitDecrement(first));
                probes.Add(-first);
                probes.Add(-MathF.BitDecrement(first));
            }

            foreach (float x in probes)
            {
                byte code = map.Encode(x);
                Assert.Equal(map.EncodeBySearch(x), code);
                if (float.IsInfinity(x))
                {
                    Assert.Equal(x > 0 ? 255 : 0, code);
                    continue;
                }

                // Nearest by exhaustive search in float64; an exact tie goes to the lower code.
                double best = Enumerable.Range(0, 256).Min(c => Math.Abs((double)map.Codes[c] - x));
                Assert.Equal(best, Math.Abs((double)map.Codes[code] - x));
                Assert.True(code == 0 || Math.Abs((double)map.Codes[code - 1] - x) > best, $"{x:R}: code {code} but {code - 1} is as near");
            }
        }

        [Theory]
        [InlineData(true, 256, 256)]
        [InlineData(true, 4096, 256)]
        [InlineData(false, 4096, 256)]
        [InlineData(true, 1000, 100)]   // blocks that are not multiples of the 32-value vector step
        [InlineData(false, 77, 256)]
        public void Vectorised_quantise_and_dequantise_equal_the_per_value_definition(bool signed, int length, int blockSize)
        {
            var map = signed ? DynamicQuantizationMap.Signed : DynamicQuantizationMap.Unsigned;
            float[] values = RandomValues(length, nonNegative: !signed);
            int blocks = BlockwiseInt8.BlockCount(length, blockSize);
            byte[] codes = new byte[length];
            float[] scales = new float[blocks];
            BlockwiseInt8.Quantize(values, codes, scales, map, blockSize);
            float[] restored = new float[length];
            BlockwiseInt8.Dequantize(codes, scales, restored, map, blockSize);
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize, end = Math.Min(start + blockSize, length);
                float absMax = 0;
                for (int i = start; i < end; i++)
                {
                    absMax = MathF.Max(absMax, MathF.Abs(values[i]));
                }

                Assert.Equal(absMax, scales[b]);
                for (int i = start; i < end; i++)
                {
                    Assert.Equal(map.EncodeBySearch(values[i] / absMax), codes[i]);
                    Assert.Equal(BitConverter.SingleToInt32Bits(map.Codes[codes[i]] * absMax), BitConverter.SingleToInt32Bits(restored[i]));
                }
            }
        }

        private float[] RandomValues(int length, bool nonNegative)
        {
            var values = new float[length];
            for (int i = 0; i < length; i++)
            {
                // Normal values times a log-uniform magnitude: several decades inside one block.
                double u1 = 1 - _rng.NextDouble(), u2 = _rng.NextDouble();
                double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                double v = normal * Math.Pow(10, _rng.NextDouble() * 6 - 4);
                values[i] = (float)(nonNegative ? v * v : v);
            }

            return values;
        }

        [Theory]
        [InlineData(true, 1000, 256)]   // tail block of 232
        [InlineData(true, 257, 256)]    // tail block of 1
        [InlineData(true, 255, 256)]    // single short block
        [InlineData(true, 4099, 64)]
        [InlineData(false, 1000, 256)]
        [InlineData(false, 777, 128)]
        [InlineData(false, 1, 256)]
        public void RoundTrip_ErrorIsTheNearestCodeError_PerBlock_AgainstFloat64Reference(bool signed, int length, int blockSize)
        {
            var map = signed ? DynamicQuantizationMap.Signed : DynamicQuantizationMap.Unsigned;
            double[] table = ReferenceMap(signed);
            float[] values = RandomValues(length, nonNegative: !signed);
            int blocks = BlockwiseInt8.BlockCount(length, blockSize);
            Assert.Equal((length + blockSize - 1) / blockSize, blocks);
            byte[] codes = new byte[length];
            float[] scales = new float[blocks];
            BlockwiseInt8.Quantize(values, codes, scales, map, blockSize);
            float[] restored = new float[length];
            BlockwiseInt8.Dequantize(codes, scales, restored, map, blockSize);

            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize, end = Math.Min(start + blockSize, length);
                double absMax = 0;
                for (int i = start; i < end; i++)
                {
                    absMax = Math.Max(absMax, Math.Abs((double)values[i]));
                }

                Assert.Equal((float)absMax, scales[b]);
                for (int i = start; i < end; i++)
                {
                    // Best achievable in float64: nearest table entry times the block scale.
                    double bestError = table.Min(c => Math.Abs(c * absMax - values[i]));
                    double error = Math.Abs((double)restored[i] - values[i]);
                    // Slack: float rounding of x/absmax (≈1 ulp of the normalised value) and of code×scale.
                    double slack = 4e-7 * absMax;
                    Assert.True(error <= bestError + slack,
                        $"block {b} element {i}: {values[i]} -> {restored[i]}, error {error}, best {bestError}");
                }
            }
        }

        [Fact]
        public void ZeroAndConstantBlocks()
        {
            int blockSize = 256;
            float[] values = new float[3 * blockSize + 5];
            // Block 0 zeros, block 1 positive constant, block 2 negative constant, tail zeros.
            for (int i = blockSize; i < 2 * blockSize; i++)
            {
                values[i] = 3.25f;
            }

            for (int i = 2 * blockSize; i < 3 * blockSize; i++)
            {
                values[i] = -0.5f;
            }

            var map = DynamicQuantizationMap.Signed;
            byte[] codes = new byte[values.Length];
            float[] scales = new float[4];
            BlockwiseInt8.Quantize(values, codes, scales, map, blockSize);
            float[] restored = new float[values.Length];
            BlockwiseInt8.Dequantize(codes, scales, restored, map, blockSize);

            Assert.Equal(new[] { 0f, 3.25f, 0.5f, 0f }, scales);
            Assert.All(restored.Take(blockSize), v => Assert.Equal(0f, v));
            Assert.All(restored.Skip(blockSize).Take(blockSize), v => Assert.Equal(3.25f, v)); // +1 is a code
            // −1 is not a code of the signed map: nearest is −0.99296875.
            Assert.All(restored.Skip(2 * blockSize).Take(blockSize), v => Assert.Equal(-0.99296875f * 0.5f, v));
            Assert.All(restored.Skip(3 * blockSize), v => Assert.Equal(0f, v));
        }

        [Theory]
        [InlineData(float.NaN)]
        [InlineData(float.PositiveInfinity)]
        [InlineData(float.NegativeInfinity)]
        public void NonFiniteValue_AffectsOnlyItsOwnElement(float bad)
        {
            float[] values = RandomValues(600, nonNegative: false);
            float[] clean = (float[])values.Clone();
            values[300] = bad;
            clean[300] = 0f;
            byte[] codes = new byte[600], cleanCodes = new byte[600];
            float[] scales = new float[3], cleanScales = new float[3];
            BlockwiseInt8.Quantize(values, codes, scales, DynamicQuantizationMap.Signed);
            BlockwiseInt8.Quantize(clean, cleanCodes, cleanScales, DynamicQuantizationMap.Signed);
            float[] restored = new float[600];
            BlockwiseInt8.Dequantize(codes, scales, restored, DynamicQuantizationMap.Signed);
            Assert.All(restored, v => Assert.True(float.IsFinite(v)));
            // Every other element codes as if the bad one were 0 (the block's scale is its largest finite magnitude).
            Assert.Equal(cleanScales, scales);
            for (int i = 0; i < 600; i++)
                if (i != 300) Assert.Equal(cleanCodes[i], codes[i]);
            float expected = float.IsNaN(bad) ? 0f : Math.Sign(bad) * scales[1];
            Assert.Equal(expected, restored[300], 0.01f * scales[1]);
        }

        [Fact]
        public void A_block_of_only_infinities_and_zeros_stays_finite()
        {
            float[] values = new float[256];
            values[3] = float.PositiveInfinity;
            values[9] = float.NaN;
            byte[] codes = new byte[256];
            float[] scales = new float[1];
            BlockwiseInt8.Quantize(values, codes, scales, DynamicQuantizationMap.Signed);
            float[] restored = new float[256];
            BlockwiseInt8.Dequantize(codes, scales, restored, DynamicQuantizationMap.Signed);
            Assert.Equal(float.MaxValue, restored[3]);
            Assert.All(restored.Where((_, i) => i != 3), v => Assert.Equal(0f, v));
        }

        [Fact]
        public void UnsignedMap_SendsNegativesToZero()
        {
            float[] values = { 4f, 1f, -2f, 0.5f };
            byte[] codes = new byte[4];
            float[] scales = new float[1];
            BlockwiseInt8.Quantize(values, codes, scales, DynamicQuantizationMap.Unsigned);
            float[] restored = new float[4];
            BlockwiseInt8.Dequantize(codes, scales, restored, DynamicQuantizationMap.Unsigned);
            Assert.Equal(4f, scales[0]);
            Assert.Equal(0f, restored[2]);
            Assert.Equal(4f, restored[0]);
        }

        [Fact]
        public void InvalidArguments_AreRejected()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => BlockwiseInt8.BlockCount(10, 0));
            Assert.Throws<ArgumentException>(() => BlockwiseInt8.Quantize(new float[10], new byte[9], new float[1], DynamicQuantizationMap.Signed));
            Assert.Throws<ArgumentException>(() => BlockwiseInt8.Quantize(new float[300], new byte[300], new float[1], DynamicQuantizationMap.Signed));
            Assert.Throws<ArgumentException>(() => BlockwiseInt8.Dequantize(new byte[300], new float[2], new float[299], DynamicQuantizationMap.Signed));
        }
    }
}
