using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>AdamW's tuned hyperparameters on one ranking task (chosen once, over lr × weight decay × β2 × seeds).</summary>
    public sealed record TunedReference(double LearningRate, double WeightDecay, double Beta2)
    {
        public string ToText() => string.Join(",", new[] { LearningRate, WeightDecay, Beta2 }.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

        public static TunedReference Parse(string text)
        {
            var v = text.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            return new TunedReference(v[0], v[1], v[2]);
        }
    }

    /// <summary>One task's share of a ranked score: the peak learning rate chosen and the log2 speedup on each seed.</summary>
    public sealed record RankedTaskScore(string Task, double LearningRate, double Factor, IReadOnlyList<double> Speedups);

    /// <summary>A ranked score: per seed the mean log2 speedup over the tasks, and their mean − ½·standard error.</summary>
    public sealed record RankedScore(double Fitness, double Mean, double StandardError, IReadOnlyList<double> PerSeed, IReadOnlyList<RankedTaskScore> Tasks);

    /// <summary>
    /// The fitness of the ranking stage: paired, multi-seed, scale-free. AdamW is tuned once per task
    /// (peak lr on a √10 grid extended at its edges × weight decay {0, 0.01, 0.1} × β2 {0.95, 0.99, 0.999},
    /// by mean log loss over the selection seeds), and its <see cref="ReferenceCurve"/> is measured once
    /// per (task, seed); both go to the cache (the search database). A candidate gets the same protocol
    /// for its peak lr: ×{0.1, 0.32, 1, 3.2} around the lr it inherits from its parent (as a factor of
    /// AdamW's), extended while the best is on an edge; then per seed its log2 speedup, averaged over
    /// tasks, and fitness = mean − ½·SE over seeds (a lucky seed cannot carry a program).
    /// </summary>
    public sealed class SpeedupScorer
    {
        public static readonly double[] Factors = { 0.1, Math.Pow(10, -0.5), 1.0, Math.Pow(10, 0.5) };
        public static readonly double[] WeightDecays = { 0, 0.01, 0.1 };
        public static readonly double[] Beta2s = { 0.95, 0.99, 0.999 };
        /// <summary>Grid extensions beyond an edge, at most (each one √10 further).</summary>
        public const int MaxExtensions = 3;

        private readonly RuleProgram _reference;
        private readonly Func<string, string?> _load;
        private readonly Action<string, string> _store;
        private readonly ConcurrentDictionary<string, Lazy<string>> _memo = new ConcurrentDictionary<string, Lazy<string>>();

        /// <param name="load">Reads a cached value (null: absent); <paramref name="store"/> writes one.</param>
        public SpeedupScorer(IReadOnlyList<RankingTask> tasks, RuleProgram reference, IReadOnlyList<ulong> selectionSeeds,
            Func<string, string?>? load = null, Action<string, string>? store = null, double tuningTrialsMultiplier = 1, bool coordinateTuning = false,
            bool fairStart = false, bool extendEdges = false)
        {
            FairStart = fairStart;
            ExtendEdges = extendEdges;
            CoordinateTuning = coordinateTuning;
            Tasks = tasks;
            _reference = reference;
            SelectionSeeds = selectionSeeds;
            _load = load ?? (_ => null);
            _store = store ?? ((_, _) => { });
            TuningTrialsMultiplier = tuningTrialsMultiplier;
        }

        public IReadOnlyList<RankingTask> Tasks { get; }
        public IReadOnlyList<ulong> SelectionSeeds { get; }
        /// <summary>
        /// Tune AdamW one coordinate at a time (lr; then β2; then weight decay; then lr again) instead of over the full
        /// product: about a third of the runs, for the larger meta-validation tasks on a shared machine.
        /// </summary>
        public bool CoordinateTuning { get; }

        /// <summary>
        /// Candidates' β2 and weight decay are read relative to tuned AdamW on each task (<see cref="TaskHypers"/>), so the
        /// warm start is tuned AdamW itself and scores 0 instead of starting behind (run 5: −0.31).
        /// </summary>
        public bool FairStart { get; }

        /// <summary>
        /// AdamW's weight decay and β2 grids are extended past an edge the tuning ends on, as the lr grid always is (wd × √10
        /// above 0.1; 1 − β2 × or ÷ √10 beyond 0.95 or 0.999), up to <see cref="MaxExtensions"/> times each: a control for a
        /// baseline whose optimum lies outside the issue's grid. Its tunings are cached under their own keys.
        /// </summary>
        public bool ExtendEdges { get; }

        /// <summary>2: AdamW's lr grid is twice as fine (a control: "AdamW given twice the tuning trials").</summary>
        public double TuningTrialsMultiplier { get; }

        private readonly ConcurrentDictionary<string, (long runs, double seconds)> _costs = new ConcurrentDictionary<string, (long, double)>();

        /// <summary>Training runs this scorer made per task (AdamW's tuning and curves included) and their total seconds (one thread each).</summary>
        public IReadOnlyDictionary<string, (long runs, double seconds)> Costs => _costs;

        /// <summary>One training run, counted in <see cref="Costs"/>.</summary>
        private double Run(RankingTask task, FusedRule rule, float[] hypers, double peakLearningRate, int steps, ulong seed, CancellationToken ct)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double loss = task.Run(rule, hypers, peakLearningRate, steps, seed, ct);
            double seconds = clock.Elapsed.TotalSeconds;
            _costs.AddOrUpdate(task.Name, (1, seconds), (_, c) => (c.runs + 1, c.seconds + seconds));
            return loss;
        }

        private string Cached(string key, Func<string> compute) =>
            _memo.GetOrAdd(key, k => new Lazy<string>(() =>
            {
                var known = _load(k);
                if (known != null) return known;
                var value = compute();
                _store(k, value);
                return value;
            })).Value;

        /// <summary>AdamW's tuned hyperparameters on a task (tuned on first use, then cached).</summary>
        public TunedReference Tuned(RankingTask task, CancellationToken ct = default) =>
            TunedReference.Parse(Cached(TunedKey(task) + EdgesKey, () => Tune(task, ct).ToText()));

        private string TunedKey(RankingTask task) => $"adamw_tuned:{task.Name}:{TuningTrialsMultiplier}";

        /// <summary>AdamW's curve on one instance (measured on first use, then cached).</summary>
        public ReferenceCurve Curve(RankingTask task, ulong seed, CancellationToken ct = default) =>
            ReferenceCurve.Parse(Cached($"adamw_curve:{task.Name}:{TuningTrialsMultiplier}{EdgesKey}:{seed}", () =>
            {
                var tuned = Tuned(task, ct);
                var rule = new InterpretedRule(_reference);
                var hypers = ReferenceHypers(rule, tuned);
                var ladder = ReferenceCurve.Ladder(task.Horizon);
                var losses = ladder.Select(h => Run(task, rule, hypers, tuned.LearningRate, h, seed, ct)).ToArray();
                return new ReferenceCurve(task.Horizon, ladder, losses).ToText();
            }));

        /// <summary>AdamW's hyperparameters with the tuned β2 and weight decay (lr is set by the schedule).</summary>
        public float[] ReferenceHypers(FusedRule rule, TunedReference tuned)
        {
            var hypers = rule.DefaultHyperparameters();
            for (int h = 0; h < _reference.Hypers.Count; h++)
            {
                if (_reference.Hypers[h].Name == "weightDecay") hypers[h] = (float)tuned.WeightDecay;
                if (_reference.Hypers[h].Name == "beta2") hypers[h] = (float)tuned.Beta2;
            }
            return hypers;
        }

        /// <summary>
        /// A program's hyperparameters on one task: its defaults, or (<paramref name="relativeToTuned"/>, a <see cref="FairStart"/> search) the β2 and
        /// weight decay AdamW is tuned over are read relative to AdamW's defaults (0.999, 0.01), in the coordinates the
        /// mutations move them in: β2 as 1 − (1 − β2)·(1 − β2*)/(1 − 0.999) and weight decay as wd·wd*/0.01, where * is
        /// AdamW's tuned value on this task (tuned weight decay 0: max(0, wd − 0.01)). The warm start (AdamW's defaults)
        /// therefore runs exactly as tuned AdamW on every task, however the tasks' tunings differ, and a mutation of
        /// β2 or wd moves every task's value by the same step. The same reading applies in meta-validation to
        /// programs that descend from the warm start; it is never applied to an unrelated rule (Lion).
        /// </summary>
        public float[] TaskHypers(FusedRule rule, RankingTask task, bool relativeToTuned, CancellationToken ct = default)
        {
            var hypers = rule.DefaultHyperparameters();
            if (!relativeToTuned) return hypers;
            var tuned = Tuned(task, ct);
            var program = rule.Program;
            for (int h = 0; h < program.Hypers.Count; h++)
            {
                var anchor = _reference.Hypers.FirstOrDefault(x => x.Name == program.Hypers[h].Name);
                double value = program.Hypers[h].Default;
                if (anchor == null) continue;
                if (anchor.Name == "beta2") hypers[h] = (float)(1 - (1 - value) * (1 - tuned.Beta2) / (1 - anchor.Default));
                else if (anchor.Name == "weightDecay")
                    hypers[h] = (float)(tuned.WeightDecay > 0 ? value * tuned.WeightDecay / anchor.Default : Math.Max(0, value - anchor.Default));
            }
            return hypers;
        }

        private string EdgesKey => ExtendEdges ? ":edges" : "";

        private TunedReference Tune(RankingTask task, CancellationToken ct)
        {
            var rule = new InterpretedRule(_reference);
            if (!ExtendEdges) return TuneOnGrid(task, rule, ct).tuned;
            // The extension starts from the issue's grid tuning, cached under its own key: a baseline tuned on the grid before
            // (at the full scale, hours) is reused, and only its choice's objective is measured again (deterministic: the same value).
            var onGrid = TunedReference.Parse(Cached(TunedKey(task), () => TuneOnGrid(task, rule, ct).tuned.ToText()));
            return ExtendPastEdges(task, rule, (onGrid, Objective(task, rule, onGrid, ct)), ct);
        }

        /// <summary>AdamW's tuning objective at <paramref name="r"/>: mean log final loss over the selection seeds (+∞ if any diverged).</summary>
        private double Objective(RankingTask task, InterpretedRule rule, TunedReference r, CancellationToken ct)
        {
            var hypers = ReferenceHypers(rule, r);
            return MeanLogLoss(SelectionSeeds, seed => Run(task, rule, hypers, r.LearningRate, task.Horizon, seed, ct));
        }

        /// <summary>
        /// From the grid's choice and its objective, one coordinate at a time: while weight decay or
        /// β2 sits on its grid's outer edge, try one √10 step further (lr re-tuned around its value there) and keep it if better.
        /// </summary>
        private TunedReference ExtendPastEdges(RankingTask task, InterpretedRule rule, (TunedReference tuned, double objective) onGrid, CancellationToken ct)
        {
            (TunedReference tuned, double objective) WithLr(TunedReference r)
            {
                var (lr, objective) = TuneLearningRate(x => Objective(task, rule, r with { LearningRate = x }, ct), r.LearningRate, Factors);
                return (r with { LearningRate = lr }, objective);
            }
            var best = onGrid;
            double step = Math.Sqrt(10);
            var moves = new List<Func<TunedReference, TunedReference?>>
            {
                r => r.WeightDecay >= WeightDecays[^1] ? r with { WeightDecay = r.WeightDecay * step } : null,
                r => r.Beta2 <= Beta2s[0] ? r with { Beta2 = 1 - (1 - r.Beta2) * step } : null,
                r => r.Beta2 >= Beta2s[^1] ? r with { Beta2 = 1 - (1 - r.Beta2) / step } : null,
            };
            foreach (var move in moves)
                for (int extension = 0; extension < MaxExtensions; extension++)
                {
                    if (move(best.tuned) is not { } next) break;
                    var tried = WithLr(next);
                    if (!(tried.objective < best.objective)) break;
                    best = tried;
                }
            return best.tuned;
        }

        /// <summary>AdamW tuned on the issue's grid (lr extended at its edges), with the objective of the choice.</summary>
        private (TunedReference tuned, double objective) TuneOnGrid(RankingTask task, InterpretedRule rule, CancellationToken ct)
        {
            TunedReference? best = null;
            double bestObjective = double.PositiveInfinity;
            var factors = TuningTrialsMultiplier > 1
                ? Enumerable.Range(0, 2 * Factors.Length - 1).Select(i => Math.Pow(10, -1 + i * 0.25)).ToArray()
                : Factors;
            double At(TunedReference r) => Objective(task, rule, r, ct);
            if (CoordinateTuning)
            {
                var r = new TunedReference(task.BaseLearningRate, 0.01, 0.999);
                r = r with { LearningRate = TuneLearningRate(lr => At(r with { LearningRate = lr }), task.BaseLearningRate, factors).lr };
                r = Beta2s.Select(b => r with { Beta2 = b }).OrderBy(At).First();
                r = WeightDecays.Select(w => r with { WeightDecay = w }).OrderBy(At).First();
                var (lr, objective) = TuneLearningRate(lr => At(r with { LearningRate = lr }), r.LearningRate, factors);
                return (r with { LearningRate = lr }, objective);
            }
            foreach (var wd in WeightDecays)
                foreach (var beta2 in Beta2s)
                {
                    var candidate = new TunedReference(double.NaN, wd, beta2);
                    var (lr, objective) = TuneLearningRate(lr => At(candidate with { LearningRate = lr }), task.BaseLearningRate, factors);
                    if (objective < bestObjective) { bestObjective = objective; best = candidate with { LearningRate = lr }; }
                }
            // Everything diverged: the fallback's objective is +∞ like every point tried.
            return (best ?? new TunedReference(task.BaseLearningRate, WeightDecays[0], Beta2s[^1]), bestObjective);
        }

        /// <summary>
        /// The best peak learning rate on centre × factors, extended by √10 steps while the best sits on an
        /// edge (up to <see cref="MaxExtensions"/> times each way). Objective: lower is better, +∞ for divergence.
        /// </summary>
        public static (double lr, double objective) TuneLearningRate(Func<double, double> objective, double centre, IReadOnlyList<double> factors)
        {
            var tried = new SortedDictionary<double, double>();
            double Try(double f) => tried.TryGetValue(f, out var v) ? v : tried[f] = objective(centre * f);
            foreach (var f in factors) Try(f);
            double step = Math.Pow(10, 0.5);
            for (int extension = 0; extension < MaxExtensions; extension++)
            {
                var bestFactor = tried.OrderBy(kv => kv.Value).First().Key;
                if (double.IsPositiveInfinity(tried[bestFactor])) break; // everything diverged: no direction to extend in
                if (bestFactor == tried.Keys.First()) Try(bestFactor / step);
                else if (bestFactor == tried.Keys.Last()) Try(bestFactor * step);
                else break;
            }
            var best = tried.OrderBy(kv => kv.Value).First();
            return (centre * best.Key, best.Value);
        }

        /// <summary>Mean log loss over seeds, +∞ when any run diverged (lower is better).</summary>
        private static double MeanLogLoss(IReadOnlyList<ulong> seeds, Func<ulong, double> loss)
        {
            double sum = 0;
            foreach (var seed in seeds)
            {
                double l = loss(seed);
                if (double.IsNaN(l)) return double.PositiveInfinity;
                sum += Math.Log(l + 1e-12);
            }
            return sum / seeds.Count;
        }

        /// <summary>
        /// Scores a program: tunes its peak lr on the selection seeds (around the inherited factors, AdamW's
        /// lr × 1 when none) and measures the speedup on <paramref name="seeds"/> (default: the selection seeds).
        /// </summary>
        public RankedScore Score(FusedRule rule, IReadOnlyDictionary<string, double>? inheritedFactors, CancellationToken ct,
            IReadOnlyList<ulong>? seeds = null, IReadOnlyDictionary<string, double>? fixedLearningRates = null)
        {
            seeds ??= SelectionSeeds;
            var taskScores = Tasks.Select(task => ScoreTask(rule, TaskHypers(rule, task, FairStart, ct), task, inheritedFactors != null && inheritedFactors.TryGetValue(task.Name, out var f) ? f : 1,
                fixedLearningRates != null && fixedLearningRates.TryGetValue(task.Name, out var given) ? given : (double?)null, seeds, ct)).ToList();
            var perSeed = Enumerable.Range(0, seeds.Count).Select(s => taskScores.Average(t => t.Speedups[s])).ToArray();
            var (mean, se) = MeanAndStandardError(perSeed);
            return new RankedScore(mean - 0.5 * se, mean, se, perSeed, taskScores);
        }

        /// <summary>
        /// Adds <paramref name="freshSeeds"/> to a score, at the learning rates it chose on the selection seeds: fitness = mean − ½·SE
        /// over all its seeds together, so a program that won on lucky instances falls back (confirmation and racing).
        /// </summary>
        public RankedScore Extend(FusedRule rule, RankedScore score, IReadOnlyList<ulong> freshSeeds, CancellationToken ct)
        {
            if (freshSeeds.Count == 0) return score;
            var fresh = Score(rule, null, ct, freshSeeds, score.Tasks.ToDictionary(t => t.Task, t => t.LearningRate));
            var perSeed = score.PerSeed.Concat(fresh.PerSeed).ToArray();
            var (mean, se) = MeanAndStandardError(perSeed);
            var tasks = score.Tasks.Zip(fresh.Tasks, (a, b) => a with { Speedups = a.Speedups.Concat(b.Speedups).ToArray() }).ToArray();
            return new RankedScore(mean - 0.5 * se, mean, se, perSeed, tasks);
        }

        /// <summary>One task: the peak lr (given, or tuned around AdamW's × <paramref name="factor"/>) and the speedup per seed.</summary>
        public RankedTaskScore ScoreTask(FusedRule rule, float[] hypers, RankingTask task, double factor, double? learningRate, IReadOnlyList<ulong> seeds, CancellationToken ct)
        {
            double adamLr = Tuned(task, ct).LearningRate;
            var losses = new Dictionary<(double, ulong), double>(); // a tuning run at the chosen lr is the scoring run too
            double Loss(double lr, ulong seed)
            {
                if (!losses.TryGetValue((lr, seed), out var loss)) losses[(lr, seed)] = loss = Run(task, rule, hypers, lr, task.Horizon, seed, ct);
                return loss;
            }
            double lr = learningRate ?? TuneLearningRate(x => MeanLogLoss(SelectionSeeds, seed => Loss(x, seed)), adamLr * (factor > 0 && double.IsFinite(factor) ? factor : 1), Factors).lr;
            var speedups = seeds.Select(seed => Curve(task, seed, ct).Log2Speedup(Loss(lr, seed))).ToArray();
            return new RankedTaskScore(task.Name, lr, lr / adamLr, speedups);
        }

        /// <summary>Mean and standard error of the mean (0 for fewer than two values).</summary>
        public static (double mean, double standardError) MeanAndStandardError(IReadOnlyList<double> values)
        {
            double mean = values.Average();
            if (values.Count < 2) return (mean, 0);
            double variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
            return (mean, Math.Sqrt(variance / values.Count));
        }
    }
}
