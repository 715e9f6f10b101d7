using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Kernels;
using Fused.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// Fused.Testing's agreement assertion (what users run on their own rules) on every catalog rule, and on rules made
    /// to disagree: it must pass on the catalog and fail, naming the place, when Update and kernels differ.
    /// </summary>
    [Collection(nameof(DispatchCollection))] // it switches KernelDispatch.MaxVectorBits, as DispatchTests do
    public sealed class RuleAgreementTests
    {
        private readonly ITestOutputHelper _out;

        public RuleAgreementTests(ITestOutputHelper output) { _out = output; }

        public static IEnumerable<object[]> Rules() => CatalogRules.All.Select(r => new object[] { r.Name });

        [Theory]
        [MemberData(nameof(Rules))]
        public void Every_catalog_rule_agrees_across_paths_and_with_its_Update(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            var report = RuleAgreement.Assert(rule);
            _out.WriteLine(report.ToString());
            Assert.Contains("scalar", report.Paths);
            Assert.True(report.BitIdenticalValues > 0);
            // Every catalog rule declares Update; it is compared (on one-element tensors where the rule reduces), except
            // where matrix passes have no element-wise meaning.
            if (rule.Schedule.Matrices.Count == 0) Assert.True(report.UpdateValues > 0, report.UpdateNote);
            else Assert.Contains("matrix passes", report.UpdateNote);
        }

        private delegate void AdamWUpdate(ref float param, float grad, ref float m, ref float v,
            float lr, float beta1, float beta2, float eps, float weightDecay, int t);

        [Fact]
        public void An_Update_that_disagrees_with_the_kernels_fails_naming_buffer_and_element()
        {
            // AdamW without bias correction of v: a plausible slip, off by far more than float32 rounding.
            AdamWUpdate wrong = (ref float param, float grad, ref float m, ref float v, float lr, float beta1, float beta2, float eps, float wd, int t) =>
            {
                m = beta1 * m + (1 - beta1) * grad;
                v = beta2 * v + (1 - beta2) * grad * grad;
                float mHat = m / (1 - MathF.Pow(beta1, t));
                param -= lr * (mHat / (MathF.Sqrt(v) + eps) + wd * param);
            };
            var e = Assert.Throws<FusedAssertionException>(() => RuleAgreement.Assert(AdamW.Rule, wrong));
            _out.WriteLine(e.Message);
            Assert.Contains("AdamW", e.Message);
            Assert.Contains("buffer 'param'", e.Message);
            Assert.Contains("step 1", e.Message);
        }

        [Fact]
        public void The_right_Update_as_a_delegate_passes()
        {
            // AdamW written again from its formulas, as a user would pass their own Update: it must agree.
            AdamWUpdate right = (ref float param, float grad, ref float m, ref float v, float lr, float beta1, float beta2, float eps, float wd, int t) =>
            {
                m = beta1 * m + (1 - beta1) * grad;
                v = beta2 * v + (1 - beta2) * grad * grad;
                float mHat = m / (1 - MathF.Pow(beta1, t)), vHat = v / (1 - MathF.Pow(beta2, t));
                param -= lr * (mHat / (MathF.Sqrt(vHat) + eps) + wd * param);
            };
            var report = RuleAgreement.Assert(AdamW.Rule, right, new AgreementOptions { Hyperparameters = new AdamW.Hyperparameters { Lr = 0.01f, WeightDecay = 0.1f }.ToArray() });
            Assert.True(report.UpdateValues > 0);
        }

        [Fact]
        public void Kernels_that_disagree_with_the_interpreter_fail_bit_for_bit()
        {
            // Kernels one ulp off on the parameter: too small for any tolerance, caught because these paths must be identical.
            var e = Assert.Throws<FusedAssertionException>(() => RuleAgreement.Assert(new OffByOneUlp(Sgd.Rule), new AgreementOptions { CompareUpdate = false }));
            _out.WriteLine(e.Message);
            Assert.Contains("bit for bit", e.Message);
            Assert.Contains("buffer 'param'", e.Message);
        }

        [Fact]
        public void Wrong_options_are_one_line_errors()
        {
            var e = Assert.Throws<ArgumentException>(() => RuleAgreement.Assert(AdamW.Rule, new AgreementOptions { Hyperparameters = new[] { 1f } }));
            Assert.Contains("takes 5 hyperparameters (lr, beta1, beta2, eps, weightDecay)", e.Message);
            AdamWUpdate unused = (ref float p, float g, ref float m, ref float v, float a, float b, float c, float d, float w, int t) => { };
            var wrongRule = Assert.Throws<ArgumentException>(() => RuleAgreement.Assert(Lion.Rule, unused));
            Assert.Contains("Lion.Update takes", wrongRule.Message);
        }

        /// <summary>A rule whose kernels round the parameter one ulp up after the real pass: the interpreter must catch it.</summary>
        private sealed class OffByOneUlp : FusedRule
        {
            private readonly FusedRule _inner;
            public OffByOneUlp(FusedRule inner) { _inner = inner; }
            public override string Name => _inner.Name;
            public override string IrSource => _inner.IrSource;
            protected override Fused.Ir.KernelSchedule LoadSchedule() => _inner.Schedule;

            public override void RunPass(int pass, ReadOnlySpan<float> uniforms, in Fused.Execution.KernelBuffers buffers, Span<double> partials)
            {
                _inner.RunPass(pass, uniforms, buffers, partials);
                var param = buffers[0];
                for (int i = 0; i < param.Length; i++) param[i] = MathF.BitIncrement(param[i]);
            }
        }
    }
}
