using System;
using System.Linq;
using Fused.Catalog;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Engine;
using Fused.Runtime.Tests.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Faults
{
    /// <summary>
    /// A step is all or nothing with faults injected into every stage a backend runs (issue 17, item 1): the start of a
    /// wave, a matrix stage, an element pass, and the end of the step (after the executor stored scalar and row/column
    /// states). Under <see cref="StepJournal.AllGroups"/> any fault is undone bit for bit; under the default, a fault in a
    /// group with matrix stages is.
    /// </summary>
    public class InjectedFaultTests
    {
        // Muon (matrix stages, element state), Adafactor (row and column states), HyperBall-AdamW (scalar states).
        private static EngineTestModel Model() => new EngineTestModel()
            .Add("h0.weight", 24, 16).Add("h1.weight", 16, 16).Add("f0.weight", 12, 10).Add("f1.weight", 8, 10).Add("bias", 24).Add("scale", 16);

        private static FusedOptimizer Build(EngineTestModel model, StepJournal journal, string? faultGroup = null, string member = "", int n = 0)
        {
            var b = model.Builder()
                .Route("muon", p => p.Name.StartsWith("h", StringComparison.Ordinal), Muon.Rule, g => g.Set("lr", 1e-2f))
                .Route("factored", p => p.Name.StartsWith("f", StringComparison.Ordinal), Adafactor.Rule)
                .Route("ball", p => p.Rank == 1, HyperBallAdamW.Rule)
                .WaveElements(200).JournalSteps(journal).Seed(3).Threads(2);
            if (faultGroup != null) b.WrapBackends((name, backend) => name == faultGroup ? new FaultyBackend(backend, member, n) : backend);
            return b.Build();
        }

        /// <summary>
        /// Steps the faulty optimizer and a fault-free reference side by side: the one failed step must leave everything
        /// as before and name the group; retried, the run must stay bit-identical to the reference.
        /// </summary>
        private static void RunBesideReference(StepJournal journal, string group, string member, int n, int steps)
        {
            var model = Model();
            var reference = Model();
            using var optimizer = Build(model, journal, group, member, n);
            using var expected = Build(reference, StepJournal.FallibleGroups);
            int failures = 0;
            for (int step = 1; step <= steps; step++)
            {
                model.SetGradients(step);
                reference.SetGradients(step);
                var before = EngineTestModel.Snapshot(model, optimizer);
                var e = Record.Exception(() => optimizer.Step());
                if (e != null)
                {
                    failures++;
                    var failure = Assert.IsType<OptimizerStepException>(e);
                    Assert.Equal(group, failure.Group);
                    Assert.Contains("injected fault", failure.Message);
                    Assert.Equal(EngineTestModel.Bits(before), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));
                    optimizer.Step(); // the same step again: the fault fired once
                }
                expected.Step();
                Assert.Equal(EngineTestModel.Bits(EngineTestModel.Snapshot(reference, expected)), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));
            }
            Assert.Equal(1, failures);
        }

        [Theory]
        [InlineData("muon", "BeginWave", 2)]
        [InlineData("muon", "RunMatrix", 3)]
        [InlineData("muon", "RunPass", 5)]
        [InlineData("muon", "EndStep", 2)]
        [InlineData("factored", "BeginWave", 3)]
        [InlineData("factored", "RunPass", 4)]
        [InlineData("factored", "EndStep", 2)]
        [InlineData("ball", "RunPass", 3)]
        [InlineData("ball", "EndStep", 2)]
        public void Under_AllGroups_a_fault_in_any_stage_of_any_group_applies_nothing(string group, string member, int n)
            => RunBesideReference(StepJournal.AllGroups, group, member, n, steps: 4);

        [Theory]
        [InlineData("BeginWave", 3)]
        [InlineData("RunMatrix", 2)]
        [InlineData("RunPass", 3)]
        [InlineData("EndStep", 2)]
        public void By_default_a_fault_in_a_group_with_matrix_stages_applies_nothing(string member, int n)
            => RunBesideReference(StepJournal.FallibleGroups, "muon", member, n, steps: 3);
    }
}
