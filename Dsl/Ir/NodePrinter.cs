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
        /// <summary><paramref name="n"/> as a C#-like expression, with buffer and hyperparameter names from <paramref name="p"/> and named subexpressions from <paramref name="names"/>.</summary>
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

        // Iterative (an explicit stack of nodes to write and text to append): a sum of 25,000 terms nests as deep.
        private static void Write(Node root, RuleProgram p, IReadOnlyDictionary<Node, string>? names, StringBuilder sb, int rootPrecedence, bool isRoot = false)
        {
            var work = new Stack<(Node? node, string? text, int parentPrecedence, bool isRoot)>();
            work.Push((root, null, rootPrecedence, isRoot));
            while (work.Count > 0)
            {
                var (n, text, parentPrecedence, atRoot) = work.Pop();
                if (n is null) { sb.Append(text); continue; }
                if (!atRoot && names != null && names.TryGetValue(n, out var named)) { sb.Append(named); continue; }
                switch (n.Op)
                {
                    case Op.Const: sb.Append(Emit.CSharpLiteral.Float(n.Value)); continue;
                    case Op.Hyper: sb.Append(n.Index < p.Hypers.Count ? p.Hypers[n.Index].Name : "h" + n.Index); continue;
                    case Op.Step: sb.Append('t'); continue;
                    case Op.Load: sb.Append(n.Index < p.Buffers.Count ? p.Buffers[n.Index].Name : "b" + n.Index); continue;
                    case Op.Shape: sb.Append(((ShapeScalar)n.Index).ToString()); continue;
                }
                // What follows is pushed in reverse: the stack pops it in reading order.
                // The language spells ReduceMax only as MaxAbs(x) = ReduceMax(Abs(x)).
                if (n.Op == Op.ReduceMax && n[0].Op == Op.Abs)
                {
                    work.Push((null, ")", 0, false));
                    work.Push((n[0][0], null, 0, false));
                    sb.Append("MaxAbs(");
                    continue;
                }
                int prec = Precedence(n.Op);
                var infix = Infix(n.Op);
                bool parens = prec <= parentPrecedence && prec < 8;
                if (parens) work.Push((null, ")", 0, false));
                if (infix != null)
                {
                    work.Push((n[1], null, prec, false)); // right operand binds tighter: a - (b - c)
                    work.Push((null, infix, 0, false));
                    work.Push((n[0], null, prec - 1, false));
                }
                else if (n.Op is Op.Neg or Op.Not)
                {
                    work.Push((n[0], null, prec, false));
                    work.Push((null, n.Op == Op.Neg ? "-" : "!", 0, false));
                }
                else
                {
                    work.Push((null, ")", 0, false));
                    for (int i = n.Sources.Length - 1; i >= 0; i--)
                    {
                        work.Push((n.Sources[i], null, 0, false));
                        if (i > 0) work.Push((null, ", ", 0, false));
                    }
                    work.Push((null, FunctionName(n.Op) + "(", 0, false));
                }
                if (parens) sb.Append('(');
            }
        }
    }
}
