using System;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>Groups take a rule's generated Hyperparameters record; the values reach the kernels; another rule's record is refused.</summary>
    public sealed class TypedHyperparameterTests
    {
        [Fact]
        public void A_typed_AdamW_record_reaches_the_kernel_as_a_float64_AdamW_says()
        {
            const int n = 67; // odd: the scalar tail runs too
            var h = new AdamW.Hyperparameters { Lr = 0.02f, Beta1 = 0.8f, Beta2 = 0.95f, Eps = 1e-6f, WeightDecay = 0.1f };
            var random = new Random(16);
            var param = new float[n];
            var grad = new float[n];
            for (int i = 0; i < n; i++) param[i] = (float)(random.NextDouble() * 2 - 1);
            double[] p = Array.ConvertAll(param, x => (double)x), m = new double[n], v = new double[n];
            var initial = (float[])param.Clone();

            using var optimizer = new OptimizerBuilder()
                .AddParameter("w", new[] { n }, param, grad)
                .Route("all", _ => true, AdamW.Rule, g => g.Hyperparameters(h))
                .Threads(1).Build();
            double lr = h.Lr, b1 = h.Beta1, b2 = h.Beta2, eps = h.Eps, wd = h.WeightDecay;
            for (int t = 1; t <= 3; t++)
            {
                for (int i = 0; i < n; i++) grad[i] = (float)(random.NextDouble() - 0.5);
                optimizer.Step();
                for (int i = 0; i < n; i++)
                {
                    double g = grad[i];
                    m[i] = b1 * m[i] + (1 - b1) * g;
                    v[i] = b2 * v[i] + (1 - b2) * g * g;
                    double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                    p[i] -= lr * (mHat / (Math.Sqrt(vHat) + eps) + wd * p[i]);
                }
            }
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(param[i] - p[i]) <= 1e-5 * (Math.Abs(p[i]) + 1e-2),
                    $"param[{i}] = {param[i]:R}, float64 AdamW with lr 0.02, β 0.8/0.95, eps 1e-6, wd 0.1: {p[i]:R}");
            // Adam moves each parameter by about lr per step: 3 steps at the default lr (1e-3) stay below 0.003, at 0.02 well above.
            double moved = 0;
            for (int i = 0; i < n; i++) moved = Math.Max(moved, Math.Abs(initial[i] - param[i]));
            Assert.True(moved > 0.03, $"largest movement {moved:G3}: the typed lr did not reach the kernel");
        }

        [Fact]
        public void Another_rules_record_is_a_one_line_error_naming_both_rules()
        {
            var e = Assert.Throws<OptimizerConfigurationException>(() => new OptimizerBuilder()
                .AddParameter("w", new[] { 3 }, new float[3], new float[3])
                .Route("all", _ => true, AdamW.Rule, g => g.Hyperparameters(new Lion.Hyperparameters { Lr = 1e-4f })));
            Assert.Contains("this group runs AdamW, but was given the hyperparameters of Lion", e.Message);
            Assert.DoesNotContain("\n", e.Message);
        }

        [Fact]
        public void A_non_finite_typed_value_is_refused_by_name()
        {
            var e = Assert.Throws<OptimizerConfigurationException>(() => new OptimizerBuilder()
                .AddParameter("w", new[] { 3 }, new float[3], new float[3])
                .Route("all", _ => true, Lion.Rule, g => g.Hyperparameters(new Lion.Hyperparameters { Beta2 = float.NaN })));
            Assert.Contains("beta2", e.Message);
        }
    }
}
