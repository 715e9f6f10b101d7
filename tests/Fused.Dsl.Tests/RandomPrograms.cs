using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Dsl.Tests
{
    /// <summary>An expression tree independent of any builder, so the same program can be built several ways.</summary>
    public sealed record Expr(Op Op, Expr[] Args, float Value = 0f, int Index = 0)
    {
        public Node Build(IrBuilder b, bool swapCommutative)
        {
            switch (Op)
            {
                case Op.Const: return b.Const(Value);
                case Op.Hyper: return b.Hyper(Index);
                case Op.Load: return b.Load(Index);
                case Op.Step: return b.Step();
            }
            var args = Args.Select(a => a.Build(b, swapCommutative)).ToArray();
            if (swapCommutative && OpInfo.IsCommutative(Op)) args = new[] { args[1], args[0] };
            return b.Make(Op, args);
        }
    }

    /// <summary>Small random programs: buffers param, grad and 1–2 states, 1–3 hyperparameters.</summary>
    public sealed class RandomProgram
    {
        private static readonly Op[] Binary = { Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Min, Op.Max };
        private static readonly Op[] Unary = { Op.Neg, Op.Abs, Op.Sqrt, Op.Exp, Op.Sign };
        private static readonly float[] Consts = { 0f, 1f, 2f, 0.5f, 0.9f, -1f, 1e-8f };

        public int States { get; }
        public int Hypers { get; }
        public (int buffer, Expr value)[] Outputs { get; }

        public RandomProgram(Random r, int maxDepth = 3)
        {
            States = 1 + r.Next(2);
            Hypers = 1 + r.Next(3);
            var outs = new List<(int, Expr)> { (0, Gen(r, maxDepth)) };
            for (int s = 0; s < States; s++) if (r.Next(2) == 0) outs.Add((2 + s, Gen(r, maxDepth)));
            Outputs = outs.ToArray();
        }

        private Expr Gen(Random r, int depth)
        {
            if (depth == 0 || r.Next(5) == 0)
            {
                switch (r.Next(4))
                {
                    case 0: return new Expr(Op.Const, new Expr[0], Consts[r.Next(Consts.Length)]);
                    case 1: return new Expr(Op.Hyper, new Expr[0], Index: r.Next(Hypers));
                    case 2: return new Expr(Op.Step, new Expr[0]);
                    default: return new Expr(Op.Load, new Expr[0], Index: r.Next(2 + States));
                }
            }
            int k = r.Next(10);
            if (k < 6) return new Expr(Binary[r.Next(Binary.Length)], new[] { Gen(r, depth - 1), Gen(r, depth - 1) });
            if (k < 9) return new Expr(Unary[r.Next(Unary.Length)], new[] { Gen(r, depth - 1) });
            var cond = new Expr(Op.Lt, new[] { Gen(r, depth - 1), Gen(r, depth - 1) });
            return new Expr(Op.Where, new[] { cond, Gen(r, depth - 1), Gen(r, depth - 1) });
        }

        /// <summary>Builds the program; names, defaults, operand order of commutative ops and dead statements vary with the flags.</summary>
        public RuleProgram Build(string prefix = "", bool swapCommutative = false, bool deadStatement = false, double defaults = 0.5)
        {
            var b = new IrBuilder();
            var outputs = Outputs.Select(o => new Output(o.buffer, o.value.Build(b, swapCommutative))).ToList();
            var statements = new List<Statement>();
            if (deadStatement)
                statements.Add(new Statement(prefix + "dead", -1, b.Mul(b.Load(1), b.Const(123f)), "var dead = grad * 123;"));
            var buffers = new List<BufferDecl> { new BufferDecl(prefix + "param", BufferRole.Param), new BufferDecl(prefix + "grad", BufferRole.Grad) };
            for (int s = 0; s < States; s++) buffers.Add(new BufferDecl(prefix + "s" + s, BufferRole.State));
            var hypers = Enumerable.Range(0, Hypers).Select(h => new HyperDecl(prefix + "h" + h, defaults + h)).ToList();
            return new RuleProgram(prefix + "Random", buffers.ToEquatableArray(), hypers.ToEquatableArray(),
                outputs.OrderBy(o => o.Buffer).ToEquatableArray(), statements.ToEquatableArray());
        }
    }
}
