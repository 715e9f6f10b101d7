using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Cuts a simplified program into element passes at whole-tensor ops (reductions and matrix
    /// passes) and hoists every uniform value (anything computed only from hyperparameters, the step,
    /// shape scalars, scalar states and reduction results) out of the passes.
    /// <para>A node's level counts the stage boundaries on its longest path to the inputs: pass k
    /// computes the element values of level k, accumulates the reductions whose results have level k+1,
    /// and materialises the sources of level-(k+1) matrix passes into temporaries. Each output is stored
    /// in the earliest pass that can compute it and after which no pass reads that buffer (Muon's
    /// momentum is written in the pass before Newton-Schulz, so the last pass never touches it).
    /// Everything a later pass needs is recomputed from the unchanged inputs, which for element-wise
    /// arithmetic moves fewer bytes than keeping temporaries.</para>
    /// </summary>
    public static class Planner
    {
        public static KernelPlan Plan(RuleProgram program)
        {
            Verifier.ThrowIfInvalid(program);
            var domains = DomainAnalysis.Compute(program);
            foreach (var kv in domains)
                if (kv.Value is Domain.Row or Domain.Column)
                    throw new PlanningException($"row/column statistics ({kv.Key.Op}) are not supported by this planner yet");

            var nodes = program.Nodes();
            var levels = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            foreach (var n in nodes)
            {
                int level = 0;
                foreach (var s in n.Sources) level = System.Math.Max(level, levels[s]);
                if (OpInfo.IsStageBoundary(n.Op))
                {
                    if (domains[n.Sources[0]] == Domain.Uniform)
                        throw new PlanningException($"{n.Op} of a value that is the same for every element");
                    level++;
                }
                levels[n] = level;
            }

            var elementOutputs = program.Outputs.Where(o => program.Buffers[o.Buffer].Shape == StateShape.Element).ToList();
            var scalarStores = program.Outputs.Where(o => program.Buffers[o.Buffer].Shape == StateShape.Scalar).ToList();
            foreach (var o in program.Outputs)
                if (program.Buffers[o.Buffer].Shape is StateShape.Row or StateShape.Column)
                    throw new PlanningException($"buffer {program.Buffers[o.Buffer].Name} of shape {program.Buffers[o.Buffer].Shape} is not supported by this planner yet");
            foreach (var o in scalarStores)
                if (domains[o.Value] != Domain.Uniform)
                    throw new PlanningException($"scalar state '{program.Buffers[o.Buffer].Name}' holds one value per tensor; assign it something the same for every element (a hyperparameter expression or a reduction such as Norm(param))");

            var reductions = nodes.Where(n => OpInfo.Group(n.Op) == OpGroup.Reduction).ToList();
            var matrixNodes = nodes.Where(n => OpInfo.Group(n.Op) == OpGroup.Matrix).ToList();
            int tempBase = program.Buffers.Count;
            var tempOf = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            foreach (var m in matrixNodes) tempOf[m] = tempBase + tempOf.Count;

            // Store each output as early as possible, then push it later while a later pass still
            // needs the buffer's old value; repeat until stable (stores only move later).
            var storeLevel = elementOutputs.ToDictionary(o => o.Buffer, o => levels[o.Value]);
            int lastPass = 0;
            List<PassSketch> sketches;
            while (true)
            {
                lastPass = 0;
                foreach (var kv in storeLevel) lastPass = System.Math.Max(lastPass, kv.Value);
                foreach (var r in reductions) lastPass = System.Math.Max(lastPass, levels[r] - 1);
                foreach (var m in matrixNodes) lastPass = System.Math.Max(lastPass, levels[m] - 1);
                sketches = new List<PassSketch>();
                for (int level = 0; level <= lastPass; level++)
                    sketches.Add(Sketch(level, program, elementOutputs, storeLevel, reductions, matrixNodes, levels, domains, tempOf));
                bool changed = false;
                // A later pass that reads the buffer — its old value, or the new one — moves the store
                // there: reloading a stored value would see it after the runtime narrowed it to a
                // low-precision state type, so every pass would no longer see the same values.
                foreach (var sketch in sketches)
                    foreach (var input in sketch.Inputs)
                        if (storeLevel.TryGetValue(input.Buffer, out var stored) && stored < sketch.Level)
                        {
                            storeLevel[input.Buffer] = sketch.Level;
                            changed = true;
                        }
                if (!changed) break;
            }

            var passes = new List<ElementPass>();
            foreach (var sk in sketches)
            {
                if (sk.Stores.Count == 0 && sk.Reductions.Count == 0) continue;
                passes.Add(new ElementPass(passes.Count, sk.Level, sk.Inputs.ToEquatableArray(), sk.Computed.ToEquatableArray(),
                    sk.Stores.ToEquatableArray(), sk.Reductions.ToEquatableArray()));
            }
            var matrixStages = matrixNodes.Select(m => new MatrixStage(levels[m], m.Op, m, tempOf[m], tempOf[m])).ToList();

            int levelCount = lastPass + 1;
            foreach (var o in scalarStores) levelCount = System.Math.Max(levelCount, levels[o.Value] + 1);
            foreach (var r in reductions) levelCount = System.Math.Max(levelCount, levels[r] + 1);

            // Uniform slots: every hyperparameter, then the step, then the other uniform nodes in
            // dependency order (constants are rendered inline and get no slot).
            var uniforms = new List<UniformSlot>();
            var builder = new IrBuilder();
            for (int h = 0; h < program.Hypers.Count; h++) uniforms.Add(new UniformSlot(uniforms.Count, builder.Hyper(h), 0));
            uniforms.Add(new UniformSlot(uniforms.Count, builder.Step(), 0));
            foreach (var n in nodes)
            {
                if (domains[n] != Domain.Uniform || n.Op is Op.Const or Op.Hyper or Op.Step) continue;
                uniforms.Add(new UniformSlot(uniforms.Count, n, levels[n]));
            }
            return new KernelPlan(program, uniforms.ToEquatableArray(), passes.ToEquatableArray(), levelCount,
                scalarStores.ToEquatableArray(), matrixNodes.Count, matrixStages.ToEquatableArray());
        }

        private sealed class PassSketch
        {
            public int Level;
            public List<Output> Inputs = new List<Output>();
            public List<Node> Computed = new List<Node>();
            public List<Output> Stores = new List<Output>();
            public List<Node> Reductions = new List<Node>();
        }

        private static PassSketch Sketch(int level, RuleProgram program, List<Output> elementOutputs, Dictionary<int, int> storeLevel,
            List<Node> reductions, List<Node> matrixNodes, Dictionary<Node, int> levels, Dictionary<Node, Domain> domains, Dictionary<Node, int> tempOf)
        {
            var sk = new PassSketch { Level = level };
            sk.Stores.AddRange(elementOutputs.Where(o => storeLevel[o.Buffer] == level));
            sk.Reductions.AddRange(reductions.Where(r => levels[r] == level + 1));
            var materialise = matrixNodes.Where(m => levels[m] == level + 1).ToList();
            sk.Stores.AddRange(materialise.Select(m => new Output(tempOf[m], m.Sources[0])));

            // Values stored by earlier passes are reloaded, matrix results come from their temporary.
            var reload = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            foreach (var o in elementOutputs)
                if (storeLevel[o.Buffer] < level && o.Value.Op != Op.Load && !reload.ContainsKey(o.Value)) reload[o.Value] = o.Buffer;
            foreach (var m in matrixNodes) if (levels[m] <= level) reload[m] = tempOf[m];

            bool IsInput(Node n) => n.Op == Op.Load || reload.ContainsKey(n);
            var roots = sk.Stores.Select(o => o.Value).Concat(sk.Reductions.Select(r => r.Sources[0]));
            var walk = Node.TopologicalOrder(roots, n => domains[n] == Domain.Uniform || (IsInput(n) && n.Op != Op.Load) );
            // Inputs that are reloads were stopped at; collect them from the sources of what is computed.
            var computedSet = new HashSet<Node>(walk.Where(n => n.Op != Op.Load), NodeIdentityComparer.Instance);
            sk.Computed.AddRange(walk.Where(n => n.Op != Op.Load));
            var inputs = new List<Output>();
            void AddInput(Node n)
            {
                if (computedSet.Contains(n) || domains[n] == Domain.Uniform || inputs.Any(i => i.Value.Equals(n))) return;
                if (n.Op == Op.Load) inputs.Add(new Output(n.Index, n));
                else if (reload.TryGetValue(n, out var b)) inputs.Add(new Output(b, n));
            }
            foreach (var n in sk.Computed) foreach (var s in n.Sources) AddInput(s);
            foreach (var root in roots) AddInput(root);
            sk.Inputs.AddRange(inputs.OrderBy(i => i.Buffer));
            return sk;
        }
    }

    /// <summary>A rule the planner cannot (yet) turn into passes; the generator reports it as a diagnostic.</summary>
    public sealed class PlanningException : System.Exception
    {
        public PlanningException(string message) : base(message) { }
    }
}
