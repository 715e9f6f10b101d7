using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>The outcome of one task: the best loss over the learning-rate grid and where it was found.</summary>
    public sealed record TaskOutcome(string Task, double Loss, double LearningRate, double Score);

    /// <summary>A program's scores: per task, per stage reached, and the fitness selection uses.</summary>
    public sealed record EvaluationResult(double Fitness, int StagesReached, IReadOnlyList<double> StageScores, IReadOnlyList<TaskOutcome> Tasks, double Seconds,
        RankedScore? Ranked = null);

    /// <summary>
    /// Scores programs against a reference rule (AdamW) tuned the same way. Each task is run over a
    /// small log grid of learning rates (the hyperparameter named "lr", scaled around the task's base);
    /// the task score is log10 of (reference loss / program loss), clipped to ±3 (divergence: −3).
    /// A program must first pass <see cref="SanityCheck"/> (finite on hostile inputs; otherwise −3 minus
    /// one per stage). Stages run cheap to real and a program goes on only if its mean stage score reaches the stage's
    /// threshold. The cheap stages are gates only: fitness is the score of the last (most realistic)
    /// stage, and a program stopped earlier gets −3 minus one per stage it did not reach. (A first
    /// version averaged all stages; the capped scores of the cheap tasks, where AdamW with three
    /// learning rates is far from converged, then dominated selection and the winners were worse than
    /// AdamW on the network.)
    /// </summary>
    public sealed class EvaluationFunnel
    {
        public const double MinScore = -3, MaxScore = 3;
        public const string LearningRateName = "lr";

        private readonly ProxySuite _suite;
        private readonly RuleProgram _reference;
        private readonly double[] _factors;
        private readonly Dictionary<ProxyTask, double> _baseline = new Dictionary<ProxyTask, double>();
        private readonly object _gate = new object();

        /// <param name="factors">
        /// Multipliers of each task's base learning rate. Default: four values √10 apart, 0.1 to 3.16, so that
        /// both AdamW's optimum (the bases) and a sign-based rule's (3–10× smaller, Lion's) are on the grid.
        /// </param>
        /// <param name="scorer">The ranking stage's scorer (with its cache); made in memory when the suite ranks and none is given.</param>
        public EvaluationFunnel(ProxySuite suite, RuleProgram reference, IReadOnlyList<double>? factors = null, SpeedupScorer? scorer = null)
        {
            _suite = suite;
            _reference = reference;
            _factors = (factors ?? new[] { 0.1, Math.Pow(10, -0.5), 1.0, Math.Pow(10, 0.5) }).ToArray();
            Scorer = scorer ?? (suite.Ranking.Count > 0 ? new SpeedupScorer(suite.Ranking, reference, suite.SelectionSeeds) : null);
        }

        public ProxySuite Suite => _suite;

        /// <summary>The ranking stage (null for the older suites, ranked by their last stage).</summary>
        public SpeedupScorer? Scorer { get; }
        public IReadOnlyList<double> LearningRateFactors => _factors;

        /// <summary>The reference's best loss on a task (computed once).</summary>
        public double Baseline(ProxyTask task, CancellationToken ct = default)
        {
            lock (_gate)
                if (_baseline.TryGetValue(task, out var known)) return known;
            double loss = BestLoss(new InterpretedRule(_reference), task, _factors, ct).loss;
            lock (_gate) _baseline[task] = loss;
            return loss;
        }

        /// <summary>
        /// Gates, then ranks. <paramref name="inheritedFactors"/>: the parent's peak lr per ranking task as a
        /// factor of tuned AdamW's, where the child's lr search is centred.
        /// </summary>
        public EvaluationResult Evaluate(RuleProgram program, CancellationToken ct, IReadOnlyDictionary<string, double>? inheritedFactors = null)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var rule = new InterpretedRule(program);
            var stageScores = new List<double>();
            var outcomes = new List<TaskOutcome>();
            if (!SanityCheck.Passes(rule))
                return new EvaluationResult(MinScore - _suite.Stages.Count, 0, stageScores, outcomes, started.Elapsed.TotalSeconds);
            foreach (var stage in _suite.Stages)
            {
                var scores = new List<double>();
                foreach (var task in stage.Tasks)
                {
                    var outcome = Run(rule, task, _factors, ct);
                    outcomes.Add(outcome);
                    scores.Add(outcome.Score);
                }
                double stageScore = scores.Average();
                stageScores.Add(stageScore);
                if (stageScore < stage.Threshold) break;
            }
            bool gated = stageScores.Count == _suite.Stages.Count && stageScores[^1] >= _suite.Stages[^1].Threshold;
            if (Scorer != null)
            {
                // Below every speedup a ranked program can score, ordered by how far it got.
                if (!gated) return new EvaluationResult(ReferenceCurve.MinSpeedup - 1 - (_suite.Stages.Count - stageScores.Count) - 1,
                    stageScores.Count, stageScores, outcomes, started.Elapsed.TotalSeconds);
                var ranked = Scorer.Score(rule, inheritedFactors, ct);
                stageScores.Add(ranked.Fitness);
                foreach (var t in ranked.Tasks) outcomes.Add(new TaskOutcome(t.Task, double.NaN, t.LearningRate, t.Speedups.Average()));
                return new EvaluationResult(ranked.Fitness, stageScores.Count, stageScores, outcomes, started.Elapsed.TotalSeconds, ranked);
            }
            double fitness = stageScores.Count == _suite.Stages.Count
                ? stageScores[^1]
                : MinScore - (_suite.Stages.Count - stageScores.Count);
            return new EvaluationResult(fitness, stageScores.Count, stageScores, outcomes, started.Elapsed.TotalSeconds);
        }

        /// <summary>
        /// Re-scores a program that would become the best on <paramref name="freshSeeds"/> (never used for selection),
        /// at the learning rates chosen on the selection seeds: the trusted fitness is mean − ½·SE over the selection
        /// and fresh seeds together, so a program that won on lucky instances falls back.
        /// </summary>
        public RankedScore Confirm(RuleProgram program, RankedScore selection, IReadOnlyList<ulong> freshSeeds, CancellationToken ct)
        {
            if (Scorer == null) throw new InvalidOperationException("only a ranked suite confirms on fresh seeds");
            return Scorer.Extend(new InterpretedRule(program), selection, freshSeeds, ct);
        }

        /// <summary>Scores on the held-out tasks (never used for selection), with the given learning-rate grid.</summary>
        public IReadOnlyList<TaskOutcome> EvaluateHeldOut(RuleProgram program, IReadOnlyList<double> factors, CancellationToken ct)
        {
            var rule = new InterpretedRule(program);
            var reference = new InterpretedRule(_reference);
            var result = new List<TaskOutcome>();
            foreach (var task in _suite.HeldOut)
            {
                var (loss, lr) = BestLoss(rule, task, factors, ct);
                double baseline = BestLoss(reference, task, factors, ct).loss;
                result.Add(new TaskOutcome(task.Name, loss, lr, Score(loss, baseline, task.LossFloor)));
            }
            return result;
        }

        public TaskOutcome Run(FusedRule rule, ProxyTask task, IReadOnlyList<double> factors, CancellationToken ct)
        {
            var (loss, lr) = BestLoss(rule, task, factors, ct);
            return new TaskOutcome(task.Name, loss, lr, Score(loss, Baseline(task, ct), task.LossFloor));
        }

        public static double Score(double loss, double baseline, double floor)
        {
            if (double.IsNaN(loss)) return MinScore;
            double s = Math.Log10((baseline + floor) / (loss + floor));
            if (double.IsNaN(s)) return MinScore;
            return Math.Clamp(s, MinScore, MaxScore);
        }

        /// <summary>Best (lowest) loss over the grid; NaN only if every run diverged.</summary>
        public static (double loss, double lr) BestLoss(FusedRule rule, ProxyTask task, IReadOnlyList<double> factors, CancellationToken ct)
        {
            var defaults = rule.DefaultHyperparameters();
            int lrIndex = -1;
            for (int h = 0; h < rule.Program.Hypers.Count; h++) if (rule.Program.Hypers[h].Name == LearningRateName) lrIndex = h;
            double best = double.NaN, bestLr = double.NaN;
            var grid = lrIndex < 0 ? new[] { double.NaN } : factors.Select(f => f * task.BaseLearningRate).ToArray();
            foreach (var lr in grid)
            {
                var hypers = (float[])defaults.Clone();
                if (lrIndex >= 0) hypers[lrIndex] = (float)lr;
                double loss = task.Run(rule, hypers, ct);
                if (!double.IsNaN(loss) && (double.IsNaN(best) || loss < best)) { best = loss; bestLr = lr; }
            }
            return (best, bestLr);
        }
    }
}
