using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Passes;

namespace Fused.Search.Mutation
{
    /// <summary>
    /// Brings a program to the canonical form the search stores and evaluates, without changing what
    /// it computes (states start at zero): simplification (folding, CSE, dead-code removal), pruning of
    /// states that never influence the parameter, replacement of never-written states by their initial
    /// zero, and protection of Sqrt, Rsqrt, Log and Pow, whose base is wrapped in Abs unless
    /// <see cref="SignAnalysis"/> proves it non-negative (the hero function set's protected ops, spelled
    /// so the generator's FUSED008 check accepts the exported rule). Statements are dropped.
    /// </summary>
    public static class ProgramNormalizer
    {
        public static RuleProgram Run(RuleProgram program)
        {
            var p = Simplifier.Run(program.WithOutputs(program.Outputs, System.Array.Empty<Statement>()));
            for (int round = 0; round < 6; round++)
            {
                var next = Protect(PruneStates(p));
                next = SignCollapse.Run(Simplifier.Run(next));
                if (next.Equals(p)) return p;
                p = next;
            }
            return p;
        }

        /// <summary>Ops whose first argument must be non-negative (as the generator checks it).</summary>
        public static bool IsGuarded(Node n) =>
            n.Op is Op.Sqrt or Op.Rsqrt or Op.Log || (n.Op == Op.Pow && n[0].Op != Op.Const);

        private static RuleProgram PruneStates(RuleProgram p)
        {
            // States that matter: those loaded, transitively, by the parameter's new value.
            var param = p.OutputOf(RuleProgram.ParamBuffer);
            if (param == null) return p;
            var live = new HashSet<int>();
            var work = new Stack<Node>();
            work.Push(param);
            var seen = new HashSet<Node>(NodeIdentityComparer.Instance);
            while (work.Count > 0)
            {
                foreach (var n in Node.TopologicalOrder(new[] { work.Pop() }))
                {
                    if (!seen.Add(n)) continue;
                    if (n.Op == Op.Load && p.Buffers[n.Index].Role == BufferRole.State && live.Add(n.Index))
                    {
                        var o = p.OutputOf(n.Index);
                        if (o != null) work.Push(o);
                    }
                }
            }
            var b = new IrBuilder();
            for (int s = p.Buffers.Count - 1; s >= 2; s--)
            {
                if (!live.Contains(s)) { p = ProgramEdits.RemoveBuffer(p, s, b.Const(0f)); continue; }
                // Read but never written: it keeps its initial zero.
                if (p.OutputOf(s) == null) p = ProgramEdits.RemoveBuffer(p, s, b.Const(0f));
            }
            return p;
        }

        private static RuleProgram Protect(RuleProgram p)
        {
            var signs = new SignAnalysis(p);
            var b = new IrBuilder();
            var memo = new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
            bool changed = false;
            foreach (var n in p.Nodes())
            {
                if (n.IsLeaf) { memo[n] = b.Import(n); continue; }
                var sources = n.Sources.Select(s => memo[s]).ToArray();
                if (IsGuarded(n) && !signs.IsNonNegative(n[0]))
                {
                    sources[0] = b.Make(Op.Abs, sources[0]);
                    changed = true;
                }
                memo[n] = b.Make(n.Op, ImmutableArray.Create(sources), n.Value, n.Index);
            }
            if (!changed) return p;
            return p.WithOutputs(p.Outputs.Select(o => new Output(o.Buffer, memo[o.Value])).ToList(), System.Array.Empty<Statement>());
        }
    }
}
