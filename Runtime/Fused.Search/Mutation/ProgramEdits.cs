using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Search.Mutation
{
    /// <summary>
    /// Structural edits of a program's output DAG: replace nodes, remove a state buffer, add one.
    /// Everything is rebuilt through a fresh hash-consing builder, so results stay canonical.
    /// </summary>
    public static class ProgramEdits
    {
        /// <summary>
        /// Rebuilds the outputs bottom-up; every node equal to a key of <paramref name="map"/> becomes its
        /// value (taken as is: a replacement may refer to the node it replaces, which then keeps its old meaning).
        /// </summary>
        public static RuleProgram Substitute(RuleProgram p, IReadOnlyDictionary<Node, Node> map)
        {
            var b = new IrBuilder();
            var memo = new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
            foreach (var n in p.Nodes())
            {
                if (map.TryGetValue(n, out var r)) { memo[n] = b.Import(r); continue; }
                if (n.IsLeaf) { memo[n] = b.Import(n); continue; }
                var sources = n.Sources.Select(s => memo[s]).ToArray();
                memo[n] = b.Make(n.Op, System.Collections.Immutable.ImmutableArray.Create(sources), n.Value, n.Index);
            }
            var outputs = p.Outputs.Select(o => new Output(o.Buffer, memo[o.Value])).ToList();
            return p.WithOutputs(outputs, System.Array.Empty<Statement>());
        }

        public static RuleProgram Replace(RuleProgram p, Node target, Node replacement) =>
            Substitute(p, new Dictionary<Node, Node> { [target] = replacement });

        /// <summary>Sets (or adds) the output of one buffer.</summary>
        public static RuleProgram SetOutput(RuleProgram p, int buffer, Node value)
        {
            var outputs = p.Outputs.Where(o => o.Buffer != buffer).Append(new Output(buffer, value));
            return p.WithOutputs(outputs, System.Array.Empty<Statement>());
        }

        /// <summary>
        /// Removes state buffer <paramref name="buffer"/>: its loads become <paramref name="replacement"/>
        /// (which must not load it), its output is dropped and later buffers are renumbered.
        /// </summary>
        public static RuleProgram RemoveBuffer(RuleProgram p, int buffer, Node replacement)
        {
            var b = new IrBuilder();
            var memo = new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
            Node Renumber(Node n)
            {
                if (n.Op == Op.Load && n.Index == buffer) return Renumber(replacement);
                if (n.Op == Op.Load && n.Index > buffer) return b.Load(n.Index - 1);
                if (n.IsLeaf) return b.Import(n);
                if (memo.TryGetValue(n, out var done)) return done;
                var sources = n.Sources.Select(Renumber).ToArray();
                var made = b.Make(n.Op, System.Collections.Immutable.ImmutableArray.Create(sources), n.Value, n.Index);
                memo[n] = made;
                return made;
            }
            // Sources first, so the recursion above stays shallow.
            foreach (var n in p.Nodes()) Renumber(n);
            var outputs = p.Outputs.Where(o => o.Buffer != buffer)
                .Select(o => new Output(o.Buffer > buffer ? o.Buffer - 1 : o.Buffer, Renumber(o.Value))).ToList();
            var buffers = p.Buffers.Where((_, i) => i != buffer).ToEquatableArray();
            return (p with { Buffers = buffers }).WithOutputs(outputs, System.Array.Empty<Statement>());
        }

        /// <summary>Adds an element state buffer with a fresh name; returns its index.</summary>
        public static RuleProgram AddState(RuleProgram p, out int buffer)
        {
            var names = new HashSet<string>(p.Buffers.Select(x => x.Name).Concat(p.Hypers.Select(h => h.Name)));
            int k = 1;
            while (names.Contains("s" + k)) k++;
            buffer = p.Buffers.Count;
            var buffers = p.Buffers.Append(new BufferDecl("s" + k, BufferRole.State)).ToEquatableArray();
            return p with { Buffers = buffers };
        }

        /// <summary>Nodes that (transitively) use <paramref name="n"/>, and n itself: replacing a source of n by any of them would make a cycle.</summary>
        public static HashSet<Node> UsersClosure(RuleProgram p, Node n)
        {
            var result = new HashSet<Node>(NodeIdentityComparer.Instance) { n };
            foreach (var x in p.Nodes())
                if (x.Sources.Any(s => result.Contains(s))) result.Add(x);
            return result;
        }
    }
}
