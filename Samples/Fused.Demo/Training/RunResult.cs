using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Demo.Training
{
    /// <summary>A test-set measurement during training.</summary>
    public readonly record struct EvaluationPoint(long Step, double Epoch, double TestLoss, double TestAccuracy);

    /// <summary>Everything measured while training one optimizer on one model from one seed.</summary>
    public sealed record RunResult(
        string Optimizer,
        string Description,
        long Steps,
        IReadOnlyList<float> StepLosses,
        IReadOnlyList<EvaluationPoint> Evaluations,
        double FinalTrainLoss,
        double TestAccuracy,
        double TestLoss,
        double MillisecondsPerStep,
        double OptimizerMillisecondsPerStep,
        long StateBytes,
        long ParameterCount,
        double Seconds)
    {
        /// <summary>The model trained (the --model: mlp, cnn, transformer): tables, verdicts and report sections are per model.</summary>
        public string Model { get; init; } = "mlp";

        /// <summary>The seed of the initial weights and the batch order.</summary>
        public ulong Seed { get; init; }

        public bool Diverged => double.IsNaN(FinalTrainLoss) || double.IsInfinity(FinalTrainLoss);
    }

    /// <summary>Mean and sample standard deviation (n − 1) of the finite values among <see cref="Count"/> runs.</summary>
    public readonly record struct Spread(double Mean, double StandardDeviation, int Count)
    {
        public static Spread Of(IEnumerable<double> values)
        {
            var finite = values.Where(double.IsFinite).ToArray();
            if (finite.Length == 0) return new Spread(double.NaN, double.NaN, 0);
            double mean = finite.Average();
            double std = finite.Length > 1 ? Math.Sqrt(finite.Sum(v => (v - mean) * (v - mean)) / (finite.Length - 1)) : double.NaN;
            return new Spread(mean, std, finite.Length);
        }

        /// <summary>"0.8712 ± 0.0031"-style text; the ± part only when there are two or more values.</summary>
        public string Format(Func<double, string> format)
            => Count == 0 ? "—" : Count == 1 ? format(Mean) : $"{format(Mean)} ± {format(StandardDeviation)}";
    }

    /// <summary>One evaluation step averaged over the seeds (the steps are the same for every seed).</summary>
    public readonly record struct EvaluationSpread(long Step, double Epoch, Spread TestLoss, Spread TestAccuracy);

    /// <summary>All seeds of one optimizer on one model: the figures the tables and charts show as mean ± std.</summary>
    public sealed record SeedSummary(string Model, string Optimizer, IReadOnlyList<RunResult> Runs)
    {
        public string Description => Runs[0].Description;
        public int DivergedRuns => Runs.Count(r => r.Diverged);
        public Spread TestAccuracy => Spread.Of(Runs.Where(r => !r.Diverged).Select(r => r.TestAccuracy));
        public Spread TestLoss => Spread.Of(Runs.Where(r => !r.Diverged).Select(r => r.TestLoss));
        public Spread FinalTrainLoss => Spread.Of(Runs.Select(r => r.FinalTrainLoss));
        public Spread MillisecondsPerStep => Spread.Of(Runs.Select(r => r.MillisecondsPerStep));
        public Spread OptimizerMillisecondsPerStep => Spread.Of(Runs.Select(r => r.OptimizerMillisecondsPerStep));
        public long StateBytes => Runs[0].StateBytes;
        public long ParameterCount => Runs[0].ParameterCount;

        /// <summary>Per evaluation step, mean ± std over the seeds that reached it.</summary>
        public IReadOnlyList<EvaluationSpread> Evaluations => Runs
            .SelectMany(r => r.Evaluations)
            .GroupBy(e => e.Step)
            .OrderBy(g => g.Key)
            .Select(g => new EvaluationSpread(g.Key, g.First().Epoch, Spread.Of(g.Select(e => e.TestLoss)), Spread.Of(g.Select(e => e.TestAccuracy))))
            .ToArray();

        /// <summary>Groups runs by model, then optimizer, keeping the order in which they first appear.</summary>
        public static IReadOnlyList<SeedSummary> Group(IEnumerable<RunResult> runs)
            => runs.GroupBy(r => (r.Model, r.Optimizer)).Select(g => new SeedSummary(g.Key.Model, g.Key.Optimizer, g.ToArray())).ToArray();
    }

    /// <summary>
    /// Which optimizer won on one model, by how much, and whether the seeds can tell. Image models are ranked by mean test
    /// accuracy; the language model by mean test loss (nats per character), the figure language models are judged by.
    /// </summary>
    public sealed record Verdict(string Model, SeedSummary Winner, SeedSummary? RunnerUp)
    {
        /// <summary>Whether <see cref="Model"/> is ranked by test loss (lower wins) rather than test accuracy.</summary>
        public bool RankedByLoss => RanksByLoss(Model);

        /// <summary>
        /// How far the winner is ahead of the runner-up: accuracy units (0.01 = one percentage point), or nats of test
        /// loss for a model <see cref="RankedByLoss"/>; never negative.
        /// </summary>
        public double Margin => RunnerUp is null ? double.NaN
            : RankedByLoss ? RunnerUp.TestLoss.Mean - Winner.TestLoss.Mean : Winner.TestAccuracy.Mean - RunnerUp.TestAccuracy.Mean;

        /// <summary>
        /// Standard error of the difference of the two means, √(s₁²/n₁ + s₂²/n₂); NaN with fewer than two seeds.
        /// </summary>
        public double MarginStandardError
        {
            get
            {
                if (RunnerUp is null) return double.NaN;
                Spread a = Score(Winner), b = Score(RunnerUp);
                return a.Count < 2 || b.Count < 2 ? double.NaN
                    : Math.Sqrt(a.StandardDeviation * a.StandardDeviation / a.Count + b.StandardDeviation * b.StandardDeviation / b.Count);
            }
        }

        /// <summary>A gap of at least two standard errors: the seeds say it is not luck of the draw.</summary>
        public bool Clear => Margin >= 2 * MarginStandardError;

        /// <summary>
        /// One sentence, e.g. "Muon+AdamW won on mlp: 89.12 % ± 0.15 over 3 seeds, 0.85 points above AdamW (...)", or for the
        /// language model "Muon+AdamW won on transformer: test loss 2.601 ± 0.003 nats/char over 3 seeds, 0.022 below AdamW (...)".
        /// </summary>
        public string Sentence
        {
            get
            {
                var a = Score(Winner);
                string seeds = a.Count > 1 ? $" ± {Figure(a.StandardDeviation)} over {a.Count} seeds" : " (one seed)";
                string head = RankedByLoss
                    ? $"{Winner.Optimizer} won on {Model}: test loss {Figure(a.Mean)}{seeds} (nats per character, lower is better)"
                    : $"{Winner.Optimizer} won on {Model}: {Figure(a.Mean)} %{seeds}";
                if (RunnerUp is null) return head + ".";
                string gap = RankedByLoss ? $"{Figure(Margin)} below {RunnerUp.Optimizer}" : $"{Figure(Margin)} points above {RunnerUp.Optimizer}";
                string units = RankedByLoss ? "" : " points";
                if (double.IsNaN(MarginStandardError)) return $"{head}, {gap}; one seed cannot say whether that gap is real (use --seeds 3).";
                return $"{head}, {gap} " + (Clear
                    ? $"(more than 2 standard errors, {Figure(2 * MarginStandardError)}{units}: a real gap)."
                    : $"(within 2 standard errors, {Figure(2 * MarginStandardError)}{units}: these seeds cannot separate them).");
            }
        }

        /// <summary>One verdict per model among <paramref name="summaries"/>, runs that diverged on every seed left out.</summary>
        public static IReadOnlyList<Verdict> PerModel(IEnumerable<SeedSummary> summaries)
            => summaries.GroupBy(s => s.Model).Select(g =>
            {
                bool byLoss = RanksByLoss(g.Key);
                var scored = g.Where(s => (byLoss ? s.TestLoss : s.TestAccuracy).Count > 0);
                var ranked = (byLoss ? scored.OrderBy(s => s.TestLoss.Mean) : scored.OrderByDescending(s => s.TestAccuracy.Mean)).ToArray();
                return ranked.Length == 0 ? null : new Verdict(g.Key, ranked[0], ranked.Length > 1 ? ranked[1] : null);
            }).Where(v => v is not null).Select(v => v!).ToArray();

        private static bool RanksByLoss(string model) => Fused.Demo.Model.ModelTasks.IsLanguageModel(model);

        private Spread Score(SeedSummary s) => RankedByLoss ? s.TestLoss : s.TestAccuracy;

        // Accuracy in percent with two decimals; loss in nats with three.
        private string Figure(double value) => RankedByLoss
            ? value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)
            : (value * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
    }
}
