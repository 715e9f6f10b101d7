using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Passes;
using Xunit;
using static Fused.Dsl.Tests.Programs;

namespace Fused.Dsl.Tests
{
    public sealed class ReductionTests
    {
        // The documented order, written out: lanes fold j += j+8, then +4, +2, +1; blocks fold adjacent
        // pairs level by level, an odd last one carried up unchanged.
        private static double LanesRef(double[] l, bool max)
        {
            var a = (double[])l.Clone();
            foreach (int w in new[] { 8, 4, 2, 1 })
                for (int j = 0; j < w; j++) a[j] = max ? Math.Max(a[j], a[j + w]) : a[j] + a[j + w];
            return a[0];
        }

        private static double BlocksRef(IReadOnlyList<double> blocks, bool max)
        {
            if (blocks.Count == 0) return max ? double.NegativeInfinity : 0.0;
            var level = blocks.ToList();
            while (level.Count > 1)
            {
                var next = new List<double>();
                for (int i = 0; i + 1 < level.Count; i += 2) next.Add(max ? Math.Max(level[i], level[i + 1]) : level[i] + level[i + 1]);
                if (level.Count % 2 == 1) next.Add(level[level.Count - 1]);
                level = next;
            }
            return level[0];
        }

        [Fact]
        public void FoldLanesUsesTheHalvingOrder()
        {
            // Values whose sum depends on the order: big ones cancel only when paired as documented.
            var lanes = new double[16];
            lanes[0] = 1e16; lanes[8] = -1e16; lanes[1] = 1; lanes[9] = 1; lanes[2] = 1e16; lanes[3] = -1e16; lanes[4] = 3; lanes[12] = 0.5;
            var expected = LanesRef(lanes, false);
            double sequential = lanes.Aggregate(0.0, (s, x) => s + x);
            Assert.NotEqual(sequential, expected); // the order is observable with these values
            Assert.Equal(expected, Reduction.FoldLanes((double[])lanes.Clone(), false));
            var r = new Random(21);
            for (int trial = 0; trial < 1000; trial++)
            {
                var l = Enumerable.Range(0, 16).Select(_ => (r.NextDouble() - 0.5) * Math.Pow(10, r.Next(-5, 17))).ToArray();
                Assert.Equal(BitConverter.DoubleToInt64Bits(LanesRef(l, false)), BitConverter.DoubleToInt64Bits(Reduction.FoldLanes((double[])l.Clone(), false)));
                Assert.Equal(LanesRef(l, true), Reduction.FoldLanes((double[])l.Clone(), true));
            }
        }

        [Fact]
        public void FoldBlocksUsesThePairwiseOrder()
        {
            var r = new Random(22);
            for (int count = 0; count <= 40; count++)
                for (int trial = 0; trial < 20; trial++)
                {
                    var blocks = Enumerable.Range(0, count).Select(_ => (r.NextDouble() - 0.5) * Math.Pow(10, r.Next(-5, 17))).ToArray();
                    Assert.Equal(BitConverter.DoubleToInt64Bits(BlocksRef(blocks, false)), BitConverter.DoubleToInt64Bits(Reduction.FoldBlocks((double[])blocks.Clone(), false)));
                    Assert.Equal(BlocksRef(blocks, true), Reduction.FoldBlocks((double[])blocks.Clone(), true));
                }
            Assert.Equal(0.0, Reduction.FoldBlocks(new double[0], false));
            Assert.Equal(double.NegativeInfinity, Reduction.FoldBlocks(new double[0], true));
            // ((1e16 + 1) + (−1e16 + 1)) + 1 = 0 + 1 (both pairs lose their 1 at spacing 2), not 3 or 2.
            Assert.Equal(BlocksRef(new[] { 1e16, 1, -1e16, 1, 1 }, false), Reduction.FoldBlocks(new[] { 1e16, 1, -1e16, 1, 1 }, false));
            Assert.Equal(1.0, Reduction.FoldBlocks(new[] { 1e16, 1, -1e16, 1, 1 }, false));
        }
    }

    public sealed class InterpreterTests
    {
        /// <summary>AdamW in IR, interpreted, against AdamW written in double here; teacher-forced per step.</summary>
        [Fact]
        public void AdamWProgramMatchesADoubleReference()
        {
            var program = Simplifier.Run(AdamW(new IrBuilder()));
            var interpreter = new Interpreter(Planner.Plan(program));
            var r = new Random(31);
            int n = 300;
            float lr = 0.01f, b1 = 0.85f, b2 = 0.99f, eps = 1e-6f, wd = 0.1f;
            var hypers = new[] { lr, b1, b2, eps, wd };
            var buf = new[] { Rand(r, n, 1), new float[n], new float[n], new float[n] };
            for (int t = 1; t <= 20; t++)
            {
                buf[1] = Rand(r, n, 0.1);
                var d = buf.Select(x => x.Select(v => (double)v).ToArray()).ToArray();
                interpreter.Step(hypers, t, ShapeInfo.Vector(n), buf);
                double c1 = 1 - Math.Pow(b1, t), c2 = 1 - Math.Pow(b2, t);
                for (int i = 0; i < n; i++)
                {
                    double g = d[1][i];
                    double m = b1 * d[2][i] + (1 - (double)b1) * g;
                    double v = b2 * d[3][i] + (1 - (double)b2) * g * g;
                    double p = d[0][i] - lr * (m / c1 / (Math.Sqrt(v / c2) + eps) + wd * d[0][i]);
                    Close(p, buf[0][i], Math.Abs(d[0][i]), $"param[{i}] step {t}");
                    Close(m, buf[2][i], Math.Abs(b1 * d[2][i]) + Math.Abs(g), $"m[{i}] step {t}");
                    Close(v, buf[3][i], 0, $"v[{i}] step {t}");
                }
            }
        }

        /// <summary>Compares, selects, Exp/Log/Abs/Min/Max and the shape scalar, against double code.</summary>
        [Fact]
        public void HandBuiltProgramMatchesADoubleReference()
        {
            var b = new IrBuilder();
            Node p = b.Load(0), g = b.Load(1), s = b.Load(2), lr = b.Hyper(0), numel = b.Shape(ShapeScalar.Numel);
            // s' = Max(s, |g|);  p' = g > 0 ? p − lr·Exp(Log(|g| + 1)) / numel : Min(p, Max(g, −1)) − s'·1e-3
            var sNew = b.Make(Op.Max, s, b.Make(Op.Abs, g));
            var pos = b.Sub(p, b.Div(b.Mul(lr, b.Make(Op.Exp, b.Make(Op.Log, b.Add(b.Make(Op.Abs, g), b.Const(1f))))), numel));
            var neg = b.Sub(b.Make(Op.Min, p, b.Make(Op.Max, g, b.Const(-1f))), b.Mul(sNew, b.Const(1e-3f)));
            var pNew = b.Where(b.Make(Op.Gt, g, b.Const(0f)), pos, neg);
            var program = Make("hand", new[] { "s" }, new[] { ("lr", 0.5) }, new[] { Out(0, pNew), Out(2, sNew) });
            var r = new Random(32);
            int n = 257;
            var buf = new[] { Rand(r, n, 2), Rand(r, n, 3), Rand(r, n, 1).Select(Math.Abs).ToArray() };
            var d = buf.Select(x => x.Select(v => (double)v).ToArray()).ToArray();
            new Interpreter(Planner.Plan(program)).Step(new[] { 0.5f }, 1, ShapeInfo.Vector(n), buf);
            for (int i = 0; i < n; i++)
            {
                double gi = d[1][i], si = Math.Max(d[2][i], Math.Abs(gi));
                double pi = gi > 0 ? d[0][i] - 0.5 * Math.Exp(Math.Log(Math.Abs(gi) + 1)) / n : Math.Min(d[0][i], Math.Max(gi, -1)) - si * 1e-3f;
                Close(si, buf[2][i], 0, $"s[{i}]");
                Close(pi, buf[0][i], Math.Abs(d[0][i]) + 1, $"param[{i}] (g = {gi})");
            }
        }

        /// <summary>A global-norm rule over several blocks: the sum is the documented order, bit for bit.</summary>
        [Theory]
        [InlineData(1)]
        [InlineData(4096)]
        [InlineData(10001)]
        [InlineData(20000)]
        public void ReductionFollowsTheDocumentedOrderBitForBit(int n)
        {
            var b = new IrBuilder();
            Node p = b.Load(0), g = b.Load(1);
            var sum = b.Make(Op.ReduceSum, b.Mul(g, g));
            var program = Make("norm", new string[0], new[] { ("lr", 0.1) }, new[] { Out(0, b.Sub(p, b.Div(b.Mul(b.Hyper(0), g), b.Make(Op.Sqrt, sum)))) });
            var plan = Planner.Plan(program);
            var r = new Random(33 + n);
            var buf = new[] { Rand(r, n, 1), Rand(r, n, 1e3) };
            var input = buf.Select(x => (float[])x.Clone()).ToArray();
            var interpreter = new Interpreter(plan);
            interpreter.Step(new[] { 0.1f }, 1, ShapeInfo.Vector(n), buf);

            // Expected: float32 squares, float64 lanes j, j+16, ... per block of Reduction.BlockSize, lanes halved, blocks paired.
            var blocks = new List<double>();
            for (int start = 0; start < n; start += Reduction.BlockSize)
            {
                var lanes = new double[16];
                for (int e = start; e < Math.Min(n, start + Reduction.BlockSize); e++) lanes[(e - start) % 16] += input[1][e] * input[1][e];
                foreach (int w in new[] { 8, 4, 2, 1 }) for (int j = 0; j < w; j++) lanes[j] += lanes[j + w];
                blocks.Add(lanes[0]);
            }
            while (blocks.Count > 1)
            {
                var next = new List<double>();
                for (int i = 0; i + 1 < blocks.Count; i += 2) next.Add(blocks[i] + blocks[i + 1]);
                if (blocks.Count % 2 == 1) next.Add(blocks[blocks.Count - 1]);
                blocks = next;
            }
            double total = blocks[0];
            Assert.Equal(BitConverter.DoubleToInt64Bits(total), BitConverter.DoubleToInt64Bits(interpreter.Uniforms[plan.SlotOf(sum)!.Slot]));
            float norm = (float)Math.Sqrt(total);
            for (int i = 0; i < n; i++)
            {
                float expected = input[0][i] - 0.1f * input[1][i] / norm;
                Assert.True(Bits(expected) == Bits(buf[0][i]), $"param[{i}]: expected {expected:R}, interpreter {buf[0][i]:R}");
            }
        }

        [Fact]
        public void StepRejectsMismatchedArguments()
        {
            var interpreter = new Interpreter(Planner.Plan(Simplifier.Run(AdamW(new IrBuilder()))));
            var four = new[] { new float[3], new float[3], new float[3], new float[3] };
            Assert.Throws<ArgumentException>(() => interpreter.Step(new float[4], 1, ShapeInfo.Vector(3), four));
            Assert.Throws<ArgumentException>(() => interpreter.Step(new float[5], 1, ShapeInfo.Vector(3), four.Take(3).ToArray()));
            Assert.Throws<ArgumentException>(() => interpreter.Step(new float[5], 1, ShapeInfo.Vector(4), four));
        }

        private static float[] Rand(Random r, int n, double scale) =>
            Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();

        // Same tolerance rule as the catalog tests: 1e-6·(|ref| + magnitude of the cancelling terms).
        private static void Close(double expected, float got, double terms, string what) =>
            Assert.True(Math.Abs(got - expected) <= 1e-6 * (Math.Abs(expected) + terms) + 1e-30,
                $"{what}: interpreter {got:R}, double reference {expected:R}");
    }

    /// <summary>
    /// Programs that are not hash-consed (the search's raw mutation candidates splice subtrees built apart) may hold
    /// equal nodes twice; each gets its own uniform slot. A reader must get a slot computed before it in the same step.
    /// </summary>
    public sealed class DuplicatedUniformTests
    {
        [Fact]
        public void EqualUniformNodesBuiltApartReadTheCurrentStepsValue()
        {
            // param -= lr * grad * (1 - beta^t) and m = beta^t * m + grad, each output from its own builder, so beta^t
            // is two equal nodes; the first output's 1 - beta^t comes between them in dependency order.
            var b1 = new IrBuilder();
            var pNew = b1.Sub(b1.Load(0), b1.Mul(b1.Hyper(0), b1.Mul(b1.Load(1), b1.Sub(b1.Const(1f), b1.Make(Op.Pow, b1.Hyper(1), b1.Step())))));
            var b2 = new IrBuilder();
            var mNew = b2.Add(b2.Mul(b2.Make(Op.Pow, b2.Hyper(1), b2.Step()), b2.Load(2)), b2.Load(1));
            var program = Make("Duplicated", new[] { "m" }, new[] { ("lr", 0.1), ("beta", 0.9) }, new[] { Out(0, pNew), Out(2, mNew) });
            Assert.Equal(2, program.Nodes().Count(n => n.Op == Op.Pow)); // really two nodes

            float lr = 0.1f, beta = 0.9f;
            var p = new[] { 1.5f, -0.75f, 0.3f };
            var m = new[] { 0.2f, -1.1f, 0f };
            var interpreter = new Interpreter(Planner.Plan(program));
            var r = new Random(5);
            for (int t = 1; t <= 3; t++)
            {
                var g = Enumerable.Range(0, p.Length).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
                var buffers = new[] { (float[])p.Clone(), g, (float[])m.Clone() };
                interpreter.Step(new[] { lr, beta }, t, ShapeInfo.Vector(p.Length), buffers);
                // The reference, from the formulas: uniforms in float64 from the float hyperparameters, rounded to
                // float where they enter the element pass; element arithmetic in float32.
                float betaT = (float)Math.Pow(beta, t);
                float correction = (float)(1.0 - Math.Pow(beta, t));
                for (int i = 0; i < p.Length; i++)
                {
                    float pExpected = p[i] - lr * (g[i] * correction);
                    float mExpected = betaT * m[i] + g[i];
                    Assert.True(Bits(pExpected) == Bits(buffers[0][i]), $"param[{i}] step {t}: expected {pExpected}, got {buffers[0][i]}");
                    Assert.True(Bits(mExpected) == Bits(buffers[2][i]), $"m[{i}] step {t}: expected {mExpected}, got {buffers[2][i]}");
                    p[i] = pExpected;
                    m[i] = mExpected;
                }
            }
        }

        [Fact]
        public void EqualPerRowNodesBuiltApartReadTheCurrentStepsValue()
        {
            // Per row: d = r * h; param -= grad * (d + 1) and r = d, each output from its own builder, so d is two equal
            // vectors with the first output's d + 1 between them in dependency order.
            var b1 = new IrBuilder();
            var pNew = b1.Sub(b1.Load(0), b1.Mul(b1.Load(1), b1.Add(b1.Mul(b1.Load(2), b1.Hyper(0)), b1.Const(1f))));
            var b2 = new IrBuilder();
            var rNew = b2.Mul(b2.Load(2), b2.Hyper(0));
            var buffers = new[]
            {
                new BufferDecl("param", BufferRole.Param), new BufferDecl("grad", BufferRole.Grad), new BufferDecl("r", BufferRole.State, StateShape.Row),
            };
            var program = new RuleProgram("DuplicatedRow", buffers.ToEquatableArray(), new[] { new HyperDecl("h", 0.5) }.ToEquatableArray(),
                new[] { Out(0, pNew), Out(2, rNew) }.ToEquatableArray(), EquatableArray<Statement>.Empty);
            Assert.Equal(2, program.Nodes().Count(n => n.Op == Op.Mul && n.Sources.Any(s => s.Op == Op.Load && s.Index == 2)));

            const int rows = 2, cols = 3;
            float h = 0.7f;
            var p = new[] { 1.5f, -0.75f, 0.3f, 2f, -1f, 0.1f };
            var r = new[] { 0.4f, -1.3f };
            var interpreter = new Interpreter(Planner.Plan(program));
            var random = new Random(6);
            for (int t = 1; t <= 3; t++)
            {
                var g = Enumerable.Range(0, p.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                var state = new[] { (float[])p.Clone(), g, (float[])r.Clone() };
                interpreter.Step(new[] { h }, t, ShapeInfo.Matrix(rows, cols), state);
                // Per-row values are float32 (row-major: element i is in row i / cols).
                var d = r.Select(x => x * h).ToArray();
                for (int i = 0; i < p.Length; i++)
                {
                    float expected = p[i] - g[i] * (d[i / cols] + 1f);
                    Assert.True(Bits(expected) == Bits(state[0][i]), $"param[{i}] step {t}: expected {expected}, got {state[0][i]}");
                    p[i] = expected;
                }
                for (int j = 0; j < rows; j++)
                    Assert.True(Bits(d[j]) == Bits(state[2][j]), $"r[{j}] step {t}: expected {d[j]}, got {state[2][j]}");
                r = d;
            }
        }
    }
}
