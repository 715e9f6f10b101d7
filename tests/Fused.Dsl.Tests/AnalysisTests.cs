using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Passes;
using Xunit;
using static Fused.Dsl.Tests.Programs;

namespace Fused.Dsl.Tests
{
    public sealed class VerifierTests
    {
        private static IReadOnlyList<string> Check(RuleProgram p) => Verifier.Check(p);

        private static RuleProgram Valid(IrBuilder b) =>
            Make("ok", new[] { "m" }, new[] { ("lr", 0.1) }, new[] { Out(0, b.Sub(b.Load(0), b.Mul(b.Hyper(0), b.Load(2)))), Out(2, b.Load(1)) });

        [Fact]
        public void AValidProgramPasses() => Assert.Empty(Check(Valid(new IrBuilder())));

        [Fact]
        public void CatchesEachMalformation()
        {
            var b = new IrBuilder();
            var ok = Valid(b);
            void Expect(RuleProgram p, string fragment)
            {
                var errors = Check(p);
                Assert.True(errors.Any(e => e.Contains(fragment)), $"expected an error containing '{fragment}', got: [{string.Join("; ", errors)}]");
                var ex = Assert.Throws<IrException>(() => Verifier.ThrowIfInvalid(p));
                Assert.Contains(fragment, ex.Message);
                Assert.Throws<IrException>(() => Planner.Plan(p));
            }
            var newP = ok.OutputOf(0)!;
            Expect(ok.WithOutputs(ok.Outputs.Append(Out(1, b.Load(0)))), "the gradient is read-only");
            Expect(ok.WithOutputs(ok.Outputs.Where(o => o.Buffer != 0)), "the parameter is never updated");
            Expect(ok.WithOutputs(ok.Outputs.Append(Out(7, b.Load(0)))), "output to unknown buffer 7");
            Expect(ok.WithOutputs(ok.Outputs.Append(Out(2, b.Load(0)))), "has two outputs");
            Expect(ok.WithOutputs(new[] { Out(0, b.Sub(b.Load(0), b.Hyper(3))) }), "hyperparameter index 3 out of range");
            Expect(ok.WithOutputs(new[] { Out(0, b.Sub(b.Load(0), b.Load(5))) }), "buffer index 5 out of range");
            Expect(ok.WithOutputs(new[] { Out(0, b.Sub(b.Load(0), b.Load(-1))) }), "buffer index -1 out of range");
            Expect(ok.WithOutputs(new[] { Out(0, b.Sub(b.Load(0), b.Shape((ShapeScalar)9))) }), "shape scalar 9 out of range");
            Expect(ok.WithOutputs(new[] { Out(0, b.Make(Op.Lt, b.Load(0), b.Load(1))) }), "is not a float");
            Expect(ok with { Buffers = new[] { new BufferDecl("g", BufferRole.Grad), new BufferDecl("p", BufferRole.Param), new BufferDecl("m", BufferRole.State) }.ToEquatableArray() },
                "buffer 0 must be the parameter");
            Expect(ok with { Buffers = new[] { new BufferDecl("p", BufferRole.Param), new BufferDecl("g", BufferRole.Grad), new BufferDecl("m", BufferRole.Grad) }.ToEquatableArray() },
                "must be a state");
            Expect(ok with { Hypers = new[] { new HyperDecl("m", 0.1) }.ToEquatableArray() }, "declared more than once");
        }

        [Fact]
        public void TypeAndArityErrorsAreRejectedWhenBuilt()
        {
            var b = new IrBuilder();
            Node f = b.Load(0), c = b.Make(Op.Lt, f, f);
            Assert.Throws<IrException>(() => b.Add(f, c));                       // bool where a float is needed
            Assert.Throws<IrException>(() => b.Where(f, f, f));                  // float condition
            Assert.Throws<IrException>(() => b.Make(Op.Not, f));
            Assert.Throws<IrException>(() => b.Make(Op.And, c, f));
            Assert.Throws<IrException>(() => b.Make(Op.Add, f));                 // arity
            Assert.Throws<IrException>(() => b.Make(Op.Neg, f, f));
            Assert.Throws<IrException>(() => b.Make(Op.Where, ImmutableArray.Create(c, f)));
        }
    }

    public sealed class SignAnalysisTests
    {
        [Fact]
        public void AdamSecondMomentIsProvenNonNegativeFirstMomentIsNot()
        {
            var b = new IrBuilder();
            var p = Simplifier.Run(AdamW(b));
            var sa = new SignAnalysis(p);
            Assert.True(sa.IsNonNegative(p.OutputOf(3)!));          // v' = β₂·v + (1 − β₂)·g·g
            Assert.True(sa.IsNonNegative(b.Load(3)));               // v by induction
            Assert.False(sa.IsNonNegative(p.OutputOf(2)!));         // m' can be negative
            Assert.False(sa.IsNonNegative(b.Load(2)));
            Assert.False(sa.IsNonNegative(p.OutputOf(0)!));
            // The Sqrt arguments of AdamW are fine: v̂ = v' / (1 − β₂ᵗ).
            foreach (var sqrt in p.Nodes().Where(n => n.Op == Op.Sqrt)) Assert.True(sa.IsNonNegative(sqrt[0]), sqrt[0].ToString());
        }

        [Fact]
        public void SqrtOfADifferenceIsFlagged()
        {
            var b = new IrBuilder();
            Node v = b.Load(2), g = b.Load(1), eps = b.Hyper(1);
            var vNew = b.Add(b.Mul(b.Const(0.5f), v), b.Mul(g, g));
            var bad = b.Make(Op.Sqrt, b.Sub(vNew, b.Mul(g, g)));
            var p = Make("s", new[] { "v" }, new[] { ("lr", 0.1), ("eps", 1e-8) },
                new[] { Out(0, b.Sub(b.Load(0), b.Div(g, b.Add(bad, eps)))), Out(2, vNew) });
            var sa = new SignAnalysis(p);
            Assert.False(sa.IsNonNegative(bad[0]));
            Assert.True(sa.IsNonNegative(b.Add(vNew, eps)));
            Assert.True(sa.IsNonNegative(b.Mul(b.Neg(g), b.Neg(g))));   // even number of unknown factors
            Assert.False(sa.IsNonNegative(b.Mul(g, b.Neg(g))));
            Assert.False(sa.IsNonNegative(b.Mul(b.Mul(g, g), g)));
            Assert.True(sa.IsNonNegative(b.Make(Op.Exp, g)));
            Assert.True(sa.IsNonNegative(b.Make(Op.Max, g, b.Const(0f))));
            Assert.False(sa.IsNonNegative(b.Make(Op.Min, g, b.Const(0f))));
            Assert.True(sa.IsNonNegative(b.Make(Op.Abs, g)));
            Assert.False(sa.IsNonNegative(b.Make(Op.Sign, b.Make(Op.Abs, g))));
            Assert.False(sa.IsNonNegative(b.Const(-0.5f)));
            Assert.True(sa.IsNonNegative(b.Sub(b.Const(1f), b.Make(Op.Pow, b.Hyper(0), b.Step())))); // 1 − lrᵗ at the defaults
        }

        [Fact]
        public void NonNegativityIsNotAssumedForStatesThatCanGoNegative()
        {
            // s1' = s2 (non-negative only if s2 is), s2' = s2 − g·g: the fixpoint must drop both.
            var b = new IrBuilder();
            Node g = b.Load(1), s1 = b.Load(2), s2 = b.Load(3);
            var p = Make("f", new[] { "s1", "s2" }, new[] { ("lr", 0.1) },
                new[] { Out(0, b.Sub(b.Load(0), g)), Out(2, b.Mul(s2, b.Const(2f))), Out(3, b.Sub(s2, b.Mul(g, g))) });
            var sa = new SignAnalysis(p);
            Assert.False(sa.IsNonNegative(s2));
            Assert.False(sa.IsNonNegative(s1));
        }
    }

    public sealed class PlannerTests
    {
        private static RuleProgram GlobalNorm(IrBuilder b, Op reduce)
        {
            // θ ← θ − lr · g / √(Σ g²) (or max g²): a whole-tensor statistic cuts the rule into two passes.
            Node p = b.Load(0), g = b.Load(1);
            var stat = b.Make(reduce, b.Mul(g, g));
            return Make("norm", new string[0], new[] { ("lr", 0.1) }, new[] { Out(0, b.Sub(p, b.Div(b.Mul(b.Hyper(0), g), b.Make(Op.Sqrt, stat)))) });
        }

        [Fact]
        public void ElementWiseRulesAreOnePass()
        {
            var plan = Planner.Plan(Simplifier.Run(AdamW(new IrBuilder())));
            Assert.Equal(1, plan.PassCount);
            Assert.Equal(new[] { 0, 1, 2, 3 }, plan.Passes[0].Loads.ToArray());
            Assert.Equal(new[] { 0, 2, 3 }, plan.Passes[0].Stores.Select(s => s.Buffer).ToArray());
            Assert.Equal(4 * (4 + 3), plan.BytesPerParameter);
        }

        [Theory]
        [InlineData(Op.ReduceSum)]
        [InlineData(Op.ReduceMax)]
        public void AReductionAddsAPassThatReadsOnlyWhatItNeeds(Op reduce)
        {
            var b = new IrBuilder();
            var plan = Planner.Plan(Simplifier.Run(GlobalNorm(b, reduce)));
            Assert.Equal(2, plan.PassCount);
            Assert.Equal(new[] { 1 }, plan.Passes[0].Loads.ToArray());       // pass 0 reads g to accumulate Σ g²
            Assert.Empty(plan.Passes[0].Stores);
            Assert.Single(plan.Passes[0].Reductions);
            Assert.Equal(4, plan.Passes[0].BytesPerElement);
            Assert.Equal(new[] { 0, 1 }, plan.Passes[1].Loads.ToArray());    // pass 1 reads θ, g, writes θ
            Assert.Equal(12, plan.Passes[1].BytesPerElement);
            Assert.Equal(16, plan.BytesPerParameter);
            var sqrtSlot = plan.SlotOf(b.Make(Op.Sqrt, b.Make(reduce, b.Mul(b.Load(1), b.Load(1)))));
            Assert.NotNull(sqrtSlot);
            Assert.Equal(1, sqrtSlot!.Level);
        }

        [Fact]
        public void UnsupportedShapesAreReported()
        {
            var b = new IrBuilder();
            RuleProgram RowState(params Output[] outputs) => new RuleProgram("rows",
                new[] { new BufferDecl("p", BufferRole.Param), new BufferDecl("g", BufferRole.Grad), new BufferDecl("r", BufferRole.State, StateShape.Row) }.ToEquatableArray(),
                EquatableArray<HyperDecl>.Empty, outputs.ToEquatableArray(), EquatableArray<Statement>.Empty);
            // A row state read per element plans into a row-wise pass ...
            var reads = Planner.Plan(RowState(Out(0, b.Sub(b.Load(0), b.Load(2))), Out(2, b.Make(Op.RowSum, b.Mul(b.Load(1), b.Load(1))))));
            Assert.All(reads.Passes, p => Assert.True(p.RowWise));
            // ... but it cannot hold a value per element, and RowSum of a per-row value is meaningless.
            var elementIntoRow = Assert.Throws<PlanningException>(() => Planner.Plan(RowState(Out(0, b.Load(1)), Out(2, b.Mul(b.Load(1), b.Load(1))))));
            Assert.Equal(2, elementIntoRow.Buffer);
            Assert.Contains("row state 'r'", elementIntoRow.Message);
            var rowOfRow = b.Make(Op.RowSum, b.Load(2));
            var nested = Assert.Throws<PlanningException>(() => Planner.Plan(RowState(Out(0, b.Sub(b.Load(0), rowOfRow)), Out(2, b.Make(Op.RowSum, b.Load(1))))));
            Assert.Same(rowOfRow, nested.At);
            var uniformReduction = Make("u", new string[0], new[] { ("lr", 0.1) },
                new[] { Out(0, b.Sub(b.Load(0), b.Make(Op.ReduceSum, b.Hyper(0)))) });
            Assert.Throws<PlanningException>(() => Planner.Plan(uniformReduction));
        }
    }
}
