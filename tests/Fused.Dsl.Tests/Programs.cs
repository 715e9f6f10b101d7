using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Dsl.Tests
{
    /// <summary>Helpers to write small IR programs by hand.</summary>
    public static class Programs
    {
        /// <summary>A program with buffers param, grad, then the named element states, and the named hyperparameters.</summary>
        public static RuleProgram Make(string name, string[] states, (string name, double value)[] hypers,
            IEnumerable<Output> outputs, IEnumerable<Statement>? statements = null)
        {
            var buffers = new List<BufferDecl> { new BufferDecl("param", BufferRole.Param), new BufferDecl("grad", BufferRole.Grad) };
            buffers.AddRange(states.Select(s => new BufferDecl(s, BufferRole.State)));
            return new RuleProgram(name, buffers.ToEquatableArray(), hypers.Select(h => new HyperDecl(h.name, h.value)).ToEquatableArray(),
                outputs.OrderBy(o => o.Buffer).ToEquatableArray(), (statements ?? Array.Empty<Statement>()).ToEquatableArray());
        }

        public static Output Out(int buffer, Node value) => new Output(buffer, value);

        /// <summary>
        /// AdamW written out in IR (buffers param, grad, m, v; hypers lr, beta1, beta2, eps, weightDecay),
        /// with a statement per assignment.
        /// </summary>
        public static RuleProgram AdamW(IrBuilder b)
        {
            Node p = b.Load(0), g = b.Load(1), m = b.Load(2), v = b.Load(3);
            Node lr = b.Hyper(0), b1 = b.Hyper(1), b2 = b.Hyper(2), eps = b.Hyper(3), wd = b.Hyper(4), t = b.Step(), one = b.Const(1f);
            var mNew = b.Add(b.Mul(b1, m), b.Mul(b.Sub(one, b1), g));
            var vNew = b.Add(b.Mul(b2, v), b.Mul(b.Mul(b.Sub(one, b2), g), g));
            var mHat = b.Div(mNew, b.Sub(one, b.Make(Op.Pow, b1, t)));
            var vHat = b.Div(vNew, b.Sub(one, b.Make(Op.Pow, b2, t)));
            var pNew = b.Sub(p, b.Mul(lr, b.Add(b.Div(mHat, b.Add(b.Make(Op.Sqrt, vHat), eps)), b.Mul(wd, p))));
            return Make("AdamW", new[] { "m", "v" },
                new[] { ("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8), ("weightDecay", 0.01) },
                new[] { Out(0, pNew), Out(2, mNew), Out(3, vNew) },
                new[]
                {
                    new Statement("m", 2, mNew, "m = beta1 * m + (1 - beta1) * grad;"),
                    new Statement("v", 3, vNew, "v = beta2 * v + (1 - beta2) * grad * grad;"),
                    new Statement("mHat", -1, mHat, "var mHat = m / (1 - Pow(beta1, t));"),
                    new Statement("vHat", -1, vHat, "var vHat = v / (1 - Pow(beta2, t));"),
                    new Statement("param", 0, pNew, "param -= lr * (mHat / (Sqrt(vHat) + eps) + weightDecay * param);"),
                });
        }

        /// <summary>Runs one interpreter step on copies of the buffers and returns them.</summary>
        public static float[][] Step(RuleProgram program, float[] hypers, long t, float[][] buffers)
        {
            var copy = buffers.Select(x => (float[])x.Clone()).ToArray();
            new Interpreter(Planner.Plan(program)).Step(hypers, t, ShapeInfo.Vector(copy[0].Length), copy);
            return copy;
        }

        public static int Bits(float x) => BitConverter.SingleToInt32Bits(x);
    }
}
