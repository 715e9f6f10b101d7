using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Fused.Ir
{
    /// <summary>
    /// The one node type of the IR: (op, type, sources, argument). Immutable and structurally equal:
    /// two nodes are equal when their op, argument and sources are equal, so a whole program compares
    /// and hashes by value (what the generator's incremental cache and the search's dedup need).
    /// Build nodes through <see cref="IrBuilder"/>, which hash-conses them (equal subtrees are one object).
    /// </summary>
    public sealed class Node : IEquatable<Node>
    {
        /// <summary>The node's op.</summary>
        public Op Op { get; }
        /// <summary>The node's value type.</summary>
        public IrType Type { get; }
        /// <summary>The operands, in op order.</summary>
        public ImmutableArray<Node> Sources { get; }
        /// <summary>Literal value of an Op.Const (0 otherwise).</summary>
        public float Value { get; }
        /// <summary>Hyperparameter, buffer or shape-scalar index of a leaf (0 otherwise).</summary>
        public int Index { get; }

        private readonly int _hash;
        /// <summary>Longest path to a leaf; leaves are 0.</summary>
        public int Depth { get; }

        internal Node(Op op, IrType type, ImmutableArray<Node> sources, float value, int index)
        {
            Op = op;
            Type = type;
            Sources = sources.IsDefault ? ImmutableArray<Node>.Empty : sources;
            Value = value;
            Index = index;
            unchecked
            {
                int h = ((int)op * 397) ^ ((int)type * 31) ^ (ScalarMath.ToBits(value) * 17) ^ (index * 7919);
                int depth = 0;
                foreach (var s in Sources)
                {
                    h = h * 31 + s._hash;
                    if (s.Depth + 1 > depth) depth = s.Depth + 1;
                }
                _hash = h;
                Depth = depth;
            }
        }

        /// <summary>Operand <paramref name="i"/>.</summary>
        public Node this[int i] => Sources[i];

        /// <summary>Whether the node has no operands (a constant, hyperparameter, step, load or shape scalar).</summary>
        public bool IsLeaf => Sources.Length == 0;

        /// <summary>Structural equality: same op, type, value, index and equal operands.</summary>
        public bool Equals(Node? other)
        {
            if (ReferenceEquals(this, other)) return true;
            if (other is null || !SameShallow(this, other)) return false;
            // Hash-consed sources (the builder's lookups) are one object each: no walk needed.
            bool identicalSources = true;
            for (int i = 0; i < Sources.Length && identicalSources; i++) identicalSources = ReferenceEquals(Sources[i], other.Sources[i]);
            return identicalSources || DeepEquals(this, other);
        }

        private static bool SameShallow(Node a, Node b) =>
            a._hash == b._hash && a.Op == b.Op && a.Type == b.Type && a.Index == b.Index &&
            ScalarMath.ToBits(a.Value) == ScalarMath.ToBits(b.Value) && a.Sources.Length == b.Sources.Length;

        // DAGs from two builders (the generator's cache compares one run's program with the last): iterative, as they
        // may be 25,000 deep, and each pair of nodes compared once, as shared subtrees would otherwise be exponential.
        private static bool DeepEquals(Node a, Node b)
        {
            var seen = new HashSet<(Node, Node)>(PairIdentityComparer.Instance);
            var pending = new Stack<(Node, Node)>();
            pending.Push((a, b));
            while (pending.Count > 0)
            {
                var (x, y) = pending.Pop();
                if (ReferenceEquals(x, y) || !seen.Add((x, y))) continue;
                if (!SameShallow(x, y)) return false;
                for (int i = 0; i < x.Sources.Length; i++) pending.Push((x.Sources[i], y.Sources[i]));
            }
            return true;
        }

        private sealed class PairIdentityComparer : IEqualityComparer<(Node, Node)>
        {
            public static readonly PairIdentityComparer Instance = new PairIdentityComparer();
            public bool Equals((Node, Node) x, (Node, Node) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);
            public int GetHashCode((Node, Node) p) => unchecked(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(p.Item1) * 31
                + System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(p.Item2));
        }

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Node n && Equals(n);
        /// <inheritdoc/>
        public override int GetHashCode() => _hash;

        /// <summary>
        /// Compact prefix form, e.g. <c>Add(Mul(h0, b2), Const(1))</c>; for debugging and diagnostics. Written without
        /// recursion (programs may be 25,000 deep) and cut at <see cref="MaxDisplayLength"/> characters with "...", since
        /// shared subtrees print once per use and a DAG's text can grow exponentially.
        /// </summary>
        public override string ToString()
        {
            var sb = new StringBuilder();
            var pending = new Stack<object>(); // a Node to write, or a string to append after its operands
            pending.Push(this);
            while (pending.Count > 0 && sb.Length <= MaxDisplayLength)
            {
                var item = pending.Pop();
                if (item is string text) { sb.Append(text); continue; }
                var node = (Node)item;
                switch (node.Op)
                {
                    case Op.Const: sb.Append(node.Value.ToString("R", CultureInfo.InvariantCulture)); continue;
                    case Op.Hyper: sb.Append('h').Append(node.Index.ToString(CultureInfo.InvariantCulture)); continue;
                    case Op.Step: sb.Append('t'); continue;
                    case Op.Load: sb.Append('b').Append(node.Index.ToString(CultureInfo.InvariantCulture)); continue;
                    case Op.Shape: sb.Append(((ShapeScalar)node.Index).ToString()); continue;
                }
                sb.Append(OpInfo.Name(node.Op)).Append('(');
                pending.Push(")");
                for (int i = node.Sources.Length - 1; i >= 0; i--)
                {
                    pending.Push(node.Sources[i]);
                    if (i > 0) pending.Push(", ");
                }
            }
            if (pending.Count > 0) { sb.Length = Math.Min(sb.Length, MaxDisplayLength); sb.Append("..."); }
            return sb.ToString();
        }

        /// <summary>Longest text <see cref="ToString"/> writes before it cuts the rest to "...".</summary>
        public const int MaxDisplayLength = 4000;

        /// <summary>All nodes reachable from <paramref name="roots"/>, sources before users, each once.</summary>
        public static List<Node> TopologicalOrder(IEnumerable<Node> roots) => TopologicalOrder(roots, null);

        /// <summary>As above, but nodes for which <paramref name="stop"/> holds are neither listed nor walked into.</summary>
        public static List<Node> TopologicalOrder(IEnumerable<Node> roots, Func<Node, bool>? stop)
        {
            var order = new List<Node>();
            var seen = new HashSet<Node>(NodeIdentityComparer.Instance);
            var stack = new Stack<(Node node, int next)>();
            foreach (var root in roots)
            {
                if (stop != null && stop(root)) continue;
                if (!seen.Add(root)) continue;
                stack.Push((root, 0));
                while (stack.Count > 0)
                {
                    var (node, next) = stack.Pop();
                    if (next < node.Sources.Length)
                    {
                        stack.Push((node, next + 1));
                        var src = node.Sources[next];
                        if ((stop == null || !stop(src)) && seen.Add(src)) stack.Push((src, 0));
                    }
                    else
                    {
                        order.Add(node);
                    }
                }
            }
            return order;
        }
    }

    /// <summary>Reference identity, for walks over hash-consed DAGs.</summary>
    public sealed class NodeIdentityComparer : IEqualityComparer<Node>
    {
        /// <summary>The one instance.</summary>
        public static readonly NodeIdentityComparer Instance = new NodeIdentityComparer();
        /// <summary>Reference equality.</summary>
        public bool Equals(Node? x, Node? y) => ReferenceEquals(x, y);
        /// <summary>The identity hash of <paramref name="obj"/>.</summary>
        public int GetHashCode(Node obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }
}
