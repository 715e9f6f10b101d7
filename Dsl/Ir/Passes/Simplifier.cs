using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir.Passes
{
    /// <summary>
    /// Constant folding, exact algebraic identities, common-subexpression elimination (by rebuilding
    /// through a hash-consing builder) and dead-code elimination (only what reaches an output
    /// survives; an output equal to its own load is dropped). Every rewrite keeps results bit-exact,
    /// except Pow by the constants 0.5, 1, 2 and −0.5, which become Sqrt, identity, a product and Rsqrt
    /// (more accurate than exp·log, and defined for negative bases where that makes sense).
    /// </summary>
    public static class Simplifier
    {
        /// <summary><paramref name="program"/> simplified algebraically; float32 results unchanged.</summary>
        public static RuleProgram Run(RuleProgram program)
        {
            var builder = new IrBuilder();
            var memo = new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
            var outputs = new List<Output>();
            foreach (var o in program.Outputs)
            {
                var v = builder.Rewrite(o.Value, Fold, memo);
                if (v.Op == Op.Load && v.Index == o.Buffer) continue; // x = x: nothing to store
                outputs.Add(new Output(o.Buffer, v));
            }
            var live = new HashSet<Node>(Node.TopologicalOrder(outputs.Select(o => o.Value)), NodeIdentityComparer.Instance);
            var statements = new List<Statement>();
            foreach (var s in program.Statements)
            {
                var v = builder.Rewrite(s.Value, Fold, memo);
                if (live.Contains(v) || (!s.IsLocal && outputs.Any(o => o.Buffer == s.Buffer)))
                    statements.Add(s with { Value = v });
            }
            return program.WithOutputs(outputs, statements);
        }

        /// <summary>One local rewrite of a node whose sources are already simplified.</summary>
        public static Node Fold(IrBuilder b, Node n)
        {
            if (n.IsLeaf) return n;
            var g = OpInfo.Group(n.Op);
            if (g is OpGroup.Reduction or OpGroup.Matrix) return n;

            // All sources constant: evaluate as a uniform (float64), round to float32 -- but only when
            // float32 holds the result exactly. Otherwise the rounded constant would feed later uniform
            // arithmetic (done in float64) a different value than the unfolded program computes; left
            // alone, the node stays a uniform value, computed once per call in float64.
            if (n.Type == IrType.F32 && n.Sources.All(IsConstLike))
            {
                double exact = Semantics.Double(n.Op, ConstOf(n, 0), ConstOf(n, 1), ConstOf(n, 2));
                float folded = (float)exact;
                if (float.IsNaN(folded) || folded == exact) return b.Const(folded);
            }

            switch (n.Op)
            {
                case Op.Mul when IsConst(n[1], 1f): return n[0];
                case Op.Mul when IsConst(n[0], 1f): return n[1];
                case Op.Div when IsConst(n[1], 1f): return n[0];
                case Op.Sub when IsConst(n[1], 0f) && !IsNegativeZero(n[1]): return n[0];
                case Op.Neg when n[0].Op == Op.Neg: return n[0][0];
                // Selects of a value with itself, and idempotent unary ops (same bits for every input, NaN included).
                case Op.Min when n[0].Equals(n[1]): return n[0];
                case Op.Max when n[0].Equals(n[1]): return n[0];
                case Op.Abs when n[0].Op is Op.Abs or Op.Neg: return b.Make(Op.Abs, n[0][0]);
                case Op.Sign when n[0].Op == Op.Sign: return n[0];
                case Op.Not when n[0].Op == Op.Not: return n[0][0];
                case Op.Where when n[1].Equals(n[2]): return n[1];
                case Op.Where when n[0].Sources.Length > 0 && n[0].Sources.All(IsConstLike) && OpInfo.Group(n[0].Op) == OpGroup.Compare:
                    return Semantics.Double(n[0].Op, ConstOf(n[0], 0), ConstOf(n[0], 1)) != 0 ? n[1] : n[2];
                case Op.Pow when IsConst(n[1], 1f): return n[0];
                case Op.Pow when IsConst(n[1], 2f): return b.Mul(n[0], n[0]);
                case Op.Pow when IsConst(n[1], 0.5f): return b.Make(Op.Sqrt, n[0]);
                case Op.Pow when IsConst(n[1], -0.5f): return b.Make(Op.Rsqrt, n[0]);
            }
            return n;
        }

        private static bool IsConstLike(Node n) => n.Op == Op.Const;
        private static bool IsConst(Node n, float v) => n.Op == Op.Const && n.Value == v;
        private static bool IsNegativeZero(Node n) => n.Op == Op.Const && ScalarMath.ToBits(n.Value) == unchecked((int)0x80000000);
        private static double ConstOf(Node n, int i) => i < n.Sources.Length ? n.Sources[i].Value : 0.0;
    }
}
