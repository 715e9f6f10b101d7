using System;
using System.Linq;
using Fused.Demo.Training;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>Mean ± std over seeds and the per-model verdict, against sums written out here.</summary>
    public sealed class SeedSummaryTests
    {
        [Theory]
        [InlineData(1u, 7)]
        [InlineData(2u, 2)]
        [InlineData(3u, 13)]
        public void Spread_is_the_mean_and_sample_standard_deviation_of_the_finite_values(uint seed, int count)
        {
            var random = new Random((int)seed);
            var values = Enumerable.Range(0, count).Select(_ => random.NextDouble() * 10 - 3).ToArray();
            double sum = 0;
            foreach (double v in values) sum += v;
            double mean = sum / count, squares = 0;
            foreach (double v in values) squares += (v - mean) * (v - mean);
            var spread = Spread.Of(values.Append(double.NaN).Append(double.PositiveInfinity));
            Assert.Equal(count, spread.Count);
            Assert.Equal(mean, spread.Mean, 12);
            Assert.Equal(Math.Sqrt(squares / (count - 1)), spread.StandardDeviation, 12);
        }

        [Fact]
        public void One_value_has_no_spread_and_none_has_no_mean()
        {
            Assert.True(double.IsNaN(Spread.Of(new[] { 0.5 }).StandardDeviation));
            Assert.Equal("0.50", Spread.Of(new[] { 0.5 }).Format(v => v.ToString("F2")));
            Assert.Equal("—", Spread.Of(new[] { double.NaN }).Format(v => v.ToString("F2")));
        }

        [Fact]
        public void Runs_group_per_model_and_optimizer_and_evaluations_average_per_step()
        {
            var runs = FakeRuns.Runs(3).Concat(FakeRuns.Runs(2, model: "CNN")).ToArray();
            var summaries = SeedSummary.Group(runs);
            Assert.Equal(2 * FakeRuns.Optimizers.Length, summaries.Count);
            Assert.Equal(new[] { 3, 3, 3, 2, 2, 2 }, summaries.Select(s => s.Runs.Count));
            var adamW = summaries.First(s => s.Model == "MLP" && s.Optimizer == "AdamW");
            var last = adamW.Evaluations[^1];
            Assert.Equal(20, last.Step);
            Assert.Equal((0.83 + 0.833 + 0.836) / 3, last.TestAccuracy.Mean, 12);
            Assert.Equal(2, adamW.Evaluations.Count);
        }

        [Fact]
        public void Verdict_names_the_best_mean_per_model_and_says_whether_the_gap_exceeds_two_standard_errors()
        {
            RunResult Run(string name, double accuracy, ulong seed) => FakeRuns.Run(name, accuracy, 0) with { TestAccuracy = accuracy, Seed = seed };
            // A: 0.90, 0.91, 0.92 (mean 0.91, s 0.01); B: 0.80, 0.81, 0.82 (mean 0.81): gap 0.10, 2·√(2·0.01²/3) = 0.0163.
            var clear = new[] { 0.90, 0.91, 0.92 }.Select((a, k) => Run("A", a, (ulong)k)).Concat(new[] { 0.80, 0.81, 0.82 }.Select((a, k) => Run("B", a, (ulong)k)));
            var verdict = Verdict.PerModel(SeedSummary.Group(clear)).Single();
            Assert.Equal("A", verdict.Winner.Optimizer);
            Assert.Equal(0.10, verdict.Margin, 12);
            Assert.Equal(Math.Sqrt(2 * 0.0001 / 3), verdict.MarginStandardError, 12);
            Assert.True(verdict.Clear);
            Assert.Contains("10.00 points above B", verdict.Sentence);

            // Gap 0.005 with the same spread: within two standard errors.
            var close = new[] { 0.90, 0.91, 0.92 }.Select((a, k) => Run("A", a, (ulong)k)).Concat(new[] { 0.895, 0.905, 0.915 }.Select((a, k) => Run("B", a, (ulong)k)));
            var unclear = Verdict.PerModel(SeedSummary.Group(close)).Single();
            Assert.False(unclear.Clear);
            Assert.Contains("cannot separate", unclear.Sentence);
        }

        [Fact]
        public void The_language_model_is_ranked_by_test_loss_lower_wins_even_against_accuracy()
        {
            // A: loss 2.60, 2.61, 2.62 (mean 2.61, s 0.01) with the lower accuracy; B: loss 2.70, 2.71, 2.72 with the higher.
            RunResult Run(string name, double loss, double accuracy, ulong seed) =>
                FakeRuns.Run(name, accuracy, 0, Fused.Demo.Model.ModelTasks.Transformer) with { TestLoss = loss, TestAccuracy = accuracy, Seed = seed };
            var runs = new[] { 2.60, 2.61, 2.62 }.Select((l, k) => Run("A", l, 0.20, (ulong)k))
                .Concat(new[] { 2.70, 2.71, 2.72 }.Select((l, k) => Run("B", l, 0.30, (ulong)k)));
            var verdict = Verdict.PerModel(SeedSummary.Group(runs)).Single();
            Assert.True(verdict.RankedByLoss);
            Assert.Equal("A", verdict.Winner.Optimizer);
            Assert.Equal(0.10, verdict.Margin, 12);
            Assert.Equal(Math.Sqrt(2 * 0.0001 / 3), verdict.MarginStandardError, 12);
            Assert.True(verdict.Clear);
            Assert.Contains("test loss 2.610 ± 0.010 over 3 seeds", verdict.Sentence);
            Assert.Contains("0.100 below B", verdict.Sentence);

            // The image models keep accuracy: the same runs labelled as the MLP crown B.
            var mlp = Verdict.PerModel(SeedSummary.Group(runs.Select(r => r with { Model = Fused.Demo.Model.ModelTasks.Mlp }))).Single();
            Assert.False(mlp.RankedByLoss);
            Assert.Equal("B", mlp.Winner.Optimizer);
        }
    }
}
