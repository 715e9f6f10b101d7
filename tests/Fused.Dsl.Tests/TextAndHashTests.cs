using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Passes;
using Xunit;
using static Fused.Dsl.Tests.Programs;

namespace Fused.Dsl.Tests
{
    public sealed class TextAndHashTests
    {
        [Fact]
        public void AdamWRoundTripsThroughText()
        {
            var p = AdamW(new IrBuilder());
            var text = IrText.Write(p);
            var back = IrText.Parse(text);
            Assert.Equal(p, back);
            Assert.Equal(text, IrText.Write(back));
            var s = Simplifier.Run(p);
            Assert.Equal(s, IrText.Parse(IrText.Write(s)));
        }

        [Fact]
        public void RandomProgramsRoundTripThroughText()
        {
            var r = new Random(11);
            for (int i = 0; i < 500; i++)
            {
                var p = new RandomProgram(r).Build(deadStatement: i % 2 == 0, defaults: r.NextDouble() * 1e-3);
                var back = IrText.Parse(IrText.Write(p));
                Assert.Equal(p, back);
                Assert.Equal(p.GetHashCode(), back.GetHashCode());
            }
        }

        [Fact]
        public void AwkwardConstantsNamesAndSourceTextRoundTrip()
        {
            var b = new IrBuilder();
            var consts = new[] { -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue, 1e-8f, 0.1f };
            Node e = b.Load(1);
            foreach (var c in consts) e = b.Make(Op.Max, e, b.Const(c));
            var p = Make("Odd Name (with spaces)", new[] { "m" }, new[] { ("lr", 0.1), ("tiny", 1e-300), ("third", 1.0 / 3.0) },
                new[] { Out(0, b.Sub(b.Load(0), e)) },
                new[] { new Statement("param", 0, b.Sub(b.Load(0), e), "param -= Max(grad, \"q\" \\ x);\n// two lines\ttab") });
            var back = IrText.Parse(IrText.Write(p));
            Assert.Equal(p, back);
            Assert.Equal(1.0 / 3.0, back.Hypers[2].Default);
            Assert.Equal(Bits(-0f), Bits(back.Nodes().Single(n => n.Op == Op.Const && Bits(n.Value) == Bits(-0f)).Value));
        }

        [Theory]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\n%0 = Load 0\n%1 = Frobnicate %0\nout 0 %1\n", 5)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\n%0 = Load 0\n%2 = Neg %0\nout 0 %2\n", 5)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\n%0 = Load 0\n%1 = Neg %7\nout 0 %1\n", 5)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\n%0 = Load 0\n%1 = Add %0\nout 0 %1\n", 5)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\n%0 = Const XYZ\nout 0 %0\n", 4)]
        [InlineData("rule X\nbuffer param Param\nbuffer grad Grad Element\n", 2)]
        [InlineData("rule X\nbuffer param Boss Element\n", 2)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\nhyper lr abc\n", 4)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\n%0 = Load 0\nout 0 %9\n", 5)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\n%0 = Load 0\nout 0 %0\nstmt 0 %0 \"param\" \"unterminated\n", 6)]
        [InlineData("rule X\r\nbuffer param Param Element\r\nbuffer grad Grad Element\r\n\r\n%0 = Load 0\r\n%1 = Lt %0 %0\r\n%2 = Where %0 %0 %0\r\nout 0 %2\r\n", 7)]
        [InlineData("rule X\nbuffer param Param Element\nbuffer grad Grad Element\nwhat is this\n", 4)]
        public void MalformedTextGivesFormatExceptionWithTheLineNumber(string text, int line)
        {
            var e = Assert.Throws<FormatException>(() => IrText.Parse(text));
            Assert.Contains($"line {line}:", e.Message);
        }

        [Fact]
        public void EquivalentProgramsHashEqual()
        {
            var r = new Random(12);
            for (int i = 0; i < 300; i++)
            {
                var rp = new RandomProgram(r);
                var a = Simplifier.Run(rp.Build());
                var b = Simplifier.Run(rp.Build(prefix: "renamed_", swapCommutative: true, deadStatement: true, defaults: 7));
                Assert.Equal(StructuralHash.Compute(a), StructuralHash.Compute(b));
            }
            // The hand-written AdamW and the same rule with commuted products, other names and a dead local.
            var b1 = new IrBuilder();
            var adamw = AdamW(b1);
            var b2 = new IrBuilder();
            Node p = b2.Load(0), g = b2.Load(1), m = b2.Load(2), v = b2.Load(3), one = b2.Const(1f), t = b2.Step();
            Node lr = b2.Hyper(0), be1 = b2.Hyper(1), be2 = b2.Hyper(2), eps = b2.Hyper(3), wd = b2.Hyper(4);
            var mNew = b2.Add(b2.Mul(g, b2.Sub(one, be1)), b2.Mul(m, be1));
            var vNew = b2.Add(b2.Mul(g, b2.Mul(g, b2.Sub(one, be2))), b2.Mul(v, be2));
            var upd = b2.Div(b2.Div(mNew, b2.Sub(one, b2.Make(Op.Pow, be1, t))), b2.Add(eps, b2.Make(Op.Sqrt, b2.Div(vNew, b2.Sub(one, b2.Make(Op.Pow, be2, t))))));
            var pNew = b2.Sub(p, b2.Mul(b2.Add(b2.Mul(p, wd), upd), lr));
            var other = Make("Renamed", new[] { "first", "second" }, new[] { ("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0) },
                new[] { Out(0, pNew), Out(2, mNew), Out(3, vNew) },
                new[] { new Statement("junk", -1, b2.Make(Op.Exp, g), "var junk = Exp(grad);") });
            Assert.Equal(StructuralHash.Compute(Simplifier.Run(adamw)), StructuralHash.Compute(Simplifier.Run(other)));
        }

        [Fact]
        public void DifferentProgramsHashDifferently()
        {
            var b = new IrBuilder();
            Node p = b.Load(0), g = b.Load(1);
            RuleProgram P(Node e) => Make("x", new string[0], new[] { ("lr", 0.1) }, new[] { Out(0, e) });
            var programs = new[]
            {
                P(b.Sub(p, g)), P(b.Sub(g, p)), P(b.Make(Op.Min, p, g)), P(b.Make(Op.Min, g, p)), P(b.Make(Op.Max, p, g)),
                P(b.Sub(p, b.Mul(b.Hyper(0), g))), P(b.Sub(p, b.Mul(b.Const(0.1f), g))), P(b.Sub(p, b.Mul(b.Const(0.2f), g))),
                P(b.Add(p, b.Const(0f))), P(b.Add(p, b.Const(-0f))), P(b.Sub(p, b.Mul(b.Step(), g))),
            };
            var hashes = programs.Select(x => StructuralHash.Compute(Simplifier.Run(x))).ToList();
            Assert.Equal(hashes.Count, hashes.Distinct().Count());
            // A state buffer more, or a hyperparameter more, is a different program even if unused.
            var withState = Make("x", new[] { "m" }, new[] { ("lr", 0.1) }, new[] { Out(0, b.Sub(p, g)) });
            Assert.NotEqual(hashes[0], StructuralHash.Compute(withState));
        }

        [Fact]
        public void NoHashCollisionsAmongRandomPrograms()
        {
            var r = new Random(13);
            var byHash = new Dictionary<ulong, string>();
            int distinct = 0;
            for (int i = 0; i < 4000; i++)
            {
                var s = Simplifier.Run(new RandomProgram(r, maxDepth: 1 + i % 4).Build());
                var text = IrText.Write(s, includeNames: false);
                var h = StructuralHash.Compute(s);
                if (byHash.TryGetValue(h, out var seen))
                    Assert.True(seen == text, $"hash {h:X16} collides:\n{seen}\n---\n{text}");
                else
                {
                    byHash[h] = text;
                    distinct++;
                }
            }
            Assert.True(distinct > 2000, $"only {distinct} distinct programs generated");
        }
    }
}
