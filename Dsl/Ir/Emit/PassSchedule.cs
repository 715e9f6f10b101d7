using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir.Emit
{
    /// <summary>
    /// What every backend's pass emitter needs to know about a pass, decided once here: which uniform
    /// values it reads, and its nodes in order, grouped under the DSL statement each comes from.
    /// </summary>
    public static class PassSchedule
    {
        /// <summary>A group of nodes to emit; <see cref="Comment"/> is the DSL statement (one line) or null.</summary>
        public sealed record Block(string? Comment, IReadOnlyList<Node> Nodes);

        /// <summary>Uniform values the pass reads (hyperparameters, hoisted expressions, reduction results), by slot.</summary>
        public static List<Node> UniformInputs(ElementPass pass, IReadOnlyDictionary<Node, int> slots)
        {
            var passNodes = new HashSet<Node>(pass.Nodes, NodeIdentityComparer.Instance);
            var inputs = new HashSet<Node>(pass.Inputs.Select(x => x.Value));
            return pass.Nodes.SelectMany(n => n.Sources).Concat(pass.Stores.Select(s => s.Value)).Concat(pass.Reductions.Select(r => r.Sources[0]))
                // A Load of an element buffer is an input; a Load of a scalar or row state is a uniform (per-row) slot.
                .Where(n => !passNodes.Contains(n) && n.Op != Op.Const && !inputs.Contains(n))
                .Distinct(NodeIdentityComparer.Instance).OrderBy(n => slots[n]).ToList();
        }

        /// <summary>The pass's computed nodes in dependency order, grouped by the statement that first needs them.</summary>
        public static List<Block> Blocks(RuleProgram program, ElementPass pass) => Blocks(program, pass.Nodes);

        /// <summary>
        /// <paramref name="members"/> in dependency order, grouped by the statement that first needs them (the rest, in
        /// their given order, last): a pass's nodes, or the uniform values a level computes.
        /// </summary>
        public static List<Block> Blocks(RuleProgram program, IReadOnlyList<Node> members)
        {
            var passNodes = new HashSet<Node>(members, NodeIdentityComparer.Instance);
            var emitted = new HashSet<Node>(NodeIdentityComparer.Instance);
            // Nodes an earlier statement's walk listed are not walked again: their pass nodes are emitted already. Each
            // node is walked once over all statements (a body of thousands of statements sharing values stays linear).
            var walked = new HashSet<Node>(NodeIdentityComparer.Instance);
            var blocks = new List<Block>();
            foreach (var stmt in program.Statements)
            {
                // Walk through nodes of other levels too: a pass may compute part of a statement whose
                // result belongs to a later pass (C-AdamW stores u * mask for the division after the cut).
                var order = Node.TopologicalOrder(new[] { stmt.Value }, walked.Contains);
                walked.UnionWith(order);
                var nodes = order.Where(n => passNodes.Contains(n) && emitted.Add(n)).ToList();
                if (nodes.Count > 0) blocks.Add(new Block(OneLine(stmt.Source), nodes));
            }
            var rest = members.Where(n => emitted.Add(n)).ToList();
            if (rest.Count > 0) blocks.Add(new Block(null, rest));
            return blocks;
        }

        /// <summary>Nodes named by the rule's own statements (locals as written, buffers as "name'"), for comments.</summary>
        public static Dictionary<Node, string> StatementNames(RuleProgram p)
        {
            var names = new Dictionary<Node, string>();
            foreach (var s in p.Statements)
                if (s.Value.Op != Op.Load && !names.ContainsKey(s.Value)) names[s.Value] = s.IsLocal ? s.Target : s.Target + "'";
            return names;
        }

        /// <summary><paramref name="source"/> with its line breaks replaced by spaces (for one-line comments).</summary>
        public static string OneLine(string source) =>
            string.Join(" ", source.Split(new[] { '\r', '\n', '\t', ' ' }, StringSplitOptions.RemoveEmptyEntries));
    }
}
