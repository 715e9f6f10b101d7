using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Passes;
using Xunit;
using static Fused.Dsl.Tests.Programs;

namespace Fused.Dsl.Tests
{
    public sealed class SimplifierTests
    {
        private static readonly float[] Specials =
        {
            0f, -0f, 1f, -1f, 0.1f, -2.5f, 3e-39f, -1e-45f, 1e30f, -3.4e38f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-7f, 7f,
        };

        private static float[][] Buffers(int states, Random r, int n)
        {
            var list = new List<float[]>();
            for (int b = 0; b < 2 + states; b++)
                list.Add(Enumerable.Range(0, n).Select(i => i < Specials.Length ? Specials[(i + 3 * b) % Specials.Length] : (float)(r.NextDouble() * 20 - 10)).ToArray());
            return list.ToArray();
        }

        private static void AssertSameResults(RuleProgram a, RuleProgram b, float[] hypers, long t, int states, int seed, string what)
        {
            var r = new Random(seed);
            var input = Buffers(states, r, 64);
            var x = Step(a, hypers, t, input);
            var y = Step(b, hypers, t, input);
            for (int k = 0; k < x.Length; k++)
                for (int i = 0; i < x[k].Length; i++)
                    Assert.True(Bits(x[k][i]) == Bits(y[k][i]),
                        $"{what}: buffer {k} element {i} (inputs {string.Join(", ", input.Select(buf => buf[i].ToString("R")))}): {x[k][i]:R} vs {y[k][i]:R}");
        }

        [Fact]
        public void FoldsConstantArithmetic()
        {
            var b = new IrBuilder();
            var e = b.Mul(b.Add(b.Const(2f), b.Const(3f)), b.Load(1));
            var p = Make("f", new string[0], new (string, double)[0], new[] { Out(0, b.Sub(b.Load(0), e)) });
            var s = Simplifier.Run(p);
            var folded = s.OutputOf(0)!;
            Assert.Equal(Op.Sub, folded.Op);
            var mul = folded[1];
            Assert.Equal(Op.Mul, mul.Op);
            Assert.Contains(mul.Sources, n => n.Op == Op.Const && n.Value == 5f);
            Assert.DoesNotContain(s.Nodes(), n => n.Op == Op.Add);
        }

        /// <summary>
        /// Folding must give exactly what the interpreter computes for the unfolded program, where
        /// constant subexpressions are uniform values evaluated in float64 and rounded to float32 only
        /// where element code uses them.
        /// </summary>
        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(3)]
        public void FoldingAgreesWithTheInterpreterUnfolded(int depth)
        {
            var r = new Random(100 + depth);
            var ops = new[] { Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Min, Op.Max, Op.Pow, Op.Neg, Op.Abs, Op.Sqrt, Op.Exp, Op.Log, Op.Sign, Op.Rsqrt };
            var consts = new[] { 0f, -0f, 1f, -1f, 0.5f, 2f, 3f, 0.1f, 0.9f, 0.999f, 1e-8f, 1e-30f, 7.25f, -2.5f, 1e20f, 1.0000001f };
            int mismatches = 0;
            string first = "";
            for (int trial = 0; trial < 400; trial++)
            {
                var b = new IrBuilder();
                Node Gen(int d)
                {
                    if (d == 0 || r.Next(4) == 0) return b.Const(consts[r.Next(consts.Length)]);
                    var op = ops[r.Next(ops.Length)];
                    return OpInfo.Arity(op) == 1 ? b.Make(op, Gen(d - 1)) : b.Make(op, Gen(d - 1), Gen(d - 1));
                }
                var e = Gen(depth);
                var program = Make("fold", new string[0], new (string, double)[0], new[] { Out(0, b.Add(b.Mul(b.Load(1), e), b.Load(0))) });
                var simplified = Simplifier.Run(program);
                var input = new[] { new float[] { 0.5f, -3f }, new float[] { 1f, 0.25f } };
                var unfolded = Step(program, new float[0], 1, input);
                var folded = Step(simplified, new float[0], 1, input);
                for (int i = 0; i < 2; i++)
                    if (Bits(unfolded[0][i]) != Bits(folded[0][i]) && !(float.IsNaN(unfolded[0][i]) && float.IsNaN(folded[0][i])))
                    {
                        if (mismatches++ == 0) first = $"{e}: unfolded {unfolded[0][i]:R}, folded {folded[0][i]:R} (folded to {simplified.OutputOf(0)})";
                    }
            }
            Assert.True(mismatches == 0, $"{mismatches} mismatches; first: {first}");
        }
    }
}
