using System;
using System.Linq;
using Fused.Demo.Optimizers;
using Fused.Demo.Widgets;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>The widgets compute what the seeds describe, with the real kernels.</summary>
    public sealed class WidgetTests
    {
        [Fact]
        public void AdamW_decays_both_parameters_alike_and_Adam_L2_does_not()
        {
            var curves = DecayComparison.Compute();
            double Final(string rule, string parameter) => curves.Single(c => c.Rule == rule && c.Parameter.StartsWith(parameter, StringComparison.Ordinal)).Values[^1];
            Assert.Equal(Final("AdamW", "A"), Final("AdamW", "B"), 6);
            // (1 − lr·wd)^steps for decoupled decay.
            Assert.Equal(Math.Pow(1 - DecayComparison.LearningRate * DecayComparison.WeightDecay, DecayComparison.Steps), Final("AdamW", "A"), 3);
            Assert.True(Final("Adam", "A") > Final("AdamW", "A") + 0.1, "the loud parameter should be barely decayed under L2");
            Assert.True(Math.Abs(Final("Adam", "B")) < Final("AdamW", "B") - 0.3, "the quiet parameter should be crushed under L2");
        }

        [Fact]
        public void Newton_Schulz_pulls_a_skewed_spectrum_towards_one()
        {
            var snapshots = SpectrumFlattening.Compute();
            var input = snapshots[0].Input;
            Assert.True(input[0] / input[^1] > 50, "the input spectrum should span about two decades");
            var five = snapshots.Single(s => s.Iterations == 5).Output;
            Assert.True(five.Count(s => s > 0.6 && s < 1.3) >= five.Count * 0.8, string.Join(", ", five.Select(s => s.ToString("F2"))));
            Assert.True(five.Max() / five.Min() < input[0] / input[^1] / 20);
        }

        [Fact]
        public void Adaptive_rules_reach_the_valley_minimum()
        {
            var paths = LandscapeTrajectories.Compute(Landscape.AnisotropicValley, new[] { CatalogRule.Named("AdamW"), CatalogRule.Named("SGD-Momentum") });
            foreach (var path in paths)
            {
                Assert.False(path.Diverged);
                var (x, y) = path.Final;
                Assert.True(Math.Sqrt(x * x + y * y) < 0.1, $"{path.Rule} ends at ({x}, {y})");
            }
        }
    }
}
