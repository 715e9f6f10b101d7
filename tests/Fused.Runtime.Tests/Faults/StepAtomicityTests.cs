using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Fused.Runtime.Tests.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Faults
{
    /// <summary>
    /// A step is all or nothing (issue 17, item 1): when a group's matrix stage fails, every parameter and state of
    /// every group is as before the step, the step count does not advance, the error names the group and the tensor,
    /// and the run continues exactly as if the failed step had never been tried.
    /// </summary>
    public class StepAtomicityTests
    {
        // AdamW is routed first, so without the engine's ordering it would be written before Muon fails; one tensor per
        // wave, so h0 is fully stepped before h1 fails.
        private static EngineTestModel Model() => new EngineTestModel().Add("h0.weight", 32, 16).Add("bias", 32).Add("h1.weight", 24, 16);

        private static FusedOptimizer Build(EngineTestModel model, FusedRule matrixRule, StatePrecision precision) => model.Builder()
            .Route("rest", p => p.Rank < 2, AdamW.Rule, g => g.Set("lr", 1e-2f).State(precision))
            .Route("hidden", p => p.Rank == 2, matrixRule, g => g.Set("lr", 1e-2f).State(precision))
            .WaveElements(1).SkipNonFiniteSteps(matrixRule == Muon.Rule).Seed(7).Threads(2).Build();

        // Muon: the case, clipping off and skip-on-non-finite on, finite gradients of 3e38 (finite norm in
        // float64, so not skipped) overflow the Nesterov direction and Newton–Schulz refuses it. Shampoo: with
        // skip-on-non-finite off, a NaN gradient reaches the statistics, which refuse it.
        public static TheoryData<string, StatePrecision> Cases() => new()
        {
            { "Muon", StatePrecision.Float32 },
            { "Muon", StatePrecision.BFloat16 },
            { "Muon", StatePrecision.Int8Blockwise },
            { "Shampoo", StatePrecision.Float32 },
            { "Shampoo", StatePrecision.BFloat16 },
        };

        private static float Bad(string rule) => rule == "Muon" ? 3e38f : float.NaN;

        private static FusedRule RuleNamed(string name) => name == "Muon" ? Muon.Rule : Shampoo.Rule;

        [Theory]
        [MemberData(nameof(Cases))]
        public void Finite_huge_gradients_that_break_a_matrix_stage_apply_nothing(string rule, StatePrecision precision)
        {
            var model = Model();
            var reference = Model();
            using var optimizer = Build(model, RuleNamed(rule), precision);
            using var expected = Build(reference, RuleNamed(rule), precision);
            for (int step = 1; step <= 2; step++)
            {
                model.SetGradients(step);
                reference.SetGradients(step);
                optimizer.Step();
                expected.Step();
            }

            // The journal is the fallible group's own copy, and the memory report says so.
            var report = optimizer.MemoryReport().Groups;
            Assert.Equal(0, report.Single(g => g.Group == "rest").JournalBytes);
            Assert.True(report.Single(g => g.Group == "hidden").JournalBytes >= report.Single(g => g.Group == "hidden").MasterWeightBytes);

            var before = EngineTestModel.Snapshot(model, optimizer);
            foreach (var t in model.Tensors) Array.Fill(t.Grad, Bad(rule));
            var error = Assert.Throws<OptimizerStepException>(() => optimizer.Step());
            Assert.Equal("hidden", error.Group);
            Assert.Equal("h0.weight", error.Parameter);
            Assert.Equal(3, error.Step);
            Assert.Contains("'hidden'", error.Message);
            Assert.Contains("h0.weight", error.Message);
            Assert.Equal(2, optimizer.StepCount);
            Assert.Equal(EngineTestModel.Bits(before), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));

            // Only the second matrix tensor bad: h0 is fully stepped (its own wave) before h1 fails.
            model.SetGradients(3);
            Array.Fill(model.Tensors[2].Grad, Bad(rule));
            error = Assert.Throws<OptimizerStepException>(() => optimizer.Step());
            Assert.Equal("h1.weight", error.Parameter);
            Assert.Equal(EngineTestModel.Bits(before), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));

            // The run goes on as if the failed steps had never been tried (hidden state such as Shampoo's statistics too).
            for (int step = 3; step <= 5; step++)
            {
                model.SetGradients(step);
                reference.SetGradients(step);
                optimizer.Step();
                expected.Step();
                Assert.Equal(EngineTestModel.Bits(EngineTestModel.Snapshot(reference, expected)), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));
            }
        }
    }
}
