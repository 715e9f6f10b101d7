using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Cuts a simplified program into element passes at whole-tensor ops (reductions, RowSum/ColSum
    /// and matrix passes), hoists every uniform value (anything computed only from hyperparameters, the
    /// step, shape scalars, scalar states and reduction results) out of the passes, and keeps per-row
    /// and per-column values (row/column states and what is computed from them) as small vectors.
    /// <para>A node's level counts the stage boundaries on its longest path to the inputs: pass k
    /// computes the element values of level k, accumulates the reductions whose results have level k+1,
    /// and materialises the sources of level-(k+1) matrix passes into temporaries. Each output is stored
    /// in the earliest pass that can compute it and after which no pass reads that buffer (Muon's
    /// momentum is written in the pass before Newton-Schulz, so the last pass never touches it).</para>
    /// <para>What a later pass needs from earlier levels is either recomputed from the inputs or stored
    /// by an earlier pass into a temporary and read back, whichever moves fewer bytes: a minimum cut of
    /// the pass's data-flow graph, where reading an input costs 4 bytes per element and a temporary 8
    /// (written once, read once). Ties recompute, which needs no memory.</para>
    /// </summary>
    public static class Planner
    {
        /// <summary>Cuts <paramref name="program"/> into levels, passes, uniforms, vectors and matrix passes.</summary>
        public static KernelPlan Plan(RuleProgram program)
        {
            Verifier.ThrowIfInvalid(program);
            return new Build(program).Run();
        }

        /// <summary>Placeholder buffer numbers while the number of temporaries is still open.</summary>
        private const int ColumnPlaceholder = -1, ColumnSumPlaceholder = -2;

        private sealed class Build
        {
            private readonly RuleProgram _program;
            private readonly List<Node> _nodes;
            private readonly Dictionary<Node, Domain> _domains;
            private readonly Dictionary<Node, int> _levels = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            private readonly List<Output> _elementOutputs, _scalarStores, _vectorStores;
            private readonly List<Node> _elementReductions, _vectorReductions, _columnSums, _matrixNodes;
            private readonly Dictionary<Node, int> _tempOf = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            /// <summary>Values stored into a temporary by the pass of the given level for later passes.</summary>
            private readonly Dictionary<Node, int> _storedBy = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            private readonly List<Node> _temps = new List<Node>();

            public Build(RuleProgram program)
            {
                _program = program;
                _domains = DomainAnalysis.Compute(program);
                _nodes = program.Nodes();
                foreach (var n in _nodes)
                {
                    int level = 0;
                    foreach (var s in n.Sources) level = System.Math.Max(level, _levels[s]);
                    if (OpInfo.IsStageBoundary(n.Op))
                    {
                        var operand = _domains[n.Sources[0]];
                        if (operand == Domain.Uniform)
                            throw new PlanningException(n, $"{Describe(n)} of a value that is the same for every element");
                        if (n.Op is Op.RowSum or Op.ColSum && operand != Domain.Element)
                            throw new PlanningException(n, $"{Describe(n)} of a value that already has one value per {(operand == Domain.Row ? "row" : "column")}");
                        if (OpInfo.Group(n.Op) == OpGroup.Matrix && operand != Domain.Element)
                            throw new PlanningException(n, $"{Describe(n)} of a value with one value per {(operand == Domain.Row ? "row" : "column")}: it needs a whole matrix");
                        level++;
                    }
                    _levels[n] = level;
                }

                _elementOutputs = new List<Output>();
                _scalarStores = new List<Output>();
                _vectorStores = new List<Output>();
                foreach (var o in program.Outputs)
                {
                    var buffer = program.Buffers[o.Buffer];
                    var domain = _domains[o.Value];
                    switch (buffer.Shape)
                    {
                        case StateShape.Scalar:
                            if (domain != Domain.Uniform)
                                throw new PlanningException(o.Value, $"scalar state '{buffer.Name}' holds one value per tensor; assign it something the same for every element (a hyperparameter expression or a reduction such as Norm(param))", o.Buffer);
                            _scalarStores.Add(o);
                            break;
                        case StateShape.Row:
                        case StateShape.Column:
                            var want = buffer.Shape == StateShape.Row ? Domain.Row : Domain.Column;
                            if (domain != want && domain != Domain.Uniform)
                                throw new PlanningException(o.Value, buffer.Shape == StateShape.Row
                                    ? $"row state '{buffer.Name}' holds one value per row; assign it a per-row value such as RowMean(...), row states and uniforms"
                                    : $"column state '{buffer.Name}' holds one value per column; assign it a per-column value such as ColMean(...), column states and uniforms", o.Buffer);
                            _vectorStores.Add(o);
                            break;
                        default:
                            _elementOutputs.Add(o);
                            break;
                    }
                }

                var reductions = _nodes.Where(n => OpInfo.Group(n.Op) == OpGroup.Reduction).ToList();
                _columnSums = reductions.Where(n => n.Op == Op.ColSum).ToList();
                _elementReductions = reductions.Where(n => n.Op != Op.ColSum && _domains[n.Sources[0]] == Domain.Element).ToList();
                _vectorReductions = reductions.Where(n => n.Op is Op.ReduceSum or Op.ReduceMax && _domains[n.Sources[0]] is Domain.Row or Domain.Column).ToList();
                _matrixNodes = _nodes.Where(n => OpInfo.Group(n.Op) == OpGroup.Matrix).ToList();
                foreach (var m in _matrixNodes) AddTemp(m);
            }

            private int AddTemp(Node value)
            {
                int buffer = _program.Buffers.Count + _temps.Count;
                _temps.Add(value);
                _tempOf[value] = buffer;
                return buffer;
            }

            private static string Describe(Node n) => n.Op switch
            {
                Op.ReduceSum => "a whole-tensor sum (Sum, Mean, Norm, Rms)",
                Op.ReduceMax => "MaxAbs",
                Op.RowSum => "RowMean/RowSum",
                Op.ColSum => "ColMean/ColSum",
                _ => n.Op.ToString(),
            };

            public KernelPlan Run()
            {
                // Decide temporaries pass by pass (earliest first); each decision can change which
                // buffers later passes read, so everything is re-derived after each one.
                // A cut is only a proposal (it cannot see stores that move with it); it is kept when the
                // whole plan then moves fewer bytes.
                List<PassSketch> sketches;
                var rejected = new HashSet<Node>(NodeIdentityComparer.Instance);
                while (true)
                {
                    sketches = Settle();
                    int bytes = TotalBytes(sketches);
                    bool added = false;
                    foreach (var sk in sketches.Where(s => s.Level > 0 && !s.IsEmpty))
                    {
                        var cut = CheaperTemporaries(sk, sketches).Where(c => !rejected.Contains(c.node)).ToList();
                        if (cut.Count == 0) continue;
                        foreach (var (node, producer) in cut) { _storedBy[node] = producer; AddTemp(node); }
                        if (TotalBytes(Settle()) < bytes) { added = true; break; }
                        foreach (var (node, _) in cut) { _storedBy.Remove(node); _tempOf.Remove(node); _temps.Remove(node); rejected.Add(node); }
                    }
                    if (!added) break;
                }

                // Extras: temporaries (matrix passes first, then stored values), column values, ColSum operands.
                int programBuffers = _program.Buffers.Count;
                var extras = _temps.Select(t => new ExtraBuffer(ExtraKind.Temp, t)).ToList();
                var vectorNodes = _nodes.Where(n => _domains[n] is Domain.Row or Domain.Column).ToList();
                var vectors = vectorNodes.Select((n, i) => new VectorSlot(i, n, _domains[n], _levels[n])).ToList();
                var columnInputs = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
                foreach (var n in vectorNodes)
                    if (_domains[n] == Domain.Column && sketches.Any(sk => sk.Inputs.Any(i => ReferenceEquals(i.Value, n))))
                    {
                        columnInputs[n] = programBuffers + extras.Count;
                        extras.Add(new ExtraBuffer(ExtraKind.Column, n));
                    }
                var columnSumOperand = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
                foreach (var c in _columnSums)
                {
                    columnSumOperand[c] = programBuffers + extras.Count;
                    extras.Add(new ExtraBuffer(ExtraKind.ColumnSumOperand, c));
                }

                var passes = new List<ElementPass>();
                var perRow = new List<Node>();
                foreach (var sk in sketches)
                {
                    if (sk.IsEmpty) continue;
                    Output Resolve(Output o) => o.Buffer switch
                    {
                        ColumnPlaceholder => new Output(columnInputs[o.Value], o.Value),
                        ColumnSumPlaceholder => new Output(columnSumOperand[sk.ColumnSumOf[o.Value]], o.Value),
                        _ => o,
                    };
                    var inputs = sk.Inputs.Select(Resolve).OrderBy(i => i.Buffer).ToList();
                    var stores = sk.Stores.Select(Resolve).ToList();
                    foreach (var r in sk.RowInputs) if (!perRow.Contains(r)) perRow.Add(r);
                    bool IsTensorSized(int b) => b < programBuffers || extras[b - programBuffers].Kind == ExtraKind.Temp;
                    int bytes = 4 * (inputs.Select(i => i.Buffer).Distinct().Count(IsTensorSized) + stores.Count(s => IsTensorSized(s.Buffer)));
                    passes.Add(new ElementPass(passes.Count, sk.Level, inputs.ToEquatableArray(), sk.Computed.ToEquatableArray(),
                        stores.ToEquatableArray(), sk.Reductions.ToEquatableArray(), sk.RowWise, bytes));
                }
                var matrixStages = _matrixNodes.Select(m => new MatrixStage(_levels[m], m.Op, m, _tempOf[m], _tempOf[m])).ToList();

                int levelCount = 1;
                foreach (var p in passes) levelCount = System.Math.Max(levelCount, p.Level + 1);
                foreach (var o in _scalarStores) levelCount = System.Math.Max(levelCount, _levels[o.Value] + 1);
                foreach (var o in _vectorStores) levelCount = System.Math.Max(levelCount, _levels[o.Value] + 1);
                foreach (var n in _nodes.Where(n => OpInfo.Group(n.Op) == OpGroup.Reduction)) levelCount = System.Math.Max(levelCount, _levels[n] + 1);
                foreach (var v in vectors) levelCount = System.Math.Max(levelCount, v.Level + 1);

                // Uniform slots: every hyperparameter, then the step, then the other uniform nodes in
                // dependency order (constants are rendered inline and get no slot), then the per-row
                // values that element passes read.
                var uniforms = new List<UniformSlot>();
                var builder = new IrBuilder();
                for (int h = 0; h < _program.Hypers.Count; h++) uniforms.Add(new UniformSlot(uniforms.Count, builder.Hyper(h), 0));
                uniforms.Add(new UniformSlot(uniforms.Count, builder.Step(), 0));
                foreach (var n in _nodes)
                {
                    if (_domains[n] != Domain.Uniform || n.Op is Op.Const or Op.Hyper or Op.Step) continue;
                    uniforms.Add(new UniformSlot(uniforms.Count, n, _levels[n]));
                }
                foreach (var n in vectorNodes.Where(perRow.Contains))
                    uniforms.Add(new UniformSlot(uniforms.Count, n, _levels[n], PerRow: true));

                return new KernelPlan(_program, uniforms.ToEquatableArray(), passes.ToEquatableArray(), levelCount,
                    _scalarStores.ToEquatableArray(), extras.ToEquatableArray(), matrixStages.ToEquatableArray(),
                    vectors.ToEquatableArray(), _vectorStores.ToEquatableArray());
            }

            /// <summary>
            /// Stores each element output as early as possible, then pushes it later while a later pass
            /// still reads the buffer — its old value, or the new one: reloading a stored value would see
            /// it after the runtime narrowed it to a low-precision state type, so every pass would no
            /// longer see the same values. Stores only move later, so this ends.
            /// </summary>
            private static int TotalBytes(List<PassSketch> sketches) =>
                sketches.Where(s => !s.IsEmpty).Sum(s => 4 * (s.Inputs.Where(i => i.Buffer >= 0).Select(i => i.Buffer).Distinct().Count() + s.Stores.Count(o => o.Buffer >= 0)));

            private List<PassSketch> Settle()
            {
                var storeLevel = _elementOutputs.ToDictionary(o => o.Buffer, o => _levels[o.Value]);
                while (true)
                {
                    int lastPass = 0;
                    foreach (var kv in storeLevel) lastPass = System.Math.Max(lastPass, kv.Value);
                    foreach (var r in _elementReductions.Concat(_columnSums).Concat(_matrixNodes)) lastPass = System.Math.Max(lastPass, _levels[r] - 1);
                    var sketches = new List<PassSketch>();
                    for (int level = 0; level <= lastPass; level++) sketches.Add(Sketch(level, storeLevel));
                    bool changed = false;
                    foreach (var sketch in sketches)
                        foreach (var input in sketch.Inputs)
                            if (storeLevel.TryGetValue(input.Buffer, out var stored) && stored < sketch.Level)
                            {
                                storeLevel[input.Buffer] = sketch.Level;
                                changed = true;
                            }
                    if (!changed) return sketches;
                }
            }

            private sealed class PassSketch
            {
                public int Level;
                public List<Node> Roots = new List<Node>();
                public List<Output> Inputs = new List<Output>();
                public List<Node> Computed = new List<Node>();
                public List<Output> Stores = new List<Output>();
                public List<Node> Reductions = new List<Node>();
                public List<Node> RowInputs = new List<Node>();
                public Dictionary<Node, Node> ColumnSumOf = new Dictionary<Node, Node>(NodeIdentityComparer.Instance);
                public bool RowWise;
                public bool IsEmpty => Stores.Count == 0 && Reductions.Count == 0;
            }

            /// <summary>Element values a pass of <paramref name="level"/> reads rather than computes.</summary>
            private Dictionary<Node, int> Available(int level, Dictionary<int, int>? storeLevel)
            {
                var available = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
                if (storeLevel != null)
                    foreach (var o in _elementOutputs)
                        if (storeLevel[o.Buffer] < level && o.Value.Op != Op.Load && !available.ContainsKey(o.Value)) available[o.Value] = o.Buffer;
                foreach (var m in _matrixNodes) if (_levels[m] <= level) available[m] = _tempOf[m];
                foreach (var kv in _storedBy) if (kv.Value < level) available[kv.Key] = _tempOf[kv.Key];
                return available;
            }

            private PassSketch Sketch(int level, Dictionary<int, int> storeLevel)
            {
                var sk = new PassSketch { Level = level };
                sk.Stores.AddRange(_elementOutputs.Where(o => storeLevel[o.Buffer] == level));
                sk.Stores.AddRange(_matrixNodes.Where(m => _levels[m] == level + 1).Select(m => new Output(_tempOf[m], m.Sources[0])));
                sk.Stores.AddRange(_storedBy.Where(kv => kv.Value == level).Select(kv => new Output(_tempOf[kv.Key], kv.Key)));
                foreach (var c in _columnSums.Where(c => _levels[c] == level + 1))
                {
                    sk.Stores.Add(new Output(ColumnSumPlaceholder, c.Sources[0]));
                    sk.ColumnSumOf[c.Sources[0]] = c;
                    sk.RowWise = true;
                }
                sk.Reductions.AddRange(_elementReductions.Where(r => _levels[r] == level + 1));
                if (sk.Reductions.Any(r => r.Op == Op.RowSum)) sk.RowWise = true;

                var available = Available(level, storeLevel);
                sk.Roots.AddRange(sk.Stores.Select(o => o.Value).Concat(sk.Reductions.Select(r => r.Sources[0])));
                var walk = Node.TopologicalOrder(sk.Roots, n => _domains[n] != Domain.Element || available.ContainsKey(n));
                var computed = new HashSet<Node>(walk.Where(n => n.Op != Op.Load), NodeIdentityComparer.Instance);
                sk.Computed.AddRange(walk.Where(n => n.Op != Op.Load));
                void AddInput(Node n)
                {
                    if (computed.Contains(n) || sk.Inputs.Any(i => ReferenceEquals(i.Value, n)) || sk.RowInputs.Contains(n)) return;
                    switch (_domains[n])
                    {
                        case Domain.Uniform: return;
                        case Domain.Row: sk.RowInputs.Add(n); sk.RowWise = true; return;
                        case Domain.Column: sk.Inputs.Add(new Output(ColumnPlaceholder, n)); sk.RowWise = true; return;
                    }
                    if (n.Op == Op.Load) sk.Inputs.Add(new Output(n.Index, n));
                    else if (available.TryGetValue(n, out var b)) sk.Inputs.Add(new Output(b, n));
                }
                foreach (var n in sk.Computed) foreach (var s in n.Sources) AddInput(s);
                foreach (var root in sk.Roots) AddInput(root);
                return sk;
            }

            // ---------------- the cost model: recompute, or store a temporary ----------------

            /// <summary>
            /// The values an earlier pass should store for <paramref name="sk"/> (with the level of the
            /// pass that stores each), when that moves strictly fewer bytes than recomputing; else none.
            /// </summary>
            private List<(Node node, int producer)> CheaperTemporaries(PassSketch sk, List<PassSketch> sketches)
            {
                var available = Available(sk.Level, null);
                bool IsLeaf(Node n) => n.Op == Op.Load || available.ContainsKey(n);
                var roots = new HashSet<Node>(sk.Roots, NodeIdentityComparer.Instance);
                // Outputs that are stored here only because this pass reads their buffer could be stored
                // earlier if it did not: they are not roots of the cut.
                roots.RemoveWhere(r => _levels[r] < sk.Level && _elementOutputs.Any(o => ReferenceEquals(o.Value, r)));
                // The element values the pass needs, down to its leaves (not below them).
                var vertices = new List<Node>();
                var seen = new HashSet<Node>(NodeIdentityComparer.Instance);
                var pending = new Stack<Node>(roots);
                while (pending.Count > 0)
                {
                    var n = pending.Pop();
                    if (_domains[n] != Domain.Element || !seen.Add(n)) continue;
                    vertices.Add(n);
                    if (!IsLeaf(n)) foreach (var s in n.Sources) pending.Push(s);
                }
                // A leaf is a read of 4 bytes; a value of an earlier level may be stored by the latest
                // earlier pass that exists, for 8 bytes plus the inputs that pass would newly read.
                var capacity = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
                var producerOf = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
                const int Infinite = 1 << 20;
                foreach (var n in vertices)
                {
                    if (IsLeaf(n)) { capacity[n] = 4; continue; }
                    capacity[n] = Infinite;
                    if (roots.Contains(n) || _levels[n] >= sk.Level) continue;
                    var producer = sketches.Where(p => !p.IsEmpty && p.Level >= _levels[n] && p.Level < sk.Level).OrderByDescending(p => p.Level).FirstOrDefault();
                    if (producer == null) continue;
                    var producerReads = new HashSet<int>(producer.Inputs.Select(i => i.Buffer));
                    var producerAvailable = Available(producer.Level, null);
                    int newReads = Node.TopologicalOrder(new[] { n }, x => _domains[x] != Domain.Element || producerAvailable.ContainsKey(x))
                        .Count(x => x.Op == Op.Load && !producerReads.Contains(x.Index));
                    capacity[n] = 8 + 4 * newReads;
                    producerOf[n] = producer.Level;
                }
                int recompute = vertices.Where(IsLeaf).Sum(n => capacity[n]);
                var cut = MinimumVertexCut(vertices, roots.ToList(), capacity, IsLeaf, out int cost);
                if (cost >= recompute) return new List<(Node, int)>();
                return cut.Where(n => !IsLeaf(n)).Select(n => (n, producerOf[n])).ToList();
            }

            /// <summary>
            /// Minimum-capacity set of vertices that every path from a root down to a leaf passes
            /// through (max-flow with split vertices; augmenting paths by breadth-first search).
            /// </summary>
            private List<Node> MinimumVertexCut(List<Node> vertices, List<Node> roots, Dictionary<Node, int> capacity, System.Func<Node, bool> isLeaf, out int cost)
            {
                // Graph: source 0, sink 1, vertex v → in 2+2v, out 3+2v.
                var index = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
                for (int i = 0; i < vertices.Count; i++) index[vertices[i]] = i;
                int count = 2 + 2 * vertices.Count;
                var edges = new List<(int to, int capacity)>();
                var adjacency = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
                void Edge(int from, int to, int c)
                {
                    adjacency[from].Add(edges.Count); edges.Add((to, c));
                    adjacency[to].Add(edges.Count); edges.Add((from, 0));
                }
                const int Infinite = 1 << 20;
                foreach (var r in roots) if (index.TryGetValue(r, out var ri)) Edge(0, 2 + 2 * ri, Infinite);
                foreach (var v in vertices)
                {
                    int i = index[v];
                    Edge(2 + 2 * i, 3 + 2 * i, capacity[v]);
                    if (isLeaf(v)) { Edge(3 + 2 * i, 1, Infinite); continue; }
                    foreach (var s in v.Sources) if (index.TryGetValue(s, out var si)) Edge(3 + 2 * i, 2 + 2 * si, Infinite);
                }
                var residual = edges.Select(e => e.capacity).ToArray();
                cost = 0;
                while (true)
                {
                    var via = Enumerable.Repeat(-1, count).ToArray();
                    var queue = new Queue<int>();
                    queue.Enqueue(0);
                    via[0] = -2;
                    while (queue.Count > 0 && via[1] == -1)
                    {
                        int u = queue.Dequeue();
                        foreach (int e in adjacency[u])
                            if (residual[e] > 0 && via[edges[e].to] == -1) { via[edges[e].to] = e; queue.Enqueue(edges[e].to); }
                    }
                    if (via[1] == -1) break;
                    int push = int.MaxValue;
                    for (int x = 1; x != 0; x = edges[via[x] ^ 1].to) push = System.Math.Min(push, residual[via[x]]);
                    for (int x = 1; x != 0; x = edges[via[x] ^ 1].to) { residual[via[x]] -= push; residual[via[x] ^ 1] += push; }
                    cost += push;
                }
                // The cut: vertices whose in-side the source still reaches and whose out-side it does not.
                var reached = new bool[count];
                var stack = new Stack<int>();
                stack.Push(0);
                reached[0] = true;
                while (stack.Count > 0)
                {
                    int u = stack.Pop();
                    foreach (int e in adjacency[u])
                        if (residual[e] > 0 && !reached[edges[e].to]) { reached[edges[e].to] = true; stack.Push(edges[e].to); }
                }
                return vertices.Where(v => reached[2 + 2 * index[v]] && !reached[3 + 2 * index[v]]).ToList();
            }
        }
    }

    /// <summary>A rule the planner cannot turn into passes; the generator reports it as a diagnostic at <see cref="At"/>.</summary>
    public sealed class PlanningException : System.Exception
    {
        /// <summary>A program the planner cannot plan, with why.</summary>
        public PlanningException(string message) : base(message) { }
        /// <summary>A program the planner cannot plan, at node <paramref name="at"/> (and buffer <paramref name="buffer"/> when one is involved).</summary>
        public PlanningException(Node at, string message, int? buffer = null) : base(message) { At = at; Buffer = buffer; }

        /// <summary>The node the problem is about, when there is one (the generator finds its source location).</summary>
        public Node? At { get; }

        /// <summary>The buffer whose new value is the problem, when it is about an output.</summary>
        public int? Buffer { get; }
    }
}
