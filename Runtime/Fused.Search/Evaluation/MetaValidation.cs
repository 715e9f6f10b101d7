using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>How large the meta-validation tasks are.</summary>
    public enum MetaValidationScale
    {
        /// <summary>The sizes: MLP 196-128-64-10 (batch 128, 800 steps, full train split, scored on the full t10k split), token model V1024 d32, autoencoder 196-64-196.</summary>
        Full,
        /// <summary>
        /// Smaller sizes for a shared machine (same protocol, AdamW tuned coordinate-wise): MLP 196-32-16-10 on 6k train /
        /// 2k test samples, batch 64, 200 steps; token model V512 d16; autoencoder 196-16-196 on 4k / 1k samples.
        /// </summary>
        Reduced,
        /// <summary>
        /// Minutes-long smoke test of the whole protocol (not a measurement): MLP 196-16-10 on 1k / 512 samples, batch 32,
        /// 60 steps; token model V64 d8; autoencoder 196-8-196; AdamW tuned coordinate-wise.
        /// </summary>
        Smoke,
    }

    /// <summary>One program's meta-validation on one task: log2 speedups over the paired seeds and the one-sided 95 % lower bound of their mean.</summary>
    public sealed record MetaTaskResult(string Task, double LearningRate, IReadOnlyList<double> Speedups, double Mean, double StandardError, double LowerBound95)
    {
        /// <summary>One-sided 95 % quantiles of Student's t for 1 … 10 degrees of freedom.</summary>
        private static readonly double[] StudentT95 = { 6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812 };

        /// <summary>The one-sided 95 % quantile of Student's t with <paramref name="degreesOfFreedom"/> (1 … 10; more paired seeds than 11 use 10's, a little wider).</summary>
        public static double StudentT95Quantile(int degreesOfFreedom) => StudentT95[Math.Min(StudentT95.Length, Math.Max(1, degreesOfFreedom)) - 1];

        /// <summary>Mean, standard error and mean − t₀.₉₅(n − 1)·SE of per-seed log2 speedups.</summary>
        public static MetaTaskResult FromSpeedups(string task, double learningRate, IReadOnlyList<double> speedups)
        {
            var (mean, se) = SpeedupScorer.MeanAndStandardError(speedups);
            return new MetaTaskResult(task, learningRate, speedups, mean, se, mean - StudentT95Quantile(speedups.Count - 1) * se);
        }
    }

    /// <summary>One program's meta-validation, and whether it meets the success criterion.</summary>
    public sealed record MetaResult(string Program, IReadOnlyList<MetaTaskResult> Tasks)
    {
        /// <summary>The bar for a win on one task: a mean log2 speedup of at least this (with the interval above 0).</summary>
        public const double WinMean = 0.1;

        /// <summary>No task's mean log2 speedup may be below this (the validation gate holds its tasks to it too).</summary>
        public const double TaskFloor = -0.1;

        /// <summary>Mean ≥ 0.1 with the one-sided 95 % interval above 0 on at least 2 of the 3 tasks, and no task mean below −0.1.</summary>
        public bool Succeeds => Tasks.Count(t => t.Mean >= WinMean && t.LowerBound95 > 0) >= 2 && Tasks.All(t => t.Mean >= TaskFloor);
    }

    /// <summary>
    /// Held-out tasks frozen before a search and never seen by it: a larger MLP trained on the train split
    /// and scored on the test split, a larger token model, an autoencoder; 5 paired seeds; each program's
    /// peak lr tuned by the ranking protocol on these seeds, AdamW tuned over lr × β2 {0.95, 0.99, 0.999} ×
    /// weight decay (coordinate-wise at <see cref="MetaValidationScale.Reduced"/>). The bound uses Student's
    /// t with n − 1 degrees of freedom: mean − t₀.₉₅·SE.
    /// </summary>
    public sealed class MetaValidation
    {
        public static readonly ulong[] Seeds = { 9001, 9002, 9003, 9004, 9005 };

        private readonly RuleProgram _reference;

        /// <param name="load">Reads a cached AdamW tuning or curve (null: absent); <paramref name="store"/> writes one — so the controls and a later winner share one tuning.</param>
        public MetaValidation(MetaValidationScale scale, string? fashionDirectory = null, RuleProgram? reference = null,
            Func<string, string?>? load = null, Action<string, string>? store = null, bool extendBaselineEdges = false)
        {
            Scale = scale;
            _reference = reference ?? WarmStarts.AdamW();
            Tasks = scale == MetaValidationScale.Smoke
                ? new RankingTask[]
                {
                    new FashionMlpRanking(new[] { 16 }, batch: 32, horizon: 60, train: 1024, eval: 512, directory: fashionDirectory, scoreOnTestSplit: true),
                    new TokenRanking(vocabulary: 64, dimension: 8, batch: 16, horizon: 60),
                    new AutoencoderRanking(hidden: 8, batch: 16, horizon: 60, train: 512, eval: 256, directory: fashionDirectory),
                }
                : scale == MetaValidationScale.Full
                ? new RankingTask[]
                {
                    new FashionMlpRanking(new[] { 128, 64 }, batch: 128, horizon: 800, train: 0, eval: 0, directory: fashionDirectory, scoreOnTestSplit: true),
                    new TokenRanking(vocabulary: 1024, dimension: 32, batch: 128, horizon: 600),
                    new AutoencoderRanking(hidden: 64, batch: 128, horizon: 600, train: 0, eval: 0, directory: fashionDirectory),
                }
                : new RankingTask[]
                {
                    new FashionMlpRanking(new[] { 32, 16 }, batch: 64, horizon: 200, train: 6000, eval: 2000, directory: fashionDirectory, scoreOnTestSplit: true),
                    new TokenRanking(vocabulary: 512, dimension: 16, batch: 64, horizon: 200),
                    new AutoencoderRanking(hidden: 16, batch: 32, horizon: 200, train: 4000, eval: 1000, directory: fashionDirectory),
                };
            bool coordinate = scale != MetaValidationScale.Full;
            Scorer = new SpeedupScorer(Tasks, _reference, Seeds, load, store, coordinateTuning: coordinate, extendEdges: extendBaselineEdges);
            DoubleTuning = new SpeedupScorer(Tasks, _reference, Seeds, load, store, tuningTrialsMultiplier: 2, coordinateTuning: coordinate, extendEdges: extendBaselineEdges);
        }

        public MetaValidationScale Scale { get; }
        public IReadOnlyList<RankingTask> Tasks { get; }
        public SpeedupScorer Scorer { get; }
        /// <summary>The same tasks with AdamW's lr grid twice as fine (for the "AdamW given twice the tuning trials" control).</summary>
        public SpeedupScorer DoubleTuning { get; }

        /// <summary>
        /// Programs tuned and scored on every task, one row each (<c>Relative</c>: β2 and weight decay read relative to AdamW
        /// tuned on each task, as a fair-start search read them, <see cref="SpeedupScorer.TaskHypers"/>), then, with
        /// <paramref name="doubleTunedAdamW"/>, the control "AdamW given twice the tuning trials". AdamW's tunings and curves
        /// come first, each task and seed a unit of its own; then each (row, task) cell is one unit, handed out one at a time
        /// over <paramref name="threads"/> threads — whole rows per thread left a core idle while the last long row finished,
        /// and every row waited on one task's tuning at a time.
        /// </summary>
        public MetaResult[] EvaluateRows(IReadOnlyList<(string Name, RuleProgram Program, bool Relative)> rows, bool doubleTunedAdamW, int threads, CancellationToken ct)
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct };
            void OneAtATime<T>(IEnumerable<T> units, Action<T> body) =>
                Parallel.ForEach(Partitioner.Create(units, EnumerablePartitionerOptions.NoBuffering), options, body);

            var scorers = doubleTunedAdamW ? new[] { Scorer, DoubleTuning } : new[] { Scorer };
            OneAtATime(scorers.SelectMany(s => Tasks.Select(t => (Scorer: s, Task: t))), u => u.Scorer.Tuned(u.Task, ct));
            OneAtATime(Tasks.SelectMany(t => Seeds.Select(seed => (Task: t, Seed: seed))), u => Scorer.Curve(u.Task, u.Seed, ct));

            int count = rows.Count + (doubleTunedAdamW ? 1 : 0);
            var cells = new MetaTaskResult[count, Tasks.Count];
            OneAtATime(Enumerable.Range(0, Tasks.Count).SelectMany(t => Enumerable.Range(0, count).Select(r => (Row: r, Task: t))), u =>
                cells[u.Row, u.Task] = u.Row < rows.Count
                    ? EvaluateTask(rows[u.Row].Program, Tasks[u.Task], rows[u.Row].Relative, ct)
                    : EvaluateDoubleTunedAdamW(Tasks[u.Task], ct));
            return Enumerable.Range(0, count).Select(r => new MetaResult(r < rows.Count ? rows[r].Name : DoubleTunedAdamWName,
                Enumerable.Range(0, Tasks.Count).Select(t => cells[r, t]).ToList())).ToArray();
        }

        public const string DoubleTunedAdamWName = "AdamW, 2x tuning trials";

        private MetaTaskResult EvaluateTask(RuleProgram program, RankingTask task, bool relativeToTuned, CancellationToken ct)
        {
            var rule = new InterpretedRule(program);
            return Summarise(Scorer.ScoreTask(rule, Scorer.TaskHypers(rule, task, relativeToTuned, ct), task, 1, null, Seeds, ct));
        }

        /// <summary>AdamW with the β2, weight decay and lr its twice-as-fine tuning chose, scored against the reference tuned the ordinary way.</summary>
        private MetaTaskResult EvaluateDoubleTunedAdamW(RankingTask task, CancellationToken ct)
        {
            var rule = new InterpretedRule(_reference);
            var tuned = DoubleTuning.Tuned(task, ct);
            return Summarise(Scorer.ScoreTask(rule, DoubleTuning.ReferenceHypers(rule, tuned), task, 1, tuned.LearningRate, Seeds, ct));
        }

        private static MetaTaskResult Summarise(RankedTaskScore s) => MetaTaskResult.FromSpeedups(s.Task, s.LearningRate, s.Speedups);
    }
}
