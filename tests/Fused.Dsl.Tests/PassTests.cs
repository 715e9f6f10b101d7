using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Emit;
using Fused.Ir.Passes;
using Xunit;
using static Fused.Dsl.Tests.Programs;

namespace Fused.Dsl.Tests
{
    /// <summary>Identities, CSE, DCE and hoisting.</summary>
    public sealed class PassTests
    {
        private static RuleProgram ParamOnly(Node value) => Make("p", new string[0], new[] { ("lr", 0.1) }, new[] { Out(0, value) });

        [Fact]
        public void ExactIdentitiesAreApplied()
        {
            var b = new IrBuilder();
            Node x = b.Mul(b.Load(0), b.Load(1));
            Assert.Same(x, Simplifier.Fold(b, b.Mul(x, b.Const(1f))));
            Assert.Same(x, Simplifier.Fold(b, b.Mul(b.Const(1f), x)));
            Assert.Same(x, Simplifier.Fold(b, b.Div(x, b.Const(1f))));
            Assert.Same(x, Simplifier.Fold(b, b.Sub(x, b.Const(0f))));
            Assert.Same(x, Simplifier.Fold(b, b.Neg(b.Neg(x))));
            Assert.Same(x, Simplifier.Fold(b, b.Where(b.Make(Op.Lt, b.Load(0), b.Load(1)), x, x)));
            Assert.Same(x, Simplifier.Fold(b, b.Make(Op.Min, x, x)));
            Assert.Same(x, Simplifier.Fold(b, b.Make(Op.Max, x, x)));
            var abs = b.Make(Op.Abs, x);
            Assert.Same(abs, Simplifier.Fold(b, b.Make(Op.Abs, abs)));
            Assert.Same(abs, Simplifier.Fold(b, b.Make(Op.Abs, b.Neg(x))));
            var sign = b.Make(Op.Sign, x);
            Assert.Same(sign, Simplifier.Fold(b, b.Make(Op.Sign, sign)));
            // ... and they are exact: the same bits for every special value.
            foreach (var v in new[] { 0f, -0f, 1.5f, -2f, float.Epsilon, -float.Epsilon, float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN, BitConverter.Int32BitsToSingle(0x7fc00001) })
            {
                Assert.Equal(Bits(v), Bits(Semantics.Float(Op.Min, v, v)));
                Assert.Equal(Bits(v), Bits(Semantics.Float(Op.Max, v, v)));
                Assert.Equal(Bits(Semantics.Float(Op.Abs, v)), Bits(Semantics.Float(Op.Abs, Semantics.Float(Op.Abs, v))));
                Assert.Equal(Bits(Semantics.Float(Op.Abs, v)), Bits(Semantics.Float(Op.Abs, Semantics.Float(Op.Neg, v))));
                Assert.Equal(Bits(Semantics.Float(Op.Sign, v)), Bits(Semantics.Float(Op.Sign, Semantics.Float(Op.Sign, v))));
            }
            // Through the whole pass as well.
            var s = Simplifier.Run(ParamOnly(b.Sub(b.Div(b.Mul(x, b.Const(1f)), b.Const(1f)), b.Const(0f))));
            Assert.Equal(x, s.OutputOf(0));
        }

        [Fact]
        public void InexactRewritesAreNotApplied()
        {
            var b = new IrBuilder();
            Node x = b.Load(0);
            // x + 0 is not x: (−0) + 0 = +0. x − (−0) is not x either: (−0) − (−0) = +0.
            var plusZero = Simplifier.Fold(b, b.Add(x, b.Const(0f)));
            Assert.Equal(Op.Add, plusZero.Op);
            var minusNegZero = Simplifier.Fold(b, b.Sub(x, b.Const(-0f)));
            Assert.Equal(Op.Sub, minusNegZero.Op);
            // x * 0 is not 0 (NaN, ∞, −0); x − x is not 0 (NaN, ∞); x / x is not 1.
            Assert.Equal(Op.Mul, Simplifier.Fold(b, b.Mul(x, b.Const(0f))).Op);
            Assert.Equal(Op.Sub, Simplifier.Fold(b, b.Sub(x, x)).Op);
            Assert.Equal(Op.Div, Simplifier.Fold(b, b.Div(x, x)).Op);
            // And the interpreter confirms why x + 0 must stay.
            var p = ParamOnly(b.Add(b.Load(0), b.Const(0f)));
            var result = Step(Simplifier.Run(p), new[] { 0.1f }, 1, new[] { new[] { -0f, 1f }, new[] { 0f, 0f } });
            Assert.Equal(Bits(0f), Bits(result[0][0]));
        }

        [Fact]
        public void IdentitiesAreBitExactOnSpecialValues()
        {
            var b = new IrBuilder();
            Node x = b.Load(0), g = b.Load(1);
            var e = b.Add(b.Sub(b.Div(b.Mul(b.Mul(x, b.Const(1f)), g), b.Const(1f)), b.Const(0f)), b.Neg(b.Neg(g)));
            var p = ParamOnly(e);
            var specials = new[] { 0f, -0f, 1f, -1f, float.Epsilon, -1e-40f, 3e38f, -3e38f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0.1f };
            var ps = specials.SelectMany(a => specials.Select(_ => a)).ToArray();
            var gs = specials.SelectMany(_ => specials).ToArray();
            var a1 = Step(p, new[] { 0.1f }, 1, new[] { ps, gs });
            var a2 = Step(Simplifier.Run(p), new[] { 0.1f }, 1, new[] { ps, gs });
            for (int i = 0; i < ps.Length; i++) Assert.True(Bits(a1[0][i]) == Bits(a2[0][i]), $"x = {ps[i]:R}, g = {gs[i]:R}: {a1[0][i]:R} vs {a2[0][i]:R}");
        }

        [Fact]
        public void HashConsingMergesCommutedOperandsButNotMinMax()
        {
            var b = new IrBuilder();
            Node a = b.Mul(b.Load(0), b.Hyper(0)), c = b.Load(1);
            Assert.Same(b.Add(a, c), b.Add(c, a));
            Assert.Same(b.Mul(a, c), b.Mul(c, a));
            Assert.Same(b.Make(Op.Eq, a, c), b.Make(Op.Eq, c, a));
            Assert.NotSame(b.Sub(a, c), b.Sub(c, a));
            Assert.NotSame(b.Make(Op.Min, a, c), b.Make(Op.Min, c, a));
            Assert.NotSame(b.Make(Op.Max, a, c), b.Make(Op.Max, c, a));
            Assert.NotEqual(b.Make(Op.Min, a, c), b.Make(Op.Min, c, a));
            // Same structure built twice is one object; built in another builder it is equal, and imports to the same object.
            Assert.Same(b.Add(b.Load(0), b.Const(2f)), b.Add(b.Load(0), b.Const(2f)));
            var other = new IrBuilder();
            var twin = other.Add(other.Load(1), other.Mul(other.Hyper(0), other.Load(0)));
            Assert.Equal(b.Add(a, c), twin);
            Assert.Same(b.Add(a, c), b.Import(twin));
            // Min(a, b) and Min(b, a) really differ: ±0 and NaN.
            Assert.Equal(Bits(-0f), Bits(ScalarMath.Min(0f, -0f)));
            Assert.Equal(Bits(0f), Bits(ScalarMath.Min(-0f, 0f)));
        }

        [Fact]
        public void CommonSubexpressionsAreComputedOnce()
        {
            // m·β + g computed twice in different operand order, in two builders: one node after simplification.
            var b1 = new IrBuilder();
            var e1 = b1.Add(b1.Mul(b1.Hyper(0), b1.Load(2)), b1.Load(1));
            var b2 = new IrBuilder();
            var e2 = b2.Add(b2.Load(1), b2.Mul(b2.Load(2), b2.Hyper(0)));
            var p = Make("cse", new[] { "m" }, new[] { ("beta", 0.9) }, new[] { Out(0, b1.Sub(b1.Load(0), e1)), Out(2, e2) });
            var s = Simplifier.Run(p);
            Assert.Same(s.OutputOf(2), s.OutputOf(0)![1]);
            Assert.Equal(1, s.Nodes().Count(n => n.Op == Op.Add));
            Assert.Equal(1, s.Nodes().Count(n => n.Op == Op.Mul));
        }

        [Fact]
        public void DeadCodeIsRemoved()
        {
            var b = new IrBuilder();
            Node p = b.Load(0), g = b.Load(1), m = b.Load(2);
            var dead = b.Make(Op.Exp, b.Mul(g, b.Const(3f)));
            var newP = b.Sub(p, b.Mul(b.Hyper(0), g));
            var program = Make("dce", new[] { "m", "v" }, new[] { ("lr", 0.1) },
                new[] { Out(0, newP), Out(2, m), Out(3, b.Mul(b.Load(3), b.Const(1f))) },
                new[]
                {
                    new Statement("unused", -1, dead, "var unused = Exp(grad * 3);"),
                    new Statement("m", 2, m, "m = m;"),
                    new Statement("param", 0, newP, "param -= lr * grad;"),
                });
            var s = Simplifier.Run(program);
            Assert.Equal(new[] { 0 }, s.Outputs.Select(o => o.Buffer).ToArray()); // m = m and v = v·1 store nothing
            Assert.DoesNotContain(s.Statements, st => st.Target == "unused");
            Assert.DoesNotContain(s.Statements, st => st.Target == "m");
            Assert.Contains(s.Statements, st => st.Target == "param");
            Assert.DoesNotContain(s.Nodes(), n => n.Op == Op.Exp);
            var plan = Planner.Plan(s);
            Assert.Equal(12, plan.BytesPerParameter); // reads param, grad; writes param
        }

        [Fact]
        public void BiasCorrectionIsHoistedOutOfTheElementPass()
        {
            var b = new IrBuilder();
            var plan = Planner.Plan(Simplifier.Run(AdamW(b)));
            Assert.Equal(1, plan.PassCount);
            var pass = plan.Passes[0];
            // No element node computes a Pow, or anything from uniform inputs only.
            Assert.DoesNotContain(pass.Nodes, n => n.Op == Op.Pow);
            var uniformSlots = new HashSet<Node>(plan.Uniforms.Select(u => u.Node), NodeIdentityComparer.Instance);
            foreach (var n in pass.Nodes)
                Assert.True(n.Sources.Any(s => s.Op == Op.Load || pass.Nodes.Contains(s)), $"{n} is uniform but computed per element");
            // 1 − β₁ᵗ and 1 − β₂ᵗ are uniform slots, as are β₁ᵗ themselves.
            var one = b.Const(1f);
            foreach (int h in new[] { 1, 2 })
            {
                var pow = b.Make(Op.Pow, b.Hyper(h), b.Step());
                Assert.NotNull(plan.SlotOf(pow));
                Assert.NotNull(plan.SlotOf(b.Sub(one, pow)));
            }
            // Hyperparameters first, then the step, then hoisted values.
            Assert.Equal(Enumerable.Range(0, 5).Select(i => b.Hyper(i)).Append(b.Step()), plan.Uniforms.Take(6).Select(u => u.Node));
            // And the uniforms hold float64 values: 1 − 0.999^3 is not rounded to float32.
            var u = new double[plan.Uniforms.Count];
            var hypers = new[] { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f };
            new Fused.Execution.UniformProgram(ScheduleLowering.Lower(plan)).Evaluate(0, hypers, 3, ShapeInfo.Vector(4), ReadOnlySpan<float>.Empty, u);
            Assert.Equal(1 - Math.Pow(0.999f, 3), u[plan.SlotOf(b.Sub(one, b.Make(Op.Pow, b.Hyper(2), b.Step())))!.Slot]);
        }

        [Fact]
        public void EmitterComputesUnfoldableConstantsInFloat64()
        {
            // 1/3 is not a float32: the simplifier keeps Div(1, 3) as a uniform and the prologue must compute it in double.
            var b = new IrBuilder();
            var third = b.Div(b.Const(1f), b.Const(3f));
            var p = Make("Third", new string[0], new[] { ("lr", 0.1) },
                new[] { Out(0, b.Sub(b.Load(0), b.Mul(b.Mul(b.Hyper(0), third), b.Load(1)))) });
            var plan = Planner.Plan(Simplifier.Run(p));
            Assert.NotNull(plan.SlotOf(third));
            var code = CSharpRuleEmitter.Emit(new RuleClassInfo("N", "Third", "Third.cs"), plan);
            int slot = plan.SlotOf(third)!.Slot;
            Assert.Contains($"uniforms[{slot}] = 1.0 / 3.0;", code);
            // The interpreter's value is the double one.
            var u = new double[plan.Uniforms.Count];
            new Fused.Execution.UniformProgram(ScheduleLowering.Lower(plan)).Evaluate(0, new[] { 0.1f }, 1, ShapeInfo.Vector(1), ReadOnlySpan<float>.Empty, u);
            Assert.Equal(1.0 / 3.0, u[slot]);
        }
    }
}
