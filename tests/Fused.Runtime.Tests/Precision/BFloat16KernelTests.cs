using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Fused.Runtime.Tests.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Precision
{
    /// <summary>
    /// bfloat16 element state converted inside the generated kernels: the same bits as the scratch path (widen, compute,
    /// narrow), and against references written here from AdamW's formulas in float64 and from the documented
    /// stochastic-rounding contract (lowbias32 counter hash, SplitMix64 keys), on odd lengths over several steps.
    /// </summary>
    [Collection(nameof(KernelDispatchSettingsCollection))]
    public class BFloat16KernelTests
    {
        private static readonly int[][] Shapes = { new[] { 1 }, new[] { 3 }, new[] { 17 }, new[] { 1037 }, new[] { 33, 65 }, new[] { 20011 }, new[] { 300, 250 } };

        public static IEnumerable<object[]> Rules() => new[]
        {
            new object[] { "AdamW" }, new object[] { "Lion" }, new object[] { "SgdMomentum" }, new object[] { "Lamb" },
            new object[] { "CautiousAdamW" }, new object[] { "HyperBallAdamW" }, new object[] { "Adafactor" },
        };

        private static FusedRule RuleNamed(string name) => name switch
        {
            "AdamW" => AdamW.Rule, "Lion" => Lion.Rule, "SgdMomentum" => SgdMomentum.Rule, "Lamb" => Lamb.Rule,
            "CautiousAdamW" => CautiousAdamW.Rule, "HyperBallAdamW" => HyperBallAdamW.Rule, "Adafactor" => Adafactor.Rule,
            _ => throw new ArgumentException(name),
        };

        private static EngineTestModel Model()
        {
            var model = new EngineTestModel();
            for (int i = 0; i < Shapes.Length; i++) model.Add("t" + i, Shapes[i]);
            return model;
        }

        [Theory]
        [MemberData(nameof(Rules))]
        public void In_kernel_bf16_state_gives_the_bits_of_the_scratch_path_at_every_width_and_thread_count(string rule)
        {
            bool savedInKernel = KernelDispatch.BFloat16InKernel;
            int savedBits = KernelDispatch.MaxVectorBits;
            try
            {
                float[] Run(bool inKernel, int bits, int threads)
                {
                    KernelDispatch.BFloat16InKernel = inKernel;
                    KernelDispatch.MaxVectorBits = bits;
                    var model = Model();
                    using var opt = model.Builder().Route(p => true, RuleNamed(rule), g => g.State(StatePrecision.BFloat16))
                        .ScratchElements(512).Seed(31).Threads(threads).Build();
                    for (int s = 1; s <= 4; s++) { model.SetGradients(s); opt.Step(); }
                    return EngineTestModel.Snapshot(model, opt);
                }
                var scratch = Run(inKernel: false, bits: 512, threads: 1);
                foreach (var (bits, threads) in new[] { (512, 2), (512, 4), (256, 1), (256, 2), (128, 2), (0, 1) })
                    EngineTests.AssertBits(scratch, Run(inKernel: true, bits, threads), $"{rule} bf16 in kernel, {bits}-bit vectors, {threads} thread(s)");
            }
            finally
            {
                KernelDispatch.BFloat16InKernel = savedInKernel;
                KernelDispatch.MaxVectorBits = savedBits;
            }
        }

        [Fact]
        public void Bf16_adamw_matches_float64_formulas_and_rounds_with_the_documented_stream()
        {
            const float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weightDecay = 0.01f;
            const ulong seed = 77;
            var model = Model();
            using var opt = model.Builder().Route(p => true, AdamW.Rule, g => g.State(StatePrecision.BFloat16))
                .SkipNonFiniteSteps(false).Seed(seed).Threads(2).Build();
            double errorInGaps = 0, roundedUp = 0, fractions = 0;
            long counted = 0;
            for (int step = 1; step <= 5; step++)
            {
                model.SetGradients(step);
                var before = model.Tensors.Select(t => (P: (float[])t.Param.Clone(), M: State(opt, t.Name, "m", t.Param.Length), V: State(opt, t.Name, "v", t.Param.Length))).ToArray();
                opt.Step();
                for (int ti = 0; ti < model.Tensors.Count; ti++)
                {
                    var (name, _, param, grad) = model.Tensors[ti];
                    var m = State(opt, name, "m", param.Length);
                    var v = State(opt, name, "v", param.Length);
                    var (k0m, k1m) = Keys(seed, step, ti * 64L + 2); // stream of a state: parameter index × 64 + the rule's buffer index (m is buffer 2)
                    var (k0v, k1v) = Keys(seed, step, ti * 64L + 3);
                    for (int i = 0; i < param.Length; i++)
                    {
                        double g = grad[i], m0 = before[ti].M[i], v0 = before[ti].V[i], p0 = before[ti].P[i];
                        // float64 from the formulas
                        double m1 = beta1 * (double)m0 + (1 - (double)beta1) * g;
                        double v1 = beta2 * (double)v0 + (1 - (double)beta2) * g * g;
                        double mHat = m1 / (1 - Math.Pow(beta1, step)), vHat = v1 / (1 - Math.Pow(beta2, step));
                        double p1 = p0 - lr * (mHat / (Math.Sqrt(vHat) + eps) + weightDecay * p0);
                        double tolerance = 4 * Math.Abs(p0 - p1) * 1e-5 + 2 * Ulp(param[i]);
                        Assert.True(Math.Abs(param[i] - p1) <= tolerance, $"{name}[{i}] step {step}: param {param[i]:R}, float64 {p1:R}");

                        // the float32 the kernel narrows (no fused multiply-add), then the rounding bits of the contract
                        float m32 = beta1 * (float)m0 + (float)(1 - (double)beta1) * (float)g;
                        float v32 = beta2 * (float)v0 + (float)(1 - (double)beta2) * (float)g * (float)g;
                        Assert.Equal(StochasticBf16(m32, Draw16(k0m, k1m, i)), Bf16Bits(m[i]));
                        Assert.Equal(StochasticBf16(v32, Draw16(k0v, k1v, i)), Bf16Bits(v[i]));

                        // unbiased: the error in units of the bf16 gap averages to zero
                        double low = BitConverter.Int32BitsToSingle((int)(BitConverter.SingleToUInt32Bits(m32) & 0xFFFF0000u));
                        double gap = Math.Abs(BitConverter.Int32BitsToSingle((int)((BitConverter.SingleToUInt32Bits(m32) & 0xFFFF0000u) + 0x10000u)) - low);
                        if (gap == 0 || !double.IsFinite(gap) || m32 == low) continue;
                        errorInGaps += (m[i] - m1) / gap * Math.Sign(m1);
                        fractions += Math.Abs(m32 - low) / gap;
                        if (Math.Abs(m[i]) > Math.Abs(low)) roundedUp++;
                        counted++;
                    }
                }
            }
            Assert.True(counted > 100_000, $"{counted} rounded values");
            Assert.True(Math.Abs(errorInGaps / counted) < 0.01, $"mean rounding error {errorInGaps / counted} gaps over {counted} values: biased");
            Assert.True(Math.Abs(roundedUp - fractions) < 0.01 * counted, $"rounded away from zero {roundedUp} times, expected {fractions}");
        }

        [Fact]
        public void The_generated_byte_count_with_bf16_state_is_two_bytes_less_per_state_access()
        {
            // AdamW: param read+write, grad read, m and v read+write: 28 B in float32, 20 B with bf16 m and v.
            Assert.Equal(28, AdamW.Layout.BytesMovedPerParameter);
            Assert.Equal(20, AdamW.Layout.BytesMovedPerParameterBFloat16State);
            Assert.Equal(16, Lion.Layout.BytesMovedPerParameterBFloat16State); // p r/w, g, m r/w: 20 → 16
            Assert.Equal(Sgd.Layout.BytesMovedPerParameter, Sgd.Layout.BytesMovedPerParameterBFloat16State); // no element state
            // The runtime's count read off the schedule is the generated constant (the benchmarks report against it).
            foreach (var (rule, generated) in new[] { (AdamW.Rule, AdamW.Layout.BytesMovedPerParameterBFloat16State), (Lion.Rule, Lion.Layout.BytesMovedPerParameterBFloat16State),
                (CautiousAdamW.Rule, CautiousAdamW.Layout.BytesMovedPerParameterBFloat16State), (Lamb.Rule, Lamb.Layout.BytesMovedPerParameterBFloat16State),
                (Adafactor.Rule, Adafactor.Layout.BytesMovedPerParameterBFloat16State), (Sgd.Rule, Sgd.Layout.BytesMovedPerParameterBFloat16State) })
                Assert.Equal(generated, rule.Layout.BytesMovedPerParameterBFloat16State);
        }

        private static float[] State(FusedOptimizer opt, string tensor, string state, int n)
        {
            var values = new float[n];
            opt.ReadState(tensor, state, values);
            return values;
        }

        private static ushort Bf16Bits(float widened) => (ushort)(BitConverter.SingleToUInt32Bits(widened) >> 16);

        private static double Ulp(float x) => Math.Abs(MathF.BitIncrement(Math.Abs(x)) - Math.Abs(x));

        /// <summary>Round away from zero when the 16 random bits are below the discarded fraction (finite inputs).</summary>
        private static ushort StochasticBf16(float value, uint random16) => (ushort)((BitConverter.SingleToUInt32Bits(value) + random16) >> 16);

        /// <summary>The stream's round keys: SplitMix64(SplitMix64(SplitMix64(seed) ^ step) ^ stream), low and high halves.</summary>
        private static (uint, uint) Keys(ulong seed, long step, long stream)
        {
            ulong k = SplitMix64(SplitMix64(SplitMix64(seed) ^ (ulong)step) ^ (ulong)stream);
            return ((uint)k, (uint)(k >> 32));
        }

        /// <summary>16 bits for element e: half (e &amp; 1) of lowbias32(lowbias32(lo(e/2) ^ k0) ^ hi(e/2) ^ k1).</summary>
        private static uint Draw16(uint k0, uint k1, long element)
        {
            ulong pair = (ulong)element >> 1;
            uint draw = LowBias32(LowBias32((uint)pair ^ k0) ^ (uint)(pair >> 32) ^ k1);
            return (element & 1) == 0 ? draw & 0xFFFF : draw >> 16;
        }

        private static uint LowBias32(uint x)
        {
            x ^= x >> 16; x *= 0x7FEB352Du; x ^= x >> 15; x *= 0x846CA68Bu; x ^= x >> 16;
            return x;
        }

        private static ulong SplitMix64(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
