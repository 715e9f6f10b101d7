using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;
using Xunit;

namespace Fused.Search.Tests
{
    public class FunnelTests
    {
        [Fact]
        public void The_reference_scores_zero_and_gradient_ascent_scores_worst()
        {
            var suite = ProxySuite.Create(ProxySuiteKind.Cheap);
            var funnel = new EvaluationFunnel(suite, WarmStarts.AdamW());
            var adam = funnel.Evaluate(ProgramNormalizer.Run(WarmStarts.AdamW()), CancellationToken.None);
            Assert.Equal(0.0, adam.Fitness, 12);
            Assert.All(adam.Tasks, t => Assert.True(double.IsFinite(t.Loss)));

            var b = new IrBuilder();
            var adamProgram = ProgramNormalizer.Run(WarmStarts.AdamW());
            var ascent = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(adamProgram, 0, b.Add(b.Load(0), b.Mul(b.Hyper(0), b.Load(1)))));
            var bad = funnel.Evaluate(ascent, CancellationToken.None);
            Assert.True(bad.Fitness < -1, $"ascent fitness {bad.Fitness}");
        }

        [Fact]
        public void Funnel_gates_on_cheap_stages_and_ranks_by_the_last()
        {
            var suite = ProxySuite.Create(ProxySuiteKind.Standard);
            var funnel = new EvaluationFunnel(suite, WarmStarts.AdamW());
            var b = new IrBuilder();
            var adamProgram = ProgramNormalizer.Run(WarmStarts.AdamW());
            var ascent = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(adamProgram, 0, b.Add(b.Load(0), b.Mul(b.Hyper(0), b.Load(1)))));
            var r = funnel.Evaluate(ascent, CancellationToken.None);
            Assert.Equal(1, r.StagesReached);
            Assert.Equal(EvaluationFunnel.MinScore - 2, r.Fitness, 12);
            // A program that passes every gate is ranked by the last stage alone.
            var lion = funnel.Evaluate(ProgramNormalizer.Run(WarmStarts.Lion()), CancellationToken.None);
            Assert.Equal(3, lion.StagesReached);
            Assert.Equal(lion.StageScores[2], lion.Fitness);
        }

        [Fact]
        public void The_reference_is_tuned_inside_the_grid_of_the_ranking_stage_and_Lion_passes_the_gates()
        {
            // If AdamW's best learning rate sat at the edge of the grid, a candidate could win by
            // merely scaling its step: learning-rate tuning, not a better rule.
            var funnel = new EvaluationFunnel(ProxySuite.Create(ProxySuiteKind.Standard), WarmStarts.AdamW());
            var adam = new InterpretedRule(ProgramNormalizer.Run(WarmStarts.AdamW()));
            var task = funnel.Suite.Stages[^1].Tasks.Single();
            var (_, lr) = EvaluationFunnel.BestLoss(adam, task, funnel.LearningRateFactors, CancellationToken.None);
            Assert.True(lr > task.BaseLearningRate * funnel.LearningRateFactors[0] * 1.01 && lr < task.BaseLearningRate * funnel.LearningRateFactors[^1] / 1.01,
                $"{task.Name}: AdamW's best lr {lr} is at the edge of the grid");
            // The rule the search should be able to rediscover is not filtered out by the cheap stages.
            var lion = funnel.Evaluate(ProgramNormalizer.Run(WarmStarts.Lion()), CancellationToken.None);
            Assert.Equal(funnel.Suite.Stages.Count, lion.StagesReached);
        }

        [Fact]
        public void Sanity_gate_rejects_division_without_epsilon_and_admits_AdamW_and_Lion()
        {
            Assert.True(SanityCheck.Passes(new InterpretedRule(ProgramNormalizer.Run(WarmStarts.AdamW()))));
            Assert.True(SanityCheck.Passes(new InterpretedRule(ProgramNormalizer.Run(WarmStarts.Lion()))));
            // AdamW with ε removed: m / √v is 0/0 wherever the gradient has always been zero.
            var b = new IrBuilder();
            var adam = ProgramNormalizer.Run(WarmStarts.AdamW());
            var noEps = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(adam, 0,
                b.Sub(b.Load(0), b.Mul(b.Hyper(0), b.Div(adam.OutputOf(2)!, b.Make(Op.Sqrt, adam.OutputOf(3)!))))));
            Assert.Null(ProgramValidity.Check(noEps, SearchLimits.Default));
            Assert.False(SanityCheck.Passes(new InterpretedRule(noEps)));
            var funnel = new EvaluationFunnel(ProxySuite.Create(ProxySuiteKind.Standard), WarmStarts.AdamW());
            var r = funnel.Evaluate(noEps, CancellationToken.None);
            Assert.Equal(0, r.StagesReached);
            Assert.Equal(EvaluationFunnel.MinScore - 3, r.Fitness);
        }

        [Fact]
        public void Evaluation_is_deterministic()
        {
            var funnel = new EvaluationFunnel(ProxySuite.Create(ProxySuiteKind.Cheap), WarmStarts.AdamW());
            var lion = ProgramNormalizer.Run(WarmStarts.Lion());
            var a = funnel.Evaluate(lion, CancellationToken.None);
            var c = funnel.Evaluate(lion, CancellationToken.None);
            Assert.Equal(a.Fitness, c.Fitness);
            Assert.Equal(a.Tasks.Select(t => t.Loss), c.Tasks.Select(t => t.Loss));
        }

        [Fact]
        public void Fashion_mnist_loads_from_the_debian_files_when_installed()
        {
            if (!FashionMnist.Available(FashionMnist.DefaultDirectory, train: true))
            {
                // Without the package the MLP stage falls back to synthetic clusters; check that path instead.
                var task = ClassifierTask.FashionMlp(new[] { 8 }, train: 64, eval: 32, steps: 5);
                Assert.Contains("synthetic", task.Name);
                return;
            }
            var data = FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, limit: 100);
            Assert.Equal(100, data.Count);
            Assert.Equal(196, data.FeatureCount);
            Assert.All(data.Labels, l => Assert.InRange(l, 0, 9));
            Assert.InRange(data.Features.Max(), 0.5f, 1f);
            Assert.Equal(10, data.Labels.Distinct().Count());
        }
    }
}
