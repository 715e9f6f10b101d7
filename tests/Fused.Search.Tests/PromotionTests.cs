using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>Racing into the top k on fresh seeds, the validation gate, and the run-7 and run-8 ranking and validation tasks.</summary>
    public class PromotionTests
    {
        /// <summary>
        /// A noisy quadratic ½·mean((θ − c)²), θ₀ ~ N(0, 1), gradient (θ − c) + N(0, ½²) per step, all drawn from the seed. Weight
        /// decay pulls θ toward 0: it helps when c = 0 and drags θ off the optimum when c = 3. So a program with a huge weight
        /// decay wins the first (as a ranking task) and loses the second (as a validation task): selection and validation disagree
        /// by construction, not by anything the code under test computes.
        /// </summary>
        private sealed class CentredQuadratic : RankingTask
        {
            private readonly double _centre;

            public CentredQuadratic(double centre) : base($"centred-quadratic(c{centre})", horizon: 40, baseLearningRate: 0.05) => _centre = centre;

            protected override TensorTask Create(ulong seed) => new Draw(Name, _centre, seed);

            private sealed class Draw : TensorTask
            {
                private const int Dimension = 16;
                private readonly float _centre;
                private readonly ulong _seed;
                private readonly List<(ShapeInfo, float[])> _parameters;

                public Draw(string name, double centre, ulong seed)
                {
                    Name = name;
                    _centre = (float)centre;
                    _seed = seed;
                    _parameters = new List<(ShapeInfo, float[])> { (ShapeInfo.Vector(Dimension), Gaussian(new SearchRandom(seed), Dimension, 1.0)) };
                }

                public override string Name { get; }
                public override int Steps => 40;
                public override double BaseLearningRate => 0.05;
                protected override IReadOnlyList<(ShapeInfo shape, float[] init)> Parameters => _parameters;

                protected override void Gradient(float[][] p, float[][] g, int step)
                {
                    var noise = new SearchRandom(_seed * 7919 + (ulong)step);
                    for (int i = 0; i < Dimension; i++) g[0][i] = p[0][i] - _centre + (float)(0.5 * noise.NextGaussian());
                }

                protected override double Loss(float[][] p) => p[0].Average(v => 0.5 * ((double)v - _centre) * ((double)v - _centre));
            }
        }

        private static SpeedupScorer Scorer(RankingTask task, IReadOnlyList<ulong> seeds, Dictionary<string, string> cache) => Scorer(new[] { task }, seeds, cache);

        private static SpeedupScorer Scorer(RankingTask[] tasks, IReadOnlyList<ulong> seeds, Dictionary<string, string> cache) =>
            new SpeedupScorer(tasks, WarmStarts.AdamW(), seeds, k => { lock (cache) return cache.TryGetValue(k, out var v) ? v : null; },
                (k, v) => { lock (cache) cache[k] = v; }, coordinateTuning: true, fairStart: true);

        private static RuleProgram WithWeightDecay(double value)
        {
            var p = ProgramNormalizer.Run(WarmStarts.AdamW());
            return p with { Hypers = p.Hypers.Select(h => h.Name == "weightDecay" ? h with { Default = value } : h).ToEquatableArray() };
        }

        private static (Promotion promotion, SpeedupScorer selection) Gate(PromotionSettings settings, double validationCentre = 3)
        {
            var cache = new Dictionary<string, string>();
            var selection = Scorer(new CentredQuadratic(0), new ulong[] { 1, 2, 3 }, cache);
            var validation = Scorer(new CentredQuadratic(validationCentre), ProxySuite.ValidationSeeds, cache);
            return (new Promotion(selection, validation, settings), selection);
        }

        [Fact]
        public void A_new_ranked_search_extends_its_baselines_grid_edges_unless_told_otherwise_and_a_database_without_the_setting_keeps_the_fixed_grid()
        {
            string dir = Path.Combine(Path.GetTempPath(), "fused-grid-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                foreach (var (extend, stored) in new[] { (true, "extended"), (false, "fixed") })
                {
                    var options = new SearchOptions { DatabasePath = Path.Combine(dir, stored + ".db"), Proxies = ProxySuiteKind.TinyRanked, MaxGenerations = 0, Threads = 1, ExtendBaselineEdges = extend };
                    using (var session = SearchSession.Open(options))
                    {
                        Assert.Equal(stored, session.Database.GetMeta("baseline_grid"));
                        Assert.Equal(extend, session.Funnel.Scorer!.ExtendEdges);
                        if (session.Promotion?.Validation is { } validation) Assert.Equal(extend, validation.ExtendEdges);
                        Assert.Empty(session.SettingsDifferingFrom(options));
                        Assert.Contains(session.SettingsDifferingFrom(options with { ExtendBaselineEdges = !extend }), d => d.StartsWith("--baseline-grid", StringComparison.Ordinal));
                    }
                }
                string old = Path.Combine(dir, "extended.db");
                using (var db = new Fused.Search.Storage.SearchDatabase(old)) db.SetMeta(new Dictionary<string, string> { ["baseline_grid"] = "" });
                using (var resumed = SearchSession.Resume(old, maxGenerations: 0)) Assert.False(resumed.Funnel.Scorer!.ExtendEdges);
            }
            finally { Directory.Delete(dir, recursive: true); }
        }

        /// <summary>
        /// The baseline control of meta-validation: where AdamW's best weight decay lies past the issue's grid {0, 0.01, 0.1}
        /// (centred at 0, decay pulls towards the optimum), extended edges carry it there and the tuning objective improves;
        /// the plain grid stops on its edge. Where decay hurts (centred at 3) the extension leaves weight decay inside the grid.
        /// </summary>
        [Fact]
        public void Extended_edges_carry_AdamWs_weight_decay_past_the_grid_only_when_its_optimum_lies_beyond()
        {
            var seeds = new ulong[] { 11, 12, 13 };
            var helps = new CentredQuadratic(0);
            SpeedupScorer Tuner(RankingTask task, bool edges) => new SpeedupScorer(new[] { task }, WarmStarts.AdamW(), seeds, coordinateTuning: true, extendEdges: edges);
            var plain = Tuner(helps, false).Tuned(helps);
            var extended = Tuner(helps, true).Tuned(helps);
            Assert.Equal(SpeedupScorer.WeightDecays[^1], plain.WeightDecay);
            Assert.True(extended.WeightDecay > SpeedupScorer.WeightDecays[^1], $"extended tuning kept {extended}");

            // Independently of the tuner: mean log final loss over the seeds, AdamW at each tuning's own hyperparameters.
            var rule = new InterpretedRule(WarmStarts.AdamW());
            double MeanLogLoss(TunedReference r)
            {
                var hypers = Tuner(helps, false).ReferenceHypers(rule, r);
                return seeds.Average(seed => Math.Log(helps.Run(rule, hypers, r.LearningRate, helps.Horizon, seed, CancellationToken.None) + 1e-12));
            }
            Assert.True(MeanLogLoss(extended) < MeanLogLoss(plain), $"{extended} is not better than {plain}");

            var hurts = new CentredQuadratic(3);
            Assert.True(Tuner(hurts, true).Tuned(hurts).WeightDecay <= SpeedupScorer.WeightDecays[^1]);
        }

        /// <summary>
        /// The extension starts from the grid tuning kept under the plain grid's key: a baseline tuned on the grid before (the
        /// full scale's hours) is not tuned again. From that cache it reaches the same tuning as from nothing, with exactly the
        /// grid's training runs fewer, whether the extension moves (decay helps) or not (decay hurts).
        /// </summary>
        [Theory]
        [InlineData(0.0)]
        [InlineData(3.0)]
        public void Extended_edges_start_from_a_cached_grid_tuning_without_tuning_the_grid_again(double centre)
        {
            var seeds = new ulong[] { 11, 12, 13 };
            var task = new CentredQuadratic(centre);
            SpeedupScorer Tuner(Dictionary<string, string> cache, bool edges) =>
                new SpeedupScorer(new[] { task }, WarmStarts.AdamW(), seeds, k => cache.TryGetValue(k, out var v) ? v : null, (k, v) => cache[k] = v, coordinateTuning: true, extendEdges: edges);

            var fromNothing = Tuner(new Dictionary<string, string>(), edges: true);
            var expected = fromNothing.Tuned(task);

            var shared = new Dictionary<string, string>();
            var grid = Tuner(shared, edges: false);
            grid.Tuned(task);
            var fromGrid = Tuner(shared, edges: true);
            Assert.Equal(expected, fromGrid.Tuned(task));
            Assert.Equal(fromNothing.Costs[task.Name].runs - grid.Costs[task.Name].runs, fromGrid.Costs[task.Name].runs);
        }

        [Fact]
        public void The_gate_refuses_a_selection_winner_that_loses_validation_and_admits_one_that_does_not()
        {
            var (promotion, selection) = Gate(PromotionSettings.Default with { RaceTop = 1, MaxSeeds = 3 });
            var decaying = WithWeightDecay(10);
            var score = selection.Score(new InterpretedRule(decaying), null, CancellationToken.None);
            Assert.True(score.Fitness > 0.1, $"the fixture's ranking task should reward decay: selection fitness {score.Fitness:F3}");

            var refused = promotion.Decide(decaying, score, Array.Empty<ulong>(), double.NegativeInfinity, incumbent: 0, CancellationToken.None);
            Assert.NotNull(refused.Validation);
            Assert.True(refused.Refused, $"validation {refused.Validation!.Fitness:F3} should fail the gate −0.05");
            Assert.True(refused.Validation.Fitness < -0.05);
            Assert.Equal(Math.Min(score.Fitness, refused.Validation.Fitness), refused.Fitness);
            Assert.True(refused.Fitness < 0, "a refused candidate must not outrank the incumbent");

            // The same candidate against a validation task where decay helps too (c = 0, the validation seeds): admitted.
            var (agreeing, _) = Gate(PromotionSettings.Default with { RaceTop = 1, MaxSeeds = 3 }, validationCentre: 0);
            var admitted = agreeing.Decide(decaying, score, Array.Empty<ulong>(), double.NegativeInfinity, incumbent: 0, CancellationToken.None);
            Assert.False(admitted.Refused, $"validation {admitted.Validation!.Fitness:F3}");
            Assert.True(admitted.Validation!.Fitness >= -0.05);
            Assert.Equal(score.Fitness, admitted.Fitness);

            // Not above the incumbent: not gated at all (the gate's cost goes to would-be bests only).
            var below = promotion.Decide(decaying, score, Array.Empty<ulong>(), double.NegativeInfinity, incumbent: score.Fitness + 1, CancellationToken.None);
            Assert.Null(below.Validation);
            Assert.Equal(score.Fitness, below.Fitness);
        }

        [Fact]
        public void The_gate_refuses_a_would_be_best_that_loses_more_than_the_floor_on_one_validation_task_whatever_the_mean()
        {
            // Validation on two tasks: one where decay helps (c = 0), one where it hurts (c = 3). The gate on the mean is set so
            // low that it passes anything; the one losing task alone must refuse the candidate.
            var cache = new Dictionary<string, string>();
            var selection = Scorer(new CentredQuadratic(0), new ulong[] { 1, 2, 3 }, cache);
            var validation = Scorer(new RankingTask[] { new CentredQuadratic(0), new CentredQuadratic(3) }, ProxySuite.ValidationSeeds, cache);
            var promotion = new Promotion(selection, validation, PromotionSettings.Default with { RaceTop = 1, MaxSeeds = 3, ValidationGate = -10 });
            var decaying = WithWeightDecay(10);
            var score = selection.Score(new InterpretedRule(decaying), null, CancellationToken.None);

            var outcome = promotion.Decide(decaying, score, Array.Empty<ulong>(), double.NegativeInfinity, incumbent: 0, CancellationToken.None);
            var perTask = outcome.Validation!.Tasks.ToDictionary(t => t.Task, t => t.Speedups.Average());
            Assert.True(perTask["centred-quadratic(c3)"] < MetaResult.TaskFloor, $"the fixture's second task should punish decay: {perTask["centred-quadratic(c3)"]:F3}");
            Assert.True(perTask["centred-quadratic(c0)"] > 0, $"and its first reward it: {perTask["centred-quadratic(c0)"]:F3}");
            Assert.True(outcome.Validation.Fitness >= -10);
            Assert.True(outcome.Refused);
            Assert.True(outcome.Fitness <= perTask.Values.Min(), "a refused candidate is stored at or below its worst validation task");
            Assert.True(outcome.Fitness < 0, "so it cannot outrank the incumbent");
        }

        [Fact]
        public void Racing_adds_fresh_seeds_only_to_top_entrants_and_refits_mean_minus_half_se_over_all_of_them()
        {
            var settings = new PromotionSettings(RaceTop: 2, RaceSeeds: 2, MaxSeeds: 7, ValidationGate: null);
            var (promotion, selection) = Gate(settings);
            var program = WithWeightDecay(0.02);
            var score = selection.Score(new InterpretedRule(program), null, CancellationToken.None);
            var fresh = new ulong[] { 1001, 1002, 1003, 1004, 1005 };

            var outside = promotion.Decide(program, score, fresh, topEntry: score.Fitness + 0.01, incumbent: double.PositiveInfinity, CancellationToken.None);
            Assert.Same(score, outside.Selection);
            Assert.Equal(3, outside.Selection.PerSeed.Count);

            var entrant = promotion.Decide(program, score, fresh, topEntry: double.NegativeInfinity, incumbent: double.PositiveInfinity, CancellationToken.None);
            Assert.Equal(7, entrant.Selection.PerSeed.Count); // 3 + 2 + 2, capped by MaxSeeds before the pool runs out
            Assert.Equal(score.PerSeed, entrant.Selection.PerSeed.Take(3));
            // The fitness over all seeds, from the textbook formulas in float64.
            var all = entrant.Selection.PerSeed;
            double mean = all.Average();
            double se = Math.Sqrt(all.Sum(v => (v - mean) * (v - mean)) / (all.Count - 1) / all.Count);
            Assert.Equal(mean - 0.5 * se, entrant.Fitness, 12);
            Assert.Null(entrant.Validation); // no gate configured
            // The added seeds are real instances: not copies of the selection seeds' speedups.
            Assert.NotEqual(all.Skip(3).ToArray(), all.Take(4).ToArray());
        }

        [Fact]
        public void Top_entry_is_the_kth_best_fitness_and_minus_infinity_while_the_population_is_smaller()
        {
            var promotion = new Promotion(Gate(PromotionSettings.Default).selection, null, PromotionSettings.Default with { RaceTop = 2 });
            Assert.Equal(0.3, promotion.TopEntry(new[] { 0.1, 0.5, -1, 0.3 }));
            Assert.Equal(double.NegativeInfinity, promotion.TopEntry(new[] { 0.4 }));
            Assert.False(promotion.Gates);
        }

        [Fact]
        public void A_steady_state_search_stores_its_promotion_settings_gates_its_best_and_reports_other_settings_on_resume()
        {
            var db = Path.Combine(Path.GetTempPath(), "fused-search-promotion-" + Guid.NewGuid().ToString("N") + ".db");
            try
            {
                var settings = new PromotionSettings(RaceTop: 3, RaceSeeds: 2, MaxSeeds: 5, ValidationGate: -0.5);
                var options = WorkerProgram.SteadyOptions(db, 5, 2, TimeSpan.FromSeconds(60)) with { Promotion = settings, Threads = 2 };
                using (var s = SearchSession.Open(options))
                {
                    s.Run();
                    Assert.Equal(settings, s.Promotion!.Settings);
                    Assert.True(s.Promotion.Gates);
                    // Every program that is the best was gated and passed; a refused one is stored at or below its validation fitness.
                    var best = s.Database.Best()!;
                    var record = s.Database.GetMeta(Promotion.MetaKey(best.FunctionalHash));
                    Assert.NotNull(record);
                    Assert.EndsWith("passed", record);
                    Assert.True(double.Parse(record!.Split(';')[1], CultureInfo.InvariantCulture) >= -0.5);
                    foreach (var e in s.Database.Evaluations())
                        if (s.Database.GetMeta(Promotion.MetaKey(e.FunctionalHash)) is { } r && r.EndsWith("refused", StringComparison.Ordinal))
                            Assert.True(e.Fitness <= double.Parse(r.Split(';')[1], CultureInfo.InvariantCulture));
                    // Raced evaluations carry one more stage score; none exceeds the seed cap (checked through the stored record of the best).
                    Assert.InRange(int.Parse(record.Split(';')[2], CultureInfo.InvariantCulture), 3, 5);
                }
                using (var s = SearchSession.Open(options with { Promotion = PromotionSettings.Default }))
                {
                    Assert.Equal(settings, s.Promotion!.Settings); // a resume keeps what the search was created with
                    var notes = s.SettingsDifferingFrom(options with { Promotion = PromotionSettings.Default });
                    Assert.Contains(notes, n => n.StartsWith("--race-top 5 differs from the stored 3", StringComparison.Ordinal));
                    Assert.Contains(notes, n => n.StartsWith("--validation-gate", StringComparison.Ordinal));
                }
            }
            finally
            {
                foreach (var f in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(db) + "*")) File.Delete(f);
            }
        }

        [Fact]
        public void Campaign_and_ranked_take_the_promotion_flags_after_the_positional_arguments()
        {
            var p = Experiments.PromotionOptions(new[] { "campaign", "30", "x.db", "7", "--race-top", "4", "--max-seeds", "12", "--no-validation-gate" }, out var positional);
            Assert.Equal(new[] { "campaign", "30", "x.db", "7" }, positional);
            Assert.Equal(new PromotionSettings(4, PromotionSettings.Default.RaceSeeds, 12, null), p);
            Assert.Equal(PromotionSettings.Default with { ValidationGate = -0.1 }, Experiments.PromotionOptions(new[] { "ranked", "--validation-gate", "-0.1" }, out _));
            Assert.Equal(new PromotionSettings(5, 3, 9, -0.05), Experiments.PromotionOptions(new[] { "ranked" }, out _)); // the documented defaults

            // A mistyped flag is one line and exit code 2, before anything runs.
            var output = new StringWriter();
            Assert.Equal(2, Experiments.Campaign(new[] { "campaign", "1", "x.db", "7", "2", "TinyRanked", "smoke", "2", "--race-top" }, output));
            Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(2, Experiments.Ranked(new[] { "ranked", "1", "x.db", "--racetop", "3" }, new StringWriter()));
        }

        [Theory]
        [InlineData(ProxySuiteKind.RankedValidated, 2)]
        [InlineData(ProxySuiteKind.RankedWideValidation, 4)]
        public void Run_7_and_8_ranking_and_validation_tasks_repeat_for_a_seed_and_resample_per_seed(ProxySuiteKind kind, int validationTasks)
        {
            if (!FashionMnist.Available(FashionMnist.DefaultDirectory, true))
            {
                Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "Fashion-MNIST must be installed on CI (dataset-fashion-mnist)");
                return;
            }
            var suite = ProxySuite.Create(kind);
            Assert.Equal(3, suite.Ranking.Count);
            Assert.Equal(validationTasks, suite.Validation.Count);
            // None of them is a frozen meta-validation task, and the two sets do not overlap.
            var frozen = Enum.GetValues<MetaValidationScale>().SelectMany(s => new MetaValidation(s).Tasks.Select(t => t.Name)).ToHashSet();
            foreach (var t in suite.Ranking.Concat(suite.Validation)) Assert.DoesNotContain(t.Name, frozen);
            Assert.Empty(suite.Ranking.Select(t => t.Name).Intersect(suite.Validation.Select(t => t.Name)));
            Assert.Empty(suite.SelectionSeeds.Intersect(ProxySuite.ValidationSeeds).Concat(SearchSession.ConfirmationPool.Intersect(ProxySuite.ValidationSeeds)));

            var rule = new InterpretedRule(ProgramNormalizer.Run(WarmStarts.AdamW()));
            var hypers = rule.DefaultHyperparameters();
            var fresh = ProxySuite.Create(kind); // other task objects: no shared instance cache
            foreach (var (task, again) in suite.Ranking.Concat(suite.Validation).Zip(fresh.Ranking.Concat(fresh.Validation)))
            {
                // 0 steps: the loss of the initialisation on the scoring sample; 12 steps: training data and shuffling too.
                double Loss(RankingTask t, int steps, ulong seed) => t.Run(rule, hypers, 0.01, steps, seed, CancellationToken.None);
                Assert.Equal(Loss(task, 12, 1), Loss(again, 12, 1));
                Assert.NotEqual(Loss(task, 0, 1), Loss(task, 0, 2));
                Assert.NotEqual(Loss(task, 12, 1), Loss(task, 12, 2));
                Assert.True(double.IsFinite(Loss(task, 12, 3)), task.Name);
            }
        }
    }
}
