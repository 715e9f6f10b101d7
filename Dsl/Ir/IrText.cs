using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Fused.Ir
{
    /// <summary>
    /// A line-oriented text form of a program, stable and culture-invariant: what the generator embeds
    /// for search warm starts, what the search stores in its database, and what Parse reads back.
    /// <code>
    /// rule Lion
    /// buffer param Param Element
    /// hyper lr 0.0001
    /// %0 = Load 0
    /// %3 = Mul %1 %2
    /// out 0 %7
    /// stmt 2 %5 "momentum" "momentum = beta2 * momentum + (1 - beta2) * grad;"
    /// </code>
    /// </summary>
    public static class IrText
    {
        /// <summary>The program in IR text form (with statement names when <paramref name="includeNames"/>).</summary>
        public static string Write(RuleProgram p, bool includeNames = true)
        {
            var sb = new StringBuilder();
            var inv = CultureInfo.InvariantCulture;
            sb.Append("rule ").Append(includeNames ? p.Name : "_").Append('\n');
            for (int i = 0; i < p.Buffers.Count; i++)
            {
                var b = p.Buffers[i];
                sb.Append("buffer ").Append(includeNames ? b.Name : "b" + i.ToString(inv)).Append(' ').Append(b.Role).Append(' ').Append(b.Shape).Append('\n');
            }
            for (int i = 0; i < p.Hypers.Count; i++)
            {
                var h = p.Hypers[i];
                sb.Append("hyper ").Append(includeNames ? h.Name : "h" + i.ToString(inv)).Append(' ');
                sb.Append(includeNames ? h.Default.ToString("R", inv) : "_").Append('\n');
            }
            var roots = p.Outputs.Select(o => o.Value).ToList();
            if (includeNames) roots.AddRange(p.Statements.Select(s => s.Value));
            var order = Node.TopologicalOrder(roots);
            var ids = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            foreach (var n in order)
            {
                int id = ids.Count;
                ids[n] = id;
                sb.Append('%').Append(id.ToString(inv)).Append(" = ").Append(n.Op);
                switch (n.Op)
                {
                    case Op.Const: sb.Append(' ').Append(ScalarMath.ToBits(n.Value).ToString("X8", inv)); break;
                    case Op.Hyper: case Op.Load: case Op.Shape: sb.Append(' ').Append(n.Index.ToString(inv)); break;
                }
                foreach (var s in n.Sources) sb.Append(" %").Append(ids[s].ToString(inv));
                sb.Append('\n');
            }
            foreach (var o in p.Outputs)
                sb.Append("out ").Append(o.Buffer.ToString(inv)).Append(" %").Append(ids[o.Value].ToString(inv)).Append('\n');
            if (includeNames)
                foreach (var s in p.Statements)
                    sb.Append("stmt ").Append(s.Buffer.ToString(inv)).Append(" %").Append(ids[s.Value].ToString(inv))
                      .Append(' ').Append(Quote(s.Target)).Append(' ').Append(Quote(s.Source)).Append('\n');
            return sb.ToString();
        }

        /// <summary>Reads a program written by <see cref="Write"/>.</summary>
        public static RuleProgram Parse(string text)
        {
            var b = new IrBuilder();
            string name = "";
            var buffers = new List<BufferDecl>();
            var hypers = new List<HyperDecl>();
            var nodes = new List<Node>();
            var outputs = new List<Output>();
            var statements = new List<Statement>();
            var inv = CultureInfo.InvariantCulture;
            int lineNo = 0;
            foreach (var raw in text.Split('\n'))
            {
                lineNo++;
                var line = raw.TrimEnd('\r');
                if (line.Length == 0) continue;
                try
                {
                    var parts = Tokenize(line);
                    switch (parts[0])
                    {
                        case "rule": name = line.Substring("rule ".Length); break; // the rest of the line: names may hold spaces ("Tiger (full)")
                        case "buffer":
                            buffers.Add(new BufferDecl(parts[1], (BufferRole)Enum.Parse(typeof(BufferRole), parts[2]), (StateShape)Enum.Parse(typeof(StateShape), parts[3])));
                            break;
                        case "hyper":
                            hypers.Add(new HyperDecl(parts[1], parts[2] == "_" ? 0.0 : double.Parse(parts[2], NumberStyles.Float, inv)));
                            break;
                        case "out":
                            outputs.Add(new Output(int.Parse(parts[1], inv), Ref(nodes, parts[2])));
                            break;
                        case "stmt":
                            statements.Add(new Statement(parts[3], int.Parse(parts[1], inv), Ref(nodes, parts[2]), parts[4]));
                            break;
                        default:
                            if (!parts[0].StartsWith("%", StringComparison.Ordinal) || parts[1] != "=")
                                throw new FormatException("unknown line");
                            if (int.Parse(parts[0].Substring(1), inv) != nodes.Count) throw new FormatException("node ids must be consecutive");
                            var op = (Op)Enum.Parse(typeof(Op), parts[2]);
                            int k = 3;
                            float value = 0f; int index = 0;
                            if (op == Op.Const) value = ScalarMath.FromBits(int.Parse(parts[k++], NumberStyles.HexNumber, inv));
                            else if (op is Op.Hyper or Op.Load or Op.Shape) index = int.Parse(parts[k++], inv);
                            var srcs = parts.Skip(k).Select(t => Ref(nodes, t)).ToImmutableArray();
                            nodes.Add(op switch
                            {
                                Op.Const => b.Const(value),
                                Op.Hyper => b.Hyper(index),
                                Op.Step => b.Step(),
                                Op.Load => b.Load(index),
                                Op.Shape => b.Shape((ShapeScalar)index),
                                _ => b.Make(op, srcs),
                            });
                            break;
                    }
                }
                catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException or OverflowException or IrException)
                {
                    throw new FormatException($"IR text line {lineNo}: '{line}': {e.Message}", e);
                }
            }
            var program = new RuleProgram(name, buffers.ToEquatableArray(), hypers.ToEquatableArray(),
                outputs.OrderBy(o => o.Buffer).ToEquatableArray(), statements.ToEquatableArray());
            Verifier.ThrowIfInvalid(program);
            return program;
        }

        private static Node Ref(List<Node> nodes, string token)
        {
            if (!token.StartsWith("%", StringComparison.Ordinal)) throw new FormatException($"expected a node reference, got '{token}'");
            int id = int.Parse(token.Substring(1), CultureInfo.InvariantCulture);
            if (id < 0 || id >= nodes.Count) throw new FormatException($"node %{id} is not defined yet");
            return nodes[id];
        }

        /// <summary>A string as one token: quoted, with backslash escapes (also used by <see cref="ScheduleText"/>).</summary>
        internal static string Quote(string s) =>
            "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "") + "\"";

        /// <summary>Splits a line at spaces; a quoted string is one token (also used by <see cref="ScheduleText"/>).</summary>
        internal static List<string> Tokenize(string line)
        {
            var parts = new List<string>();
            int i = 0;
            while (i < line.Length)
            {
                if (line[i] == ' ') { i++; continue; }
                if (line[i] == '"')
                {
                    var sb = new StringBuilder();
                    i++;
                    while (i < line.Length && line[i] != '"')
                    {
                        if (line[i] == '\\' && i + 1 < line.Length)
                        {
                            i++;
                            sb.Append(line[i] == 'n' ? '\n' : line[i]);
                        }
                        else sb.Append(line[i]);
                        i++;
                    }
                    if (i >= line.Length) throw new FormatException("unterminated string");
                    i++;
                    parts.Add(sb.ToString());
                }
                else
                {
                    int start = i;
                    while (i < line.Length && line[i] != ' ') i++;
                    parts.Add(line.Substring(start, i - start));
                }
            }
            return parts;
        }
    }
}
