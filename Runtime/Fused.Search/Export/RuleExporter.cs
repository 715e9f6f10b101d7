using System.Collections.Generic;
using System.Linq;
using System.Text;
using Fused.Ir;
using Fused.Ir.Emit;

namespace Fused.Search.Export
{
    /// <summary>
    /// Writes a program as a Fused-language rule: an <c>[Optimizer]</c> static partial class whose
    /// <c>Update</c> computes every shared value and every new buffer value into float locals (from
    /// the entry values, as the IR means), then assigns the buffers. Guarded ops already carry their
    /// Abs (see <see cref="Mutation.ProgramNormalizer"/>), so the generator's FUSED008 check passes.
    /// </summary>
    public static class RuleExporter
    {
        public static string ToCSharp(RuleProgram program, string className, string @namespace = "Fused.Search.Found", string? comment = null)
        {
            var p = program;
            var nodes = p.Nodes();
            var uses = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            foreach (var n in nodes) foreach (var s in n.Sources) uses[s] = uses.TryGetValue(s, out var u) ? u + 1 : 1;
            var roots = new HashSet<Node>(p.Outputs.Select(o => o.Value), NodeIdentityComparer.Instance);

            var taken = new HashSet<string>(p.Buffers.Select(b => b.Name).Concat(p.Hypers.Select(h => h.Name))) { "t" };
            var names = new Dictionary<Node, string>(NodeIdentityComparer.Instance);
            var body = new StringBuilder();
            int next = 0;
            string Fresh(string stem)
            {
                string name;
                do name = stem + next++; while (taken.Contains(name));
                taken.Add(name);
                return name;
            }
            foreach (var n in nodes)
            {
                if (n.IsLeaf || n.Type != IrType.F32) continue;
                bool shared = uses.TryGetValue(n, out var count) && count > 1;
                if (!shared && !roots.Contains(n)) continue;
                var name = Fresh("e");
                body.Append("            float ").Append(name).Append(" = ").Append(NodePrinter.Print(n, p, names)).Append(";\n");
                names[n] = name;
            }
            // Every new value is read into a local before any buffer is assigned: all reads see entry values.
            var assignments = new StringBuilder();
            foreach (var o in p.Outputs)
            {
                if (!names.TryGetValue(o.Value, out var value))
                {
                    value = Fresh("o");
                    body.Append("            float ").Append(value).Append(" = ").Append(NodePrinter.Print(o.Value, p, names)).Append(";\n");
                }
                assignments.Append("            ").Append(p.Buffers[o.Buffer].Name).Append(" = ").Append(value).Append(";\n");
            }

            var parameters = new List<string>();
            for (int i = 0; i < p.Buffers.Count; i++)
            {
                var b = p.Buffers[i];
                parameters.Add(b.Role switch
                {
                    BufferRole.Param => "ref float " + b.Name,
                    BufferRole.Grad => "float " + b.Name,
                    _ => (b.Shape == StateShape.Scalar ? "[State(StateShape.Scalar)] ref float " : "[State] ref float ") + b.Name,
                });
            }
            foreach (var h in p.Hypers) parameters.Add($"[Hyper({CSharpLiteral.Double(h.Default)})] float {h.Name}");
            if (p.UsesStep) parameters.Add("[Step] float t");

            var sb = new StringBuilder();
            sb.Append("using Fused;\nusing static Fused.Intrinsics;\n\n");
            sb.Append("namespace ").Append(@namespace).Append("\n{\n");
            sb.Append("    /// <summary>").Append(System.Security.SecurityElement.Escape(comment ?? "Found by Fused.Search.")).Append("</summary>\n");
            sb.Append("    [Optimizer]\n    public static partial class ").Append(className).Append("\n    {\n");
            sb.Append("        static void Update(").Append(string.Join(", ", parameters)).Append(")\n        {\n");
            sb.Append(body).Append(assignments);
            sb.Append("        }\n    }\n}\n");
            return sb.ToString();
        }
    }
}
