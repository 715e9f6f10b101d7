using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>bfloat16 and 8-bit state: reproducibility, unbiased rounding, error bounds, multi-pass rules (convergence: <see cref="ConvergenceParityTests"/>).</summary>
    public class EnginePrecisionTests
    {
        [Theory]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Low_precision_runs_are_bit_identical_at_1_2_and_4_threads(StatePrecision precision)
        {
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 4 })
            {
                var model = new EngineTestModel().Add("big", 300, 250).Add("odd", 1037).Add("lamb", 90, 700);
                using var opt = model.Builder()
                    .Route("adam", p => p.Name != "lamb", AdamW.Rule, g => g.State(precision))
                    .Route("lamb", p => p.Name == "lamb", Lamb.Rule, g => g.State(precision))
                    .Seed(99).Threads(threads).Build();
                for (int s = 1; s <= 4; s++) { model.SetGradients(s); opt.Step(); }
                var snapshot = EngineTestModel.Snapshot(model, opt);
                if (first == null) first = snapshot;
                else EngineTests.AssertBits(first, snapshot, $"{precision} at {threads} threads");
            }
        }

        [Theory]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Low_precision_runs_are_bit_identical_at_any_scratch_chunk_size(StatePrecision precision)
        {
            float[]? first = null;
            foreach (var (chunk, threads) in new[] { (1024, 1), (256, 2), (512, 1), (4096, 2), (8192, 3) })
            {
                var model = new EngineTestModel().Add("big", 300, 250).Add("odd", 1037).Add("lamb", 90, 700).Add("tiny", 3);
                using var opt = model.Builder()
                    .Route("adam", p => p.Name != "lamb", AdamW.Rule, g => g.State(precision))
                    .Route("lamb", p => p.Name == "lamb", Lamb.Rule, g => g.State(precision))
                    .ScratchElements(chunk).Seed(5).Threads(threads).Build();
                for (int s = 1; s <= 3; s++) { model.SetGradients(s); opt.Step(); }
                var snapshot = EngineTestModel.Snapshot(model, opt);
                if (first == null) first = snapshot;
                else EngineTests.AssertBits(first, snapshot, $"{precision} with {chunk}-element chunks at {threads} threads");
            }
        }

        [Fact]
        public void Bf16_stochastic_rounding_keeps_small_increments_that_round_to_nearest_would_lose()
        {
            // AdaGrad adds g² = 1e-3 per step. Past 0.5 a bf16 half-ulp (≥ 2^-9 ≈ 0.00195) exceeds the increment, so
            // round-to-nearest would stall near 0.5; stochastic rounding stays unbiased and tracks 2.0 after 2000 steps.
            const int n = 4096, steps = 2000;
            var param = new float[n];
            var grad = Enumerable.Repeat(MathF.Sqrt(1e-3f), n).ToArray();
            using var opt = new OptimizerBuilder().AddParameter("w", new[] { n }, param, grad)
                .Route(p => true, AdaGrad.Rule, g => g.Set("lr", 0f).State(StatePrecision.BFloat16))
                .SkipNonFiniteSteps(false).Seed(7).Threads(1).Build();
            for (int s = 0; s < steps; s++) opt.Step();
            var state = new float[n];
            opt.ReadState("w", "sumSquares", state);
            double expected = steps * (double)(grad[0] * grad[0]);
            double mean = state.Average(x => (double)x);
            Assert.InRange(mean, expected * 0.99, expected * 1.01);
            Assert.True(state.Distinct().Count() > 1, "stochastic rounding should spread values over neighbouring bf16 codes");
        }

        [Fact]
        public void Bf16_state_error_is_unbiased_against_fp32()
        {
            var fp32 = new EngineTestModel().Add("w", 256, 256);
            var bf16 = new EngineTestModel().Add("w", 256, 256);
            using var a = fp32.Builder().Route(p => true, AdamW.Rule).Threads(2).Build();
            using var b = bf16.Builder().Route(p => true, AdamW.Rule, g => g.State(StatePrecision.BFloat16)).Threads(2).Build();
            for (int s = 1; s <= 30; s++)
            {
                fp32.SetGradients(s);
                bf16.SetGradients(s);
                a.Step();
                b.Step();
            }
            var m32 = new float[65536];
            var m16 = new float[65536];
            a.ReadState("w", "m", m32);
            b.ReadState("w", "m", m16);
            double meanError = 0, meanAbsError = 0, meanAbs = 0;
            for (int i = 0; i < m32.Length; i++)
            {
                double e = m16[i] - (double)m32[i];
                meanError += e;
                meanAbsError += Math.Abs(e);
                meanAbs += Math.Abs(m32[i]);
            }
            meanError /= m32.Length;
            meanAbsError /= m32.Length;
            meanAbs /= m32.Length;
            Assert.True(meanAbsError > 0, "bf16 state should differ from fp32");
            Assert.True(meanAbsError < 0.01 * meanAbs, $"mean |error| {meanAbsError} vs mean |m| {meanAbs}");
            Assert.True(Math.Abs(meanError) < 0.05 * meanAbsError, $"mean error {meanError} vs mean |error| {meanAbsError}: biased");
        }

        [Fact]
        public void Int8_state_stays_within_the_blockwise_quantisation_bound()
        {
            var fp32 = new EngineTestModel().Add("w", 64, 300);
            var int8 = new EngineTestModel().Add("w", 64, 300);
            using var a = fp32.Builder().Route(p => true, AdamW.Rule).Threads(1).Build();
            using var b = int8.Builder().Route(p => true, AdamW.Rule, g => g.State(StatePrecision.Int8Blockwise)).Threads(2).Build();
            fp32.SetGradients(1);
            int8.SetGradients(1);
            a.Step();
            b.Step();
            int n = 64 * 300;
            foreach (var (state, halfGap) in new[] { ("m", 0.0075), ("v", 0.0038) })
            {
                var exact = new float[n];
                var quantised = new float[n];
                a.ReadState("w", state, exact);
                b.ReadState("w", state, quantised);
                for (int block = 0; block * 256 < n; block++)
                {
                    int from = block * 256, to = Math.Min(n, from + 256);
                    double absMax = 0;
                    for (int i = from; i < to; i++) absMax = Math.Max(absMax, Math.Abs(exact[i]));
                    for (int i = from; i < to; i++)
                        Assert.True(Math.Abs(quantised[i] - exact[i]) <= halfGap * absMax + 1e-12,
                            $"{state}[{i}]: {quantised[i]} vs {exact[i]}, block absmax {absMax}");
                }
            }
            // The first update does not depend on the state's rounding (it is computed before narrowing).
            for (int i = 0; i < n; i++) Assert.Equal(fp32.Tensors[0].Param[i], int8.Tensors[0].Param[i]);
        }

        [Theory]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Multi_pass_rules_with_reductions_and_scalar_state_run_on_low_precision_state(StatePrecision precision)
        {
            var exact = new EngineTestModel().Add("lamb", 80, 500).Add("ball", 70, 70);
            var low = new EngineTestModel().Add("lamb", 80, 500).Add("ball", 70, 70);
            FusedOptimizer Build(EngineTestModel m, StatePrecision p) => m.Builder()
                .Route("lamb", x => x.Name == "lamb", Lamb.Rule, g => g.State(p))
                .Route("ball", x => x.Name == "ball", HyperBallAdamW.Rule, g => g.State(p)).Threads(2).Build();
            using var a = Build(exact, StatePrecision.Float32);
            using var b = Build(low, precision);
            for (int s = 1; s <= 10; s++) { exact.SetGradients(s); low.SetGradients(s); a.Step(); b.Step(); }
            for (int t = 0; t < 2; t++)
            {
                var x = exact.Tensors[t].Param;
                var y = low.Tensors[t].Param;
                double diff = 0, norm = 0, moved = 0;
                var initial = new EngineTestModel().Add(exact.Tensors[0].Name, exact.Tensors[0].Shape).Add(exact.Tensors[1].Name, exact.Tensors[1].Shape).Tensors[t].Param;
                for (int i = 0; i < x.Length; i++) { diff += Math.Pow(x[i] - y[i], 2); norm += x[i] * (double)x[i]; moved += Math.Pow(x[i] - initial[i], 2); }
                Assert.True(moved > 0);
                Assert.True(Math.Sqrt(diff) < 0.1 * Math.Sqrt(moved), $"{exact.Tensors[t].Name}: {precision} drifted {Math.Sqrt(diff)} vs movement {Math.Sqrt(moved)}");
            }
            var radius = new float[1];
            var radiusLow = new float[1];
            a.ReadState("ball", "radius", radius);
            b.ReadState("ball", "radius", radiusLow);
            Assert.Equal(radius[0], radiusLow[0]); // scalar state is float32 and set from the step-1 parameters
            double normLow = Math.Sqrt(low.Tensors[1].Param.Sum(v => (double)v * v));
            Assert.Equal(radius[0], normLow, 1e-3 * radius[0]);
        }
    }
}
