using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>The fair start: a program's β2 and weight decay are read relative to AdamW tuned on each task.</summary>
    public class FairStartTests
    {
        private static int Index(RuleProgram p, string name) => p.Hypers.Select((h, i) => (h, i)).First(x => x.h.Name == name).i;

        private static RuleProgram WithDefault(RuleProgram p, string name, double value) =>
            p with { Hypers = p.Hypers.Select(h => h.Name == name ? h with { Default = value } : h).ToEquatableArray() };

        [Fact]
        public void Beta2_and_weight_decay_are_read_relative_to_the_tuned_values_in_mutation_coordinates()
        {
            var suite = ProxySuite.Create(ProxySuiteKind.TinyRanked);
            var task = suite.Ranking[0];
            // A cached tuning (as a search database holds it): lr 0.02, wd 0.1, β2 0.95; a second task-less case below with wd 0.
            var store = new Dictionary<string, string> { [$"adamw_tuned:{task.Name}:1"] = "0.02,0.1,0.95" };
            var fair = new SpeedupScorer(suite.Ranking, WarmStarts.AdamW(), suite.SelectionSeeds, k => store.TryGetValue(k, out var v) ? v : null, (k, v) => store[k] = v, fairStart: true);
            var warm = ProgramNormalizer.Run(WarmStarts.AdamW());
            int b2 = Index(warm, "beta2"), wd = Index(warm, "weightDecay"), b1 = Index(warm, "beta1");

            var h = fair.TaskHypers(new InterpretedRule(warm), task, relativeToTuned: true);
            Assert.Equal(0.95f, h[b2]);
            Assert.Equal(0.1f, h[wd]);
            Assert.Equal(0.9f, h[b1]); // not tuned by AdamW's protocol: untouched

            // β2 0.99 is (1 − β2) ten times AdamW's default: ten times the tuned 0.05 → 0.5. wd 0.04 is four times 0.01 → 0.4.
            var mutant = WithDefault(WithDefault(warm, "beta2", 0.99), "weightDecay", 0.04);
            var m = fair.TaskHypers(new InterpretedRule(mutant), task, relativeToTuned: true);
            Assert.Equal(0.5f, m[b2], 5);
            Assert.Equal(0.4f, m[wd], 5);
            // Raw defaults when not relative.
            Assert.Equal(0.99f, fair.TaskHypers(new InterpretedRule(mutant), task, relativeToTuned: false)[b2]);

            // Tuned weight decay 0: only the excess over AdamW's default decays.
            store[$"adamw_tuned:{task.Name}:1"] = "0.02,0,0.999";
            var zero = new SpeedupScorer(suite.Ranking, WarmStarts.AdamW(), suite.SelectionSeeds, k => store.TryGetValue(k, out var v) ? v : null, (k, v) => store[k] = v, fairStart: true);
            Assert.Equal(0f, zero.TaskHypers(new InterpretedRule(warm), task, true)[wd]);
            Assert.Equal(0.03f, zero.TaskHypers(new InterpretedRule(mutant), task, true)[wd], 6);
            Assert.Equal(0.99f, zero.TaskHypers(new InterpretedRule(mutant), task, true)[b2], 6);
        }

        [Fact]
        public void Warm_start_scores_within_noise_of_zero_against_tuned_AdamW()
        {
            var suite = ProxySuite.Create(ProxySuiteKind.TinyRanked);
            var task = suite.Ranking[0];
            var store = new Dictionary<string, string>();
            SpeedupScorer Scorer(bool fairStart) => new SpeedupScorer(suite.Ranking, WarmStarts.AdamW(), suite.SelectionSeeds,
                k => { lock (store) return store.TryGetValue(k, out var v) ? v : null; }, (k, v) => { lock (store) store[k] = v; }, fairStart: fairStart);
            var fair = Scorer(true);
            var tuned = fair.Tuned(task);
            // Meaningful only where tuning moved AdamW off its defaults (otherwise the fair start changes nothing).
            Assert.True(tuned.Beta2 != 0.999 || tuned.WeightDecay != 0.01, $"tuned AdamW kept its defaults here: {tuned}");

            var warm = new InterpretedRule(ProgramNormalizer.Run(WarmStarts.AdamW()));
            var score = fair.Score(warm, null, CancellationToken.None);
            Assert.InRange(score.Mean, -Math.Max(0.05, 2 * score.StandardError), Math.Max(0.05, 2 * score.StandardError));
            Assert.Equal(tuned.LearningRate, score.Tasks[0].LearningRate, 6);

            // The same warm start with its raw defaults (the search before the fair start) starts behind.
            var raw = Scorer(false).Score(warm, null, CancellationToken.None);
            Assert.True(raw.Mean < score.Mean - 0.05, $"raw defaults {raw.Mean:F3} vs fair {score.Mean:F3}");
        }
    }
}
