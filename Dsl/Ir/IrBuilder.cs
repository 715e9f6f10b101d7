using System;
using System.Collections.Generic;
using System.Collections.Immutable;

namespace Fused.Ir
{
    /// <summary>
    /// Creates nodes, hash-consing them so that structurally equal subtrees are one object (which makes
    /// common-subexpression elimination a by-product of construction). Checks arity and source types.
    /// Not thread-safe; use one builder per rule being built.
    /// </summary>
    public sealed class IrBuilder
    {
        private readonly Dictionary<Node, Node> _interned = new Dictionary<Node, Node>();

        /// <summary>Number of distinct nodes made so far.</summary>
        public int Count => _interned.Count;

        /// <summary>The node <paramref name="op"/>(<paramref name="sources"/>), shared with an equal node made before.</summary>
        public Node Make(Op op, params Node[] sources) => Make(op, sources.ToImmutableArray(), 0f, 0);

        /// <summary>The node <paramref name="op"/>(<paramref name="sources"/>) with a constant value or index, folded where constant and shared with an equal node made before.</summary>
        public Node Make(Op op, ImmutableArray<Node> sources, float value = 0f, int index = 0)
        {
            int arity = OpInfo.Arity(op);
            if (sources.Length != arity)
                throw new IrException($"{op} takes {arity} source(s), got {sources.Length}.");
            for (int i = 0; i < arity; i++)
            {
                var expected = OpInfo.SourceType(op, i);
                if (sources[i].Type != expected)
                    throw new IrException($"{op} source {i} must be {expected}, got {sources[i].Type} ({sources[i]}).");
            }
            if (OpInfo.IsCommutative(op) && Canonical(sources[1], sources[0]))
                sources = ImmutableArray.Create(sources[1], sources[0]);
            return Intern(new Node(op, OpInfo.ResultType(op), sources, value, index));
        }

        private Node Intern(Node node)
        {
            if (_interned.TryGetValue(node, out var existing)) return existing;
            foreach (var s in node.Sources)
                if (!(_interned.TryGetValue(s, out var own) && ReferenceEquals(own, s))) return Adopt(node);
            _interned[node] = node;
            return node;
        }

        // Sources may come from another builder: the DAG is re-interned bottom-up so identity means equality here
        // (iteratively: an adopted program may be as deep as a 25,000-term sum).
        private Node Adopt(Node root)
        {
            var adopted = new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
            foreach (var n in Node.TopologicalOrder(new[] { root }))
            {
                if (!_interned.TryGetValue(n, out var node))
                {
                    node = n;
                    if (n.Sources.Length > 0)
                    {
                        var builder = ImmutableArray.CreateBuilder<Node>(n.Sources.Length);
                        bool changed = false;
                        foreach (var s in n.Sources)
                        {
                            var si = adopted[s];
                            changed |= !ReferenceEquals(si, s);
                            builder.Add(si);
                        }
                        if (changed) node = new Node(n.Op, n.Type, builder.MoveToImmutable(), n.Value, n.Index);
                    }
                    _interned[node] = node;
                }
                adopted[n] = node;
            }
            return adopted[root];
        }

        /// <summary>Adopts a node (and its subtree) built elsewhere.</summary>
        public Node Import(Node node) => Intern(node);

        // A fixed total order on operands of commutative ops, so a+b and b+a are one node.
        private static bool Canonical(Node first, Node second)
        {
            if (first.Depth != second.Depth) return first.Depth < second.Depth;
            if (first.Op != second.Op) return first.Op < second.Op;
            if (first.Index != second.Index) return first.Index < second.Index;
            if (first.Value != second.Value) return first.Value < second.Value;
            return first.GetHashCode() < second.GetHashCode();
        }

        // ---- leaves ----
        /// <summary>A float32 constant.</summary>
        public Node Const(float value) => Intern(new Node(Op.Const, IrType.F32, ImmutableArray<Node>.Empty, value, 0));
        /// <summary>Hyperparameter number <paramref name="index"/>.</summary>
        public Node Hyper(int index) => Intern(new Node(Op.Hyper, IrType.F32, ImmutableArray<Node>.Empty, 0f, index));
        /// <summary>The step counter t.</summary>
        public Node Step() => Intern(new Node(Op.Step, IrType.F32, ImmutableArray<Node>.Empty, 0f, 0));
        /// <summary>Buffer <paramref name="buffer"/>'s value at entry to the step.</summary>
        public Node Load(int buffer) => Intern(new Node(Op.Load, IrType.F32, ImmutableArray<Node>.Empty, 0f, buffer));
        /// <summary>A shape scalar of the tensor.</summary>
        public Node Shape(ShapeScalar which) => Intern(new Node(Op.Shape, IrType.F32, ImmutableArray<Node>.Empty, 0f, (int)which));

        // ---- shorthands (the language's sugar lowers to these) ----
        /// <summary>a + b.</summary>
        public Node Add(Node a, Node b) => Make(Op.Add, a, b);
        /// <summary>a − b.</summary>
        public Node Sub(Node a, Node b) => Make(Op.Sub, a, b);
        /// <summary>a · b.</summary>
        public Node Mul(Node a, Node b) => Make(Op.Mul, a, b);
        /// <summary>a / b.</summary>
        public Node Div(Node a, Node b) => Make(Op.Div, a, b);
        /// <summary>−a.</summary>
        public Node Neg(Node a) => Make(Op.Neg, a);
        /// <summary>c ? a : b.</summary>
        public Node Where(Node c, Node a, Node b) => Make(Op.Where, c, a, b);
        /// <summary>Lerp(a, b, t) = a + t·(b − a).</summary>
        public Node Lerp(Node a, Node b, Node t) => Add(a, Mul(t, Sub(b, a)));
        /// <summary>Clamp(x, lo, hi) = Min(Max(x, lo), hi).</summary>
        public Node Clamp(Node x, Node lo, Node hi) => Make(Op.Min, Make(Op.Max, x, lo), hi);

        /// <summary>Rebuilds a node bottom-up, letting <paramref name="rewrite"/> replace each rebuilt node.</summary>
        public Node Rewrite(Node root, Func<IrBuilder, Node, Node> rewrite, Dictionary<Node, Node>? memo = null)
        {
            memo ??= new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
            // Rebuilt subtrees are not walked again: rewriting many roots that share a memo stays linear in their DAG.
            foreach (var n in Node.TopologicalOrder(new[] { root }, memo.ContainsKey))
            {
                Node rebuilt;
                if (n.IsLeaf) rebuilt = Intern(n);
                else
                {
                    var srcs = ImmutableArray.CreateBuilder<Node>(n.Sources.Length);
                    foreach (var s in n.Sources) srcs.Add(memo[s]);
                    rebuilt = Make(n.Op, srcs.MoveToImmutable(), n.Value, n.Index);
                }
                memo[n] = rewrite(this, rebuilt);
            }
            return memo[root];
        }
    }

    /// <summary>A malformed IR construction or program: a bug in whoever built it, never a user error.</summary>
    public sealed class IrException : Exception
    {
        /// <summary>A malformed IR construction, with what was wrong.</summary>
        public IrException(string message) : base(message) { }
    }
}
