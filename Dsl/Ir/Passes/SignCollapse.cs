using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir.Passes
{
    /// <summary>
    /// Collapses sign forms whose scale cannot matter: Sign(c·x) = Sign(x) and Sign(x/c) = Sign(x) for a
    /// provably positive c. Found update rules are full of them (Sign(m̂/(√v̂ + ε)) is Sign(m̂), and
    /// Sign(m/(1 − β₁ᵗ)) is Sign(m)), and only collapsed can they be recognised as Lion's form, share a
    /// functional hash and be read. Positive means: a Const above zero; a value of hyperparameters and the
    /// step only that is positive at the declared defaults for every probe step (as <see cref="SignAnalysis"/>
    /// judges uniforms); a sum of a positive and a non-negative value; a product, quotient or Sqrt of positives;
    /// a Max with a positive side. Exact except where c·x or x/c underflows to zero or overflows (then Sign
    /// of the original is 0 or keeps its sign anyway, but x/c with c = +∞ would be 0); Exp is not counted
    /// positive because it underflows to zero.
    /// </summary>
    public static class SignCollapse
    {
        /// <summary><paramref name="program"/> with sign-only uses collapsed (see the class remarks); float32 results unchanged.</summary>
        public static RuleProgram Run(RuleProgram program)
        {
            var analysis = new SignAnalysis(program);
            var defaults = program.Hypers.Select(h => h.Default).ToArray();
            var positive = new Dictionary<Node, bool>(NodeIdentityComparer.Instance);
            bool IsPositive(Node n)
            {
                if (positive.TryGetValue(n, out var known)) return known;
                bool result = n.Type == IrType.F32 && (SignAnalysis.IsUniformInputsOnly(n)
                    ? SignAnalysis.ProbeSteps.All(t => SignAnalysis.EvaluateUniform(n, defaults, t, new Dictionary<Node, double>(NodeIdentityComparer.Instance)) is var v && v > 0 && v < double.PositiveInfinity)
                    : n.Op switch
                    {
                        Op.Add => (IsPositive(n[0]) && analysis.IsNonNegative(n[1])) || (analysis.IsNonNegative(n[0]) && IsPositive(n[1])),
                        Op.Mul or Op.Div => IsPositive(n[0]) && IsPositive(n[1]),
                        Op.Sqrt => IsPositive(n[0]),
                        Op.Max => IsPositive(n[0]) || IsPositive(n[1]),
                        _ => false,
                    });
                positive[n] = result;
                return result;
            }

            Node Fold(IrBuilder b, Node n)
            {
                if (n.Op != Op.Sign) return n;
                var x = n[0];
                while (true)
                {
                    if (x.Op == Op.Mul && IsPositive(x[0])) x = x[1];
                    else if (x.Op == Op.Mul && IsPositive(x[1])) x = x[0];
                    else if (x.Op == Op.Div && IsPositive(x[1])) x = x[0];
                    else break;
                }
                return ReferenceEquals(x, n[0]) ? n : b.Make(Op.Sign, x);
            }

            var builder = new IrBuilder();
            var memo = new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
            var outputs = program.Outputs.Select(o => new Output(o.Buffer, builder.Rewrite(o.Value, Fold, memo))).ToList();
            var statements = program.Statements.Select(s => s with { Value = builder.Rewrite(s.Value, Fold, memo) }).ToList();
            return program.WithOutputs(outputs, statements);
        }
    }
}
