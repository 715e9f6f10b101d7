using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Ir.Passes;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>The ranking stage: schedules, the sparse token task, the log2-speedup fitness and the sign-form collapse.</summary>
    public class RankingTests
    {
        [Fact]
        public void Schedule_warms_up_linearly_then_decays_by_cosine_to_zero()
        {
            var s = new LearningRateSchedule(0.5, 100, 0.1); // W = 10
            Assert.Equal(10, s.WarmupSteps);
            Assert.Equal(0.1, s.Factor(1), 15);
            Assert.Equal(1.0, s.Factor(10), 15);
            // t = 55 is half-way through the decay (45 of 90 steps): cos(π/2) = 0.
            Assert.Equal(0.5, s.Factor(55), 12);
            Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 20 / 90.0)), s.Factor(30), 12);
            Assert.Equal(0.0, s.Factor(100), 12);
        }

        [Fact]
        public void Scheduled_training_passes_lr_of_t_to_the_program()
        {
            // θ ← θ − lr·1 (gradient ignored): after T steps θ = θ₀ − peak·Σ Factor(t).
            var b = new IrBuilder();
            var sgd = ProgramNormalizer.Run(WarmStarts.AdamW());
            var unit = ProgramEdits.SetOutput(sgd, 0, b.Sub(b.Load(0), b.Hyper(LearningRateSchedule.IndexIn(sgd))));
            var task = new TokenModelTask("t", 16, 3, 4, 37, seed: 9);
            var rule = new InterpretedRule(ProgramNormalizer.Run(unit));
            var schedule = new LearningRateSchedule(0.01, 37);
            double sum = Enumerable.Range(1, 37).Sum(t => 0.01 * schedule.Factor(t));
            var hypers = rule.DefaultHyperparameters();
            double scheduled = task.Train(rule, hypers, 37, schedule, CancellationToken.None);
            hypers[LearningRateSchedule.IndexIn(rule.Program)] = (float)(sum / 37);
            double constant = task.Train(rule, hypers, 37, null, CancellationToken.None);
            Assert.Equal(constant, scheduled, 4);
            hypers[LearningRateSchedule.IndexIn(rule.Program)] = (float)(sum / 37 * 1.5);
            Assert.NotEqual(scheduled, task.Train(rule, hypers, 37, null, CancellationToken.None), 4);
        }

        [Theory]
        [InlineData(17, 5, 7, 3UL)]
        [InlineData(33, 4, 9, 11UL)]
        public void Token_model_gradient_matches_float64_finite_differences(int vocabulary, int dimension, int batch, ulong seed)
        {
            var task = new TokenModelTask("t", vocabulary, dimension, batch, 10, seed);
            var p = task.InitialParameters();
            var rng = new SearchRandom(seed + 1);
            foreach (var x in p) for (int i = 0; i < x.Length; i++) x[i] += (float)(0.3 * rng.NextGaussian());
            var g = p.Select(x => new float[x.Length]).ToArray();
            const int step = 4;
            task.GradientAt(p, g, step);
            var pairs = task.BatchPositions(step).Select(pos => (task.TrainingTokens[pos], task.TrainingTokens[pos + 1])).ToArray();
            double Loss(double[][] q)
            {
                // Independent float64 reference: mean over the batch of −log softmax(W·E[a] + b)[y].
                double total = 0;
                foreach (var (a, y) in pairs)
                {
                    var logits = new double[vocabulary];
                    for (int j = 0; j < vocabulary; j++)
                    {
                        logits[j] = q[2][j];
                        for (int k = 0; k < dimension; k++) logits[j] += q[1][j * dimension + k] * q[0][a * dimension + k];
                    }
                    double max = logits.Max();
                    double log = Math.Log(logits.Sum(l => Math.Exp(l - max))) + max;
                    total += log - logits[y];
                }
                return total / pairs.Length;
            }
            var q = p.Select(x => x.Select(v => (double)v).ToArray()).ToArray();
            for (int t = 0; t < 3; t++)
                for (int trial = 0; trial < 12; trial++)
                {
                    int i = rng.Next(q[t].Length);
                    double keep = q[t][i], h = 1e-5;
                    q[t][i] = keep + h; double up = Loss(q);
                    q[t][i] = keep - h; double down = Loss(q);
                    q[t][i] = keep;
                    double numeric = (up - down) / (2 * h);
                    Assert.True(Math.Abs(numeric - g[t][i]) < 1e-4 + 1e-3 * Math.Abs(numeric), $"tensor {t} [{i}]: {g[t][i]} vs {numeric}");
                }
            // Sparse: embedding rows of tokens outside the batch get no gradient.
            var contexts = pairs.Select(x => x.Item1).ToHashSet();
            for (int a = 0; a < vocabulary; a++)
                if (!contexts.Contains(a)) Assert.All(g[0].Skip(a * dimension).Take(dimension), v => Assert.Equal(0f, v));
        }

        [Fact]
        public void Token_corpus_successors_follow_zipf_ranks()
        {
            var task = new TokenModelTask("t", 64, 4, 8, 10, seed: 5, corpus: 200_000);
            var tokens = task.TrainingTokens;
            // Per cluster, the successor counts sorted descending should follow r^−1.1 / H (the chain's law).
            double h = Enumerable.Range(1, 64).Sum(r => Math.Pow(r, -TokenModelTask.ZipfExponent));
            for (int c = 0; c < TokenModelTask.Clusters; c++)
            {
                var counts = new int[64];
                int n = 0;
                for (int i = 0; i + 1 < tokens.Count; i++) if (tokens[i] % TokenModelTask.Clusters == c) { counts[tokens[i + 1]]++; n++; }
                var sorted = counts.OrderByDescending(x => x).ToArray();
                Assert.InRange(sorted[0] / (double)n, 0.9 / h, 1.1 / h);
                Assert.InRange(sorted[1] / (double)n, 0.85 * Math.Pow(2, -1.1) / h, 1.15 * Math.Pow(2, -1.1) / h);
            }
        }

        [Fact]
        public void Speedup_is_read_off_the_reference_envelope_in_log_steps_and_clipped()
        {
            // Horizon 100; AdamW's final losses at 25, 50, 100, 200 steps (50 is worse than 25: the envelope keeps 25's).
            var curve = new ReferenceCurve(100, new[] { 25, 50, 100, 200 }, new[] { 1.0, 1.2, 0.5, 0.25 });
            Assert.Equal(new[] { 1.0, 1.0, 0.5, 0.25 }, curve.Envelope);
            Assert.Equal(0.0, curve.Log2Speedup(0.5), 12);
            Assert.Equal(1.0, curve.Log2Speedup(0.25), 12);
            Assert.Equal(ReferenceCurve.MaxSpeedup, curve.Log2Speedup(0.2));
            Assert.Equal(ReferenceCurve.MinSpeedup, curve.Log2Speedup(1.0));
            Assert.Equal(ReferenceCurve.MinSpeedup, curve.Log2Speedup(double.NaN));
            // 0.75 lies half-way between 1.0 (at 50 steps) and 0.5 (at 100): log2 steps = 6.1439 → log2(70.71/100) = −0.5.
            Assert.Equal(-0.5, curve.Log2Speedup(0.75), 12);
            Assert.Equal(0.5, curve.Log2Speedup(0.375), 12);
            var again = ReferenceCurve.Parse(curve.ToText());
            Assert.Equal(curve.Losses, again.Losses);
            Assert.Equal(curve.Steps, again.Steps);
        }

        [Fact]
        public void Learning_rate_tuning_extends_the_grid_past_an_edge()
        {
            // Objective minimal at lr = 30 (log-parabola); grid centred on 1 ends at 3.16: two extensions reach 31.6.
            var (lr, _) = SpeedupScorer.TuneLearningRate(x => Math.Pow(Math.Log10(x / 30), 2), 1.0, SpeedupScorer.Factors);
            Assert.Equal(Math.Pow(10, 1.5), lr, 9);
            var (low, _) = SpeedupScorer.TuneLearningRate(x => Math.Pow(Math.Log10(x / 0.003), 2), 1.0, SpeedupScorer.Factors);
            Assert.Equal(Math.Pow(10, -2.5), low, 9);
            var (inside, _) = SpeedupScorer.TuneLearningRate(x => Math.Pow(Math.Log10(x / 0.35), 2), 1.0, SpeedupScorer.Factors);
            Assert.Equal(Math.Pow(10, -0.5), inside, 9);
        }

        [Fact]
        public void Mean_and_standard_error_match_the_textbook_formulas()
        {
            var v = new[] { 0.3, -0.1, 0.5, 0.2, 0.1 };
            double mean = 0.2, sd = Math.Sqrt((0.01 + 0.09 + 0.09 + 0 + 0.01) / 4);
            var (m, se) = SpeedupScorer.MeanAndStandardError(v);
            Assert.Equal(mean, m, 12);
            Assert.Equal(sd / Math.Sqrt(5), se, 12);
        }

        [Fact]
        public void AdamW_reaches_its_own_loss_in_its_own_steps_and_ascent_is_clipped_to_the_minimum()
        {
            var suite = ProxySuite.Create(ProxySuiteKind.TinyRanked);
            var store = new Dictionary<string, string>();
            var scorer = new SpeedupScorer(suite.Ranking, WarmStarts.AdamW(), suite.SelectionSeeds, k => store.TryGetValue(k, out var v) ? v : null, (k, v) => store[k] = v);
            var task = suite.Ranking[0];
            var tuned = scorer.Tuned(task);
            var adam = ProgramNormalizer.Run(WarmStarts.AdamW());
            // AdamW with the tuned β2 and weight decay as its defaults, at the tuned lr: at least as fast as itself.
            var tunedAdam = adam with
            {
                Hypers = adam.Hypers.Select(h => h.Name == "beta2" ? h with { Default = tuned.Beta2 } : h.Name == "weightDecay" ? h with { Default = tuned.WeightDecay } : h).ToEquatableArray(),
            };
            var score = scorer.Score(new InterpretedRule(tunedAdam), null, CancellationToken.None, fixedLearningRates: new Dictionary<string, double> { [task.Name] = tuned.LearningRate });
            Assert.All(score.Tasks[0].Speedups, s => Assert.InRange(s, 0.0, 0.3));
            Assert.Contains(store.Keys, k => k.StartsWith("adamw_curve:", StringComparison.Ordinal));

            var b = new IrBuilder();
            var ascent = ProgramNormalizer.Run(ProgramEdits.SetOutput(adam, 0, b.Add(b.Load(0), b.Mul(b.Hyper(0), b.Load(1)))));
            var bad = scorer.Score(new InterpretedRule(ascent), null, CancellationToken.None);
            Assert.Equal(ReferenceCurve.MinSpeedup, bad.Fitness, 12);
            Assert.True(score.Fitness > bad.Fitness + 1);
        }

        [Fact]
        public void Missing_fashion_mnist_is_a_one_line_error_not_a_synthetic_stand_in()
        {
            var dir = Path.Combine(Path.GetTempPath(), "no-fashion-" + Guid.NewGuid().ToString("N"));
            var e = Assert.Throws<FileNotFoundException>(() => ProxySuite.Create(ProxySuiteKind.Ranked, dir));
            Assert.Contains(dir, e.Message);
            Assert.Contains("dataset-fashion-mnist", e.Message);
            Assert.DoesNotContain("\n", e.Message);
            Assert.Throws<FileNotFoundException>(() => ClassifierTask.FashionMlp(new[] { 8 }, directory: dir));
            Assert.Contains("synthetic", ClassifierTask.FashionMlp(new[] { 8 }, train: 32, eval: 16, directory: dir, allowSynthetic: true).Name);
        }

        [Fact]
        public void Fashion_ranking_instances_differ_by_seed_and_repeat_for_a_seed()
        {
            if (!FashionMnist.Available(FashionMnist.DefaultDirectory, true))
            {
                Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "Fashion-MNIST must be installed on CI (dataset-fashion-mnist)");
                return;
            }
            var task = new FashionMlpRanking(new[] { 8 }, batch: 16, horizon: 30, train: 256, eval: 128);
            var rule = new InterpretedRule(ProgramNormalizer.Run(WarmStarts.AdamW()));
            var hypers = rule.DefaultHyperparameters();
            double a1 = task.Run(rule, hypers, 0.01, 30, 1, CancellationToken.None);
            double a2 = task.Run(rule, hypers, 0.01, 30, 1, CancellationToken.None);
            double b1 = task.Run(rule, hypers, 0.01, 30, 2, CancellationToken.None);
            Assert.Equal(a1, a2);
            Assert.NotEqual(a1, b1);
            Assert.InRange(a1, 0.2, Math.Log(10) * 1.5);
        }

        [Fact]
        public void Sign_of_a_positive_multiple_or_quotient_collapses_and_other_signs_stay()
        {
            var b = new IrBuilder();
            var adam = ProgramNormalizer.Run(WarmStarts.AdamW());
            var m = adam.OutputOf(2)!;
            var v = adam.OutputOf(3)!;
            var eps = b.Hyper(3);
            // Sign(3·m / (√v + ε)) → Sign(m); Sign(−3·m) and Sign(m / g) stay.
            var collapsed = Rewrite(adam, Sign(b, b.Div(b.Mul(b.Const(3f), m), b.Add(Sqrt(b, v), eps))));
            Assert.Equal(StructuralHash.Compute(Rewrite(adam, Sign(b, m))), StructuralHash.Compute(collapsed));
            var negative = Rewrite(adam, Sign(b, b.Mul(b.Const(-3f), m)));
            Assert.Equal(Op.Mul, SignArgument(negative).Op);
            var byGradient = Rewrite(adam, Sign(b, b.Div(m, b.Load(1))));
            Assert.Equal(Op.Div, SignArgument(byGradient).Op);

            // And the values agree with the uncollapsed program on random inputs, step by step.
            var original = ProgramEdits.SetOutput(adam, 0, b.Sub(b.Load(0), b.Mul(b.Hyper(0), Sign(b, b.Div(b.Mul(b.Const(3f), m), b.Add(Sqrt(b, v), eps))))));
            var expected = TestSupport.InterpreterTrajectory(Simplifier.Run(original), 37, 6, 21);
            var actual = TestSupport.InterpreterTrajectory(SignCollapse.Run(Simplifier.Run(original)), 37, 6, 21);
            for (int t = 0; t < expected.Count; t++)
                for (int i = 0; i < 37; i++) Assert.True(TestSupport.SameBits(expected[t][i], actual[t][i]), $"step {t} [{i}]");
        }

        private static Node SignArgument(RuleProgram p) => p.Nodes().Single(n => n.Op == Op.Sign)[0];
        private static Node Sign(IrBuilder b, Node x) => b.Make(Op.Sign, x);
        private static Node Sqrt(IrBuilder b, Node x) => b.Make(Op.Sqrt, x);

        private static RuleProgram Rewrite(RuleProgram p, Node update)
        {
            var b = new IrBuilder();
            return SignCollapse.Run(Simplifier.Run(ProgramEdits.SetOutput(p, 0, b.Sub(b.Load(0), b.Mul(b.Hyper(0), update)))));
        }

        [Fact]
        public void Beta_like_values_perturb_below_one_and_hyperparameters_other_than_lr_mutate()
        {
            var rng = new SearchRandom(3);
            for (int i = 0; i < 2000; i++)
            {
                double v = ProgramMutator.PerturbValue(0.999, rng);
                Assert.True(v < 1 && v > -1, $"{v}");
            }
            var mutator = new ProgramMutator();
            var adam = ProgramNormalizer.Run(WarmStarts.AdamW());
            var descriptions = Enumerable.Range(0, 400).Select(i => mutator.Mutate(adam, new SearchRandom((ulong)i)).Description).ToList();
            Assert.Contains(descriptions, d => d.StartsWith("perturb hyperparameter beta", StringComparison.Ordinal));
            Assert.Contains(descriptions, d => d.StartsWith("perturb hyperparameter weightDecay", StringComparison.Ordinal) || d.StartsWith("perturb hyperparameter eps", StringComparison.Ordinal));
            Assert.DoesNotContain(descriptions, d => d.StartsWith("perturb hyperparameter lr ", StringComparison.Ordinal));
        }
    }
}

namespace Fused.Search.Tests
{
    public class LionFormTests
    {
        [Fact]
        public void Lion_and_its_lerp_spelling_have_lion_form_and_adamw_and_signed_momentum_do_not()
        {
            var lion = ProgramNormalizer.Run(WarmStarts.Lion());
            Assert.True(LionForm.Matches(lion));
            Assert.False(LionForm.Matches(ProgramNormalizer.Run(WarmStarts.AdamW())));

            var b = new IrBuilder();
            var m = b.Load(2);
            var g = b.Load(1);
            // θ − lr·(Sign(Lerp(m, g, 0.1)) + 0.01·θ), m ← Lerp(m, g, 0.01): Lion written with Lerps and constants.
            var lerpLion = ProgramEdits.SetOutput(ProgramEdits.SetOutput(lion, 2, b.Lerp(m, g, b.Const(0.01f))), 0,
                b.Sub(b.Load(0), b.Mul(b.Hyper(0), b.Add(b.Make(Op.Sign, b.Lerp(m, g, b.Const(0.1f))), b.Mul(b.Const(0.01f), b.Load(0))))));
            Assert.True(LionForm.Matches(ProgramNormalizer.Run(lerpLion)));
            // Sign of the momentum alone (signum): not Lion's form; nor a Sign of a nonlinear mix.
            var signum = ProgramEdits.SetOutput(lion, 0, b.Sub(b.Load(0), b.Mul(b.Hyper(0), b.Make(Op.Sign, m))));
            Assert.False(LionForm.Matches(ProgramNormalizer.Run(signum)));
            var nonlinear = ProgramEdits.SetOutput(lion, 0, b.Sub(b.Load(0), b.Mul(b.Hyper(0), b.Make(Op.Sign, b.Add(m, b.Mul(g, g))))));
            Assert.False(LionForm.Matches(ProgramNormalizer.Run(nonlinear)));
        }
    }
}
