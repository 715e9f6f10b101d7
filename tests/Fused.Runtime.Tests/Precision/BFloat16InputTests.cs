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
    /// bfloat16 gradients as the engine's input and the bfloat16 copy of the parameters the same pass writes: against float64
    /// references written here from the rules' formulas, fed the gradients widened here; the copy against round-to-nearest-even
    /// computed here; on fresh random inputs, odd lengths and tails, at every SIMD width and thread count the bf16 state tests use.
    /// </summary>
    [Collection(nameof(KernelDispatchSettingsCollection))]
    public class BFloat16InputTests
    {
        private static readonly int[][] Shapes = { new[] { 1 }, new[] { 3 }, new[] { 17 }, new[] { 1037 }, new[] { 33, 65 }, new[] { 20011 } };
        private static readonly (int Bits, int Threads)[] Machines = { (512, 1), (512, 2), (512, 4), (256, 1), (256, 2), (128, 2), (0, 1) };

        private sealed class Tensor
        {
            public string Name = "";
            public int[] Shape = Array.Empty<int>();
            public float[] Param = Array.Empty<float>();
            public ushort[] Grad = Array.Empty<ushort>();
            public ushort[] Copy = Array.Empty<ushort>();
        }

        private static List<Tensor> Model(Random random)
        {
            var tensors = new List<Tensor>();
            for (int t = 0; t < Shapes.Length; t++)
            {
                int n = Shapes[t].Aggregate(1, (a, b) => a * b);
                var p = new float[n];
                for (int i = 0; i < n; i++) p[i] = (float)(random.NextDouble() * 2 - 1) * (i % 7 == 0 ? 1e-3f : 1f);
                tensors.Add(new Tensor { Name = "t" + t, Shape = Shapes[t], Param = p, Grad = new ushort[n], Copy = new ushort[n] });
            }
            return tensors;
        }

        /// <summary>Fresh random bf16 gradients over several binades (some exactly zero).</summary>
        private static void RandomGradients(List<Tensor> tensors, Random random)
        {
            foreach (var t in tensors)
                for (int i = 0; i < t.Grad.Length; i++)
                    t.Grad[i] = i % 97 == 5 ? (ushort)0 : NearestEven((float)((random.NextDouble() * 2 - 1) * Math.Pow(10, -random.Next(1, 5))));
        }

        private static OptimizerBuilder Builder(List<Tensor> tensors, bool copies)
        {
            var b = new OptimizerBuilder();
            foreach (var t in tensors)
            {
                b.AddParameter(t.Name, t.Shape, t.Param, t.Grad);
                if (copies) b.WriteBFloat16Copy(t.Name, t.Copy);
            }
            return b;
        }

        private static FusedRule RuleNamed(string name) => name switch
        {
            "AdamW" => AdamW.Rule, "Lion" => Lion.Rule, "SgdMomentum" => SgdMomentum.Rule, _ => throw new ArgumentException(name),
        };

        private static void OnEveryMachine(Action<int, int> run)
        {
            int savedBits = KernelDispatch.MaxVectorBits;
            try
            {
                foreach (var (bits, threads) in Machines)
                {
                    KernelDispatch.MaxVectorBits = bits;
                    run(bits, threads);
                }
            }
            finally { KernelDispatch.MaxVectorBits = savedBits; }
        }

        [Theory]
        [InlineData("AdamW")]
        [InlineData("Lion")]
        [InlineData("SgdMomentum")]
        public void Bf16_gradients_step_as_float64_formulas_fed_the_widened_gradients_and_the_copy_is_the_rounded_parameter(string rule)
        {
            OnEveryMachine((bits, threads) =>
            {
                var random = new Random(1000 + bits + threads);
                var tensors = Model(random);
                using var opt = Builder(tensors, copies: true).Route(p => true, RuleNamed(rule)).SkipNonFiniteSteps(false).Threads(threads).Build();
                var states = opt.StateNames(tensors[0].Name).ToArray();
                for (int step = 1; step <= 3; step++)
                {
                    RandomGradients(tensors, random);
                    var before = tensors.Select(t => (P: (float[])t.Param.Clone(), S: states.Select(s => Read(opt, t, s)).ToArray())).ToArray();
                    opt.Step();
                    for (int ti = 0; ti < tensors.Count; ti++)
                    {
                        var t = tensors[ti];
                        var after = states.Select(s => Read(opt, t, s)).ToArray();
                        for (int i = 0; i < t.Param.Length; i++)
                        {
                            double g = Widen(t.Grad[i]);
                            var s0 = before[ti].S.Select(s => (double)s[i]).ToArray();
                            var (p1, s1, slack, eitherSign) = Reference(rule, step, before[ti].P[i], s0, g);
                            string where = $"{rule} {bits}-bit {threads} thread(s) {t.Name}[{i}] step {step}";
                            if (!eitherSign)
                                Assert.True(Math.Abs(t.Param[i] - p1) <= 1e-5 * Math.Abs(before[ti].P[i] - p1) + slack + 2 * Ulp(t.Param[i]), $"{where}: param {t.Param[i]:R}, float64 {p1:R}");
                            // float32 rounding of each term: relative to the terms' size, which cancellation can leave far above the result's
                            for (int k = 0; k < s1.Length; k++)
                                Assert.True(Math.Abs(after[k][i] - s1[k]) <= 1e-6 * (Math.Abs(s0[k]) + Math.Abs(g) + Math.Abs(s1[k])) + 2 * Ulp(after[k][i]), $"{where}: {states[k]} {after[k][i]:R}, float64 {s1[k]:R}");
                            Assert.True(NearestEven(t.Param[i]) == t.Copy[i], $"{where}: copy 0x{t.Copy[i]:X4}, round to nearest even of {t.Param[i]:R} is 0x{NearestEven(t.Param[i]):X4}");
                        }
                    }
                }
            });
        }

        [Theory]
        [InlineData("AdamW", StatePrecision.Float32)]
        [InlineData("AdamW", StatePrecision.BFloat16)]
        [InlineData("Lion", StatePrecision.BFloat16)]
        [InlineData("SgdMomentum", StatePrecision.BFloat16)]
        public void Bf16_gradients_give_the_bits_of_float32_gradients_holding_the_same_values_with_either_state(string rule, StatePrecision precision)
        {
            // The float32 engine is itself checked against float64 (EngineTests, BFloat16KernelTests); here the generic
            // instantiation over bf16 gradients and the copy must not change one bit of its arithmetic.
            OnEveryMachine((bits, threads) =>
            {
                var random = new Random(77 + bits);
                var half = Model(random);
                var wide = half.Select(t => new Tensor { Name = t.Name, Shape = t.Shape, Param = (float[])t.Param.Clone() }).ToArray();
                var wideGrads = wide.Select(t => new float[t.Param.Length]).ToArray();
                var builder = new OptimizerBuilder();
                for (int t = 0; t < wide.Length; t++) builder.AddParameter(wide[t].Name, wide[t].Shape, wide[t].Param, wideGrads[t]);
                using var reference = builder.Route(p => true, RuleNamed(rule), g => g.State(precision)).Seed(5).Threads(threads).Build();
                using var opt = Builder(half, copies: true).Route(p => true, RuleNamed(rule), g => g.State(precision)).Seed(5).Threads(threads).Build();
                for (int step = 1; step <= 3; step++)
                {
                    RandomGradients(half, random);
                    for (int t = 0; t < half.Count; t++)
                        for (int i = 0; i < half[t].Grad.Length; i++) wideGrads[t][i] = (float)Widen(half[t].Grad[i]);
                    reference.Step();
                    opt.Step();
                    for (int t = 0; t < half.Count; t++)
                    {
                        string where = $"{rule} {precision} {bits}-bit {threads} thread(s) {half[t].Name} step {step}";
                        EngineTests.AssertBits(wide[t].Param, half[t].Param, where + " param");
                        foreach (var s in opt.StateNames(half[t].Name))
                            EngineTests.AssertBits(Read(reference, wide[t], s), Read(opt, half[t], s), where + " state " + s);
                        for (int i = 0; i < half[t].Param.Length; i++)
                            Assert.True(NearestEven(half[t].Param[i]) == half[t].Copy[i], $"{where}: copy[{i}]");
                    }
                }
            });
        }

        [Fact]
        public void A_copy_with_float32_gradients_leaves_the_step_unchanged_and_rounds_every_parameter_to_nearest_even()
        {
            var random = new Random(3);
            var tensors = Model(random);
            var plain = tensors.Select(t => (float[])t.Param.Clone()).ToArray();
            var grads = tensors.Select(t => Enumerable.Range(0, t.Param.Length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()).ToArray();
            var withCopy = new OptimizerBuilder();
            var without = new OptimizerBuilder();
            for (int t = 0; t < tensors.Count; t++)
            {
                withCopy.AddParameter(tensors[t].Name, tensors[t].Shape, tensors[t].Param, grads[t]).WriteBFloat16Copy(tensors[t].Name, tensors[t].Copy);
                without.AddParameter(tensors[t].Name, tensors[t].Shape, plain[t], (float[])grads[t].Clone());
            }
            using var a = withCopy.Route(p => true, AdamW.Rule).ClipGlobalNorm(1.0).Threads(2).Build();
            using var b = without.Route(p => true, AdamW.Rule).ClipGlobalNorm(1.0).Threads(2).Build();
            for (int step = 0; step < 2; step++) { a.Step(); b.Step(); }
            for (int t = 0; t < tensors.Count; t++)
            {
                EngineTests.AssertBits(plain[t], tensors[t].Param, tensors[t].Name);
                for (int i = 0; i < plain[t].Length; i++) Assert.Equal(NearestEven(plain[t][i]), tensors[t].Copy[i]);
            }
        }

        [Fact]
        public void A_non_finite_bf16_gradient_skips_the_step_and_leaves_parameters_and_copies_alone()
        {
            var random = new Random(11);
            var tensors = Model(random);
            using var opt = Builder(tensors, copies: true).Route(p => true, AdamW.Rule).Threads(2).Build();
            RandomGradients(tensors, random);
            Assert.Equal(StepStatus.Applied, opt.Step().Status);
            var param = tensors.Select(t => (float[])t.Param.Clone()).ToArray();
            var copy = tensors.Select(t => (ushort[])t.Copy.Clone()).ToArray();
            RandomGradients(tensors, random);
            tensors[5].Grad[12345] = 0xFF80; // -inf
            var result = opt.Step();
            Assert.Equal(StepStatus.SkippedNonFiniteGradient, result.Status);
            for (int t = 0; t < tensors.Count; t++)
            {
                EngineTests.AssertBits(param[t], tensors[t].Param, tensors[t].Name);
                Assert.Equal(copy[t], tensors[t].Copy);
            }
        }

        [Fact]
        public void The_norm_over_bf16_gradients_is_the_float64_norm_of_the_widened_values()
        {
            var random = new Random(12);
            var tensors = Model(random);
            using var opt = Builder(tensors, copies: false).Route(p => true, SgdMomentum.Rule).Threads(2).Build();
            RandomGradients(tensors, random);
            double expected = Math.Sqrt(tensors.Sum(t => t.Grad.Sum(h => Widen(h) * Widen(h))));
            double norm = opt.Step().GradientNorm;
            Assert.True(Math.Abs(norm - expected) <= 1e-12 * expected, $"norm {norm:R}, float64 {expected:R}");
        }

        [Fact]
        public void Copies_follow_the_parameters_after_a_rolled_back_step_and_after_a_load()
        {
            // Muon's group steps h0 (its own wave, copy written) before h1's 3e38 gradients break Newton–Schulz: the
            // rollback restores h0's parameter, and its copy must be the restored parameter's again.
            var model = new EngineTestModel().Add("h0.weight", 32, 16).Add("bias", 32).Add("h1.weight", 24, 16);
            var copies = model.Tensors.Select(t => new ushort[t.Param.Length]).ToArray();
            var builder = model.Builder();
            for (int t = 0; t < copies.Length; t++) builder.WriteBFloat16Copy(model.Tensors[t].Name, copies[t]);
            using var optimizer = builder.Route("rest", p => p.Rank < 2, AdamW.Rule).Route("hidden", p => p.Rank == 2, Muon.Rule)
                .WaveElements(1).Seed(7).Threads(2).Build();
            void AssertCopies(string when)
            {
                for (int t = 0; t < copies.Length; t++)
                    for (int i = 0; i < copies[t].Length; i++)
                        Assert.True(NearestEven(model.Tensors[t].Param[i]) == copies[t][i], $"{when}: {model.Tensors[t].Name}[{i}]");
            }
            model.SetGradients(1);
            optimizer.Step();
            AssertCopies("after a step");
            string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fused-bf16-copy-{Guid.NewGuid():N}.safetensors");
            try
            {
                optimizer.Save(path);
                model.SetGradients(2);
                Array.Fill(model.Tensors[2].Grad, 3e38f);
                Assert.Throws<OptimizerStepException>(() => optimizer.Step());
                AssertCopies("after a rolled-back step");
                model.SetGradients(2);
                optimizer.Step();
                optimizer.Load(path);
                AssertCopies("after Load");
            }
            finally { System.IO.File.Delete(path); }
        }

        [Fact]
        public void The_memory_report_counts_two_bytes_per_bf16_gradient_element()
        {
            var b = new OptimizerBuilder().AddParameter("half", new[] { 1037 }, new float[1037], new ushort[1037]).AddParameter("full", new[] { 17 }, new float[17], new float[17]);
            using var opt = b.Route(p => true, AdamW.Rule).Build();
            Assert.Equal(2 * 1037 + 4 * 17, opt.MemoryReport(includeGradients: true).Groups.Single().GradientBytes);
        }

        [Fact]
        public void What_cannot_run_over_bf16_gradients_or_copies_is_a_one_line_error_naming_it()
        {
            OptimizerBuilder One(bool copy = false)
            {
                var b = new OptimizerBuilder().AddParameter("w", new[] { 4, 5 }, new float[20], new ushort[20]);
                return copy ? b.WriteBFloat16Copy("w", new ushort[20]) : b;
            }
            void Refused<T>(Func<object> action, params string[] words) where T : Exception
            {
                var e = Assert.Throws<T>(action);
                Assert.DoesNotContain('\n', e.Message);
                foreach (var word in words) Assert.Contains(word, e.Message);
            }
            Refused<OptimizerConfigurationException>(() => One().Route(p => true, AdamW.Rule).ClipGlobalNorm(1).Build(), "'w'", "ClipGlobalNorm");
            Refused<OptimizerConfigurationException>(() => One().Route(p => true, Adafactor.Rule).Build(), "'w'", "Adafactor", "row-wise");
            Refused<OptimizerConfigurationException>(() => One().Route(p => true, AdamW.Rule, g => g.State(StatePrecision.Int8Blockwise)).Build(), "'w'", "8-bit");
            Refused<OptimizerConfigurationException>(() => One().WriteBFloat16Copy("w", new ushort[19]), "'w'", "19", "20");
            Refused<OptimizerConfigurationException>(() => One(copy: true).WriteBFloat16Copy("w", new ushort[20]), "'w'", "already");
            Refused<OptimizerConfigurationException>(() => One().WriteBFloat16Copy("v", new ushort[20]), "'v'");
            Refused<OptimizerConfigurationException>(() => new OptimizerBuilder().AddParameter("w", new[] { 4 }, new float[4], new ushort[3]), "'w'", "3");
            var shared = new ushort[20];
            Refused<OptimizerConfigurationException>(() => new OptimizerBuilder().AddParameter("w", new[] { 20 }, new float[20], shared).WriteBFloat16Copy("w", shared)
                .Route(p => true, AdamW.Rule).Build(), "gradient of 'w'", "bfloat16 copy of 'w'");
            using var opt = One().Route(p => true, AdamW.Rule).Build();
            Refused<InvalidOperationException>(() => { opt.AccumulateGradients(); return opt; }, "'w'", "AccumulateGradients");
        }

        [Fact]
        public void The_bytes_each_configuration_moves_are_in_the_generated_layout_and_the_runtime_layout()
        {
            // AdamW: param r/w 8, grad 4, m and v r/w 16 = 28; bf16 gradient 2 less; bf16 state 8 less; the copy writes 2 more.
            Assert.Equal(26, AdamW.Layout.BytesMovedPerParameterBFloat16Gradient);
            Assert.Equal(18, AdamW.Layout.BytesMovedPerParameterBFloat16StateAndGradient);
            Assert.Equal(2, AdamW.Layout.BFloat16ParameterCopyBytesPerParameter);
            Assert.Equal(14, Lion.Layout.BytesMovedPerParameterBFloat16StateAndGradient); // p r/w 8, g 2, m r/w 4
            Assert.Equal(10, Sgd.Layout.BytesMovedPerParameterBFloat16Gradient);           // p r/w 8, g 2
            foreach (var (rule, gradient, both, copy) in new[]
            {
                (AdamW.Rule, AdamW.Layout.BytesMovedPerParameterBFloat16Gradient, AdamW.Layout.BytesMovedPerParameterBFloat16StateAndGradient, AdamW.Layout.BFloat16ParameterCopyBytesPerParameter),
                (Lion.Rule, Lion.Layout.BytesMovedPerParameterBFloat16Gradient, Lion.Layout.BytesMovedPerParameterBFloat16StateAndGradient, Lion.Layout.BFloat16ParameterCopyBytesPerParameter),
                (CautiousAdamW.Rule, CautiousAdamW.Layout.BytesMovedPerParameterBFloat16Gradient, CautiousAdamW.Layout.BytesMovedPerParameterBFloat16StateAndGradient, CautiousAdamW.Layout.BFloat16ParameterCopyBytesPerParameter),
            })
            {
                Assert.Equal(gradient, rule.Layout.BytesMovedPerParameterFor(bfloat16State: false, bfloat16Gradient: true, parameterCopy: false));
                Assert.Equal(both, rule.Layout.BytesMovedPerParameterFor(bfloat16State: true, bfloat16Gradient: true, parameterCopy: false));
                Assert.Equal(both + copy, rule.Layout.BytesMovedPerParameterFor(bfloat16State: true, bfloat16Gradient: true, parameterCopy: true));
                Assert.Equal(rule.Layout.BytesMovedPerParameter, rule.Layout.BytesMovedPerParameterFor(false, false, false));
            }
        }

        /// <summary>
        /// One step of the rule in float64 from the formulas (default hyperparameters). Slack: what float32 rounding of the
        /// states can move the parameter by; eitherSign: Lion's sign argument is too close to 0 to call.
        /// </summary>
        private static (double Param, double[] States, double Slack, bool EitherSign) Reference(string rule, int step, double p, double[] s, double g)
        {
            switch (rule)
            {
                case "AdamW":
                {
                    const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
                    double m = (double)(float)b1 * s[0] + (1 - (double)(float)b1) * g;
                    double v = (double)(float)b2 * s[1] + (1 - (double)(float)b2) * g * g;
                    double mHat = m / (1 - Math.Pow((float)b1, step)), vHat = v / (1 - Math.Pow((float)b2, step));
                    return (p - (double)(float)lr * (mHat / (Math.Sqrt(vHat) + (double)(float)eps) + (double)(float)wd * p), new[] { m, v }, 1e-3 * 1e-5, false);
                }
                case "Lion":
                {
                    double lr = (float)1e-4, b1 = (float)0.9, b2 = (float)0.99;
                    double c = b1 * s[0] + (1 - b1) * g;
                    bool either = Math.Abs(c) <= 1e-6 * (Math.Abs(s[0]) + Math.Abs(g));
                    return (p - lr * Math.Sign(c), new[] { b2 * s[0] + (1 - b2) * g }, 0, either);
                }
                default:
                {
                    double lr = (float)0.01, beta = (float)0.9;
                    double m = beta * s[0] + g;
                    return (p - lr * m, new[] { m }, lr * 1e-6 * (Math.Abs(s[0]) + Math.Abs(g)), false);
                }
            }
        }

        private static float[] Read(FusedOptimizer opt, Tensor t, string state)
        {
            var values = new float[t.Param.Length];
            opt.ReadState(t.Name, state, values);
            return values;
        }

        /// <summary>bf16 bits to their value (the upper half of a float32).</summary>
        private static double Widen(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

        /// <summary>Round to nearest, ties to even, written from the definition: the two bf16 neighbours, the nearer one, the even one on a tie.</summary>
        private static ushort NearestEven(float value)
        {
            if (float.IsNaN(value)) return (ushort)((BitConverter.SingleToUInt32Bits(value) >> 16) | 0x40);
            uint bits = BitConverter.SingleToUInt32Bits(value);
            ushort down = (ushort)(bits >> 16);
            if ((bits & 0xFFFF) == 0) return down;
            ushort up = (ushort)(down + 1); // away from zero in magnitude (sign-magnitude bits)
            double below = Math.Abs(value - Widen(down)), above = Math.Abs(Widen(up) - value); // finite, far from bf16's largest (the inputs here)
            return below < above ? down : above < below ? up : (down & 1) == 0 ? down : up;
        }

        private static double Ulp(float x) => Math.Abs(MathF.BitIncrement(Math.Abs(x)) - Math.Abs(x));
    }
}
