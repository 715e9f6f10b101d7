using System.Collections.Generic;
using System.Text;

namespace Fused.Ir
{
    /// <summary>
    /// Prints a node as a Fused-language expression using the program's names
    /// (<c>1 - Pow(beta1, t)</c>), for comments in emitted code, diagnostics and exported rules.
    /// </summary>
    public static class NodePrinter
    {
        public static string Print(Node n, RuleProgram p, IReadOnlyDictionary<Node, string>? names = null)
        {
            var sb = new StringBuilder();
            Write(n, p, names, sb, 0, isRoot: true);
            return sb.ToString();
        }

        private static int Precedence(Op op) => op switch
        {
            Op.Or => 1,
            Op.And => 2,
            Op.Eq or Op.Ne => 3,
            Op.Lt or Op.Le or Op.Gt or Op.Ge => 4,
            Op.Add or Op.Sub => 5,
            Op.Mul or Op.Div => 6,
            Op.Neg or Op.Not => 7,
            _ => 8,
        };

        private static string? Infix(Op op) => op switch
        {
            Op.Add => " + ", Op.Sub => " - ", Op.Mul => " * ", Op.Div => " / ",
            Op.Lt => " < ", Op.Le => " <= ", Op.Gt => " > ", Op.Ge => " >= ", Op.Eq => " == ", Op.Ne => " != ",
            Op.And => " && ", Op.Or => " || ",
            _ => null,
        };

        private static string FunctionName(Op op) => op switch
        {
            Op.ReduceSum => "Sum",
            Op.ReduceMax => "MaxOf",
            Op.RowSum => "RowSum",
            Op.ColSum => "ColSum",
            _ => op.ToString(),
        };

        private static void Write(Node n, RuleProgram p, IReadOnlyDictionary<Node, string>? names, StringBuilder sb, int parentPrecedence, bool isRoot = false)
        {
            if (!isRoot && names != null && names.TryGetValue(n, out var named)) { sb.Append(named); return; }
            switch (n.Op)
            {
                case Op.Const: sb.Append(Emit.CSharpLiteral.Float(n.Value)); return;
                case Op.Hyper: sb.Append(n.Index < p.Hypers.Count ? p.Hypers[n.Index].Name : "h" + n.Index); return;
                case Op.Step: sb.Append('t'); return;
                case Op.Load: sb.Append(n.Index < p.Buffers.Count ? p.Buffers[n.Index].Name : "b" + n.Index); return;
                case Op.Shape: sb.Append(((ShapeScalar)n.Index).ToString()); return;
            }
            // The language spells ReduceMax only as MaxAbs(x) = ReduceMax(Abs(x)).
            if (n.Op == Op.ReduceMax && n[0].Op == Op.Abs)
            {
                sb.Append("MaxAbs(");
                Write(n[0][0], p, names, sb, 0);
                sb.Append(')');
                return;
            }
            int prec = Precedence(n.Op);
            var infix = Infix(n.Op);
            bool parens = prec <= parentPrecedence && prec < 8;
            if (parens) sb.Append('(');
            if (infix != null)
            {
                Write(n[0], p, names, sb, prec - 1);
                sb.Append(infix);
                Write(n[1], p, names, sb, prec); // right operand binds tighter: a - (b - c)
            }
            else if (n.Op == Op.Neg) { sb.Append('-'); Write(n[0], p, names, sb, prec); }
            else if (n.Op == Op.Not) { sb.Append('!'); Write(n[0], p, names, sb, prec); }
            else
            {
                sb.Append(FunctionName(n.Op)).Append('(');
                for (int i = 0; i < n.Sources.Length; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(n.Sources[i], p, names, sb, 0);
                }
                sb.Append(')');
            }
            if (parens) sb.Append(')');
        }
    }
}
