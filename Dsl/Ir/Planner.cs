using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Cuts a simplified program into element passes at whole-tensor ops and hoists every uniform
    /// value (anything computed only from hyperparameters, the step, shape scalars and reduction
    /// results) out of the passes. A node's level is the number of reductions on its longest path to
    /// the inputs: pass k computes the element values of level k, accumulates the reductions whose
    /// results have level k+1, and the last pass stores every output. No pass stores anything that a
    /// later pass loads, so earlier values are recomputed from the unchanged inputs instead of being
    /// kept in temporaries (for element-wise arithmetic, recomputing costs no extra bytes).
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

            var levels = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            foreach (var n in program.Nodes())
            {
                int level = 0;
                foreach (var s in n.Sources) level = System.Math.Max(level, levels[s]);
                if (OpInfo.Group(n.Op) == OpGroup.Reduction)
                {
                    if (domains[n.Sources[0]] == Domain.Uniform)
                        throw new PlanningException($"{n.Op} of a value that is the same for every element");
                    level++;
                }
                levels[n] = level;
            }

            var elementStores = program.Outputs.Where(o => program.Buffers[o.Buffer].Shape == StateShape.Element).ToList();
            var scalarStores = program.Outputs.Where(o => program.Buffers[o.Buffer].Shape == StateShape.Scalar).ToList();
            foreach (var o in program.Outputs)
                if (program.Buffers[o.Buffer].Shape is StateShape.Row or StateShape.Column)
                    throw new PlanningException($"buffer {program.Buffers[o.Buffer].Name} of shape {program.Buffers[o.Buffer].Shape} is not supported by this planner yet");
            foreach (var o in scalarStores)
                if (domains[o.Value] != Domain.Uniform)
                    throw new PlanningException($"scalar state '{program.Buffers[o.Buffer].Name}' holds one value per tensor; assign it something the same for every element (a hyperparameter expression or a reduction such as Norm(param))");

            // Element stores happen in the last pass, which must also come after every pass that
            // reads the buffers for a reduction (no pass may read what an earlier pass wrote).
            var reductions = program.Nodes().Where(n => OpInfo.Group(n.Op) == OpGroup.Reduction).ToList();
            int lastPass = 0;
            foreach (var o in elementStores) lastPass = System.Math.Max(lastPass, levels[o.Value]);
            foreach (var r in reductions) lastPass = System.Math.Max(lastPass, levels[r] - 1);
            int levelCount = lastPass + 1;
            foreach (var o in scalarStores) levelCount = System.Math.Max(levelCount, levels[o.Value] + 1);
            foreach (var r in reductions) levelCount = System.Math.Max(levelCount, levels[r] + 1);

            var passes = new List<ElementPass>();
            for (int level = 0; level <= lastPass; level++)
            {
                var passStores = level == lastPass ? elementStores : new List<Output>();
                var passReductions = reductions.Where(r => levels[r] == level + 1).ToList();
                if (passStores.Count == 0 && passReductions.Count == 0) continue;
                var roots = passStores.Select(o => o.Value).Concat(passReductions.Select(r => r.Sources[0]));
                var elementNodes = ElementNodes(roots, domains);
                var loads = elementNodes.Where(n => n.Op == Op.Load).Select(n => n.Index).Distinct().OrderBy(i => i).ToList();
                // A store of a buffer's own unchanged value never reaches here (the simplifier drops it);
                // a store whose value is uniform or another buffer's load needs no computed node.
                var computed = elementNodes.Where(n => n.Op != Op.Load).ToList();
                passes.Add(new ElementPass(passes.Count, level, loads.ToEquatableArray(), computed.ToEquatableArray(),
                    passStores.ToEquatableArray(), passReductions.ToEquatableArray()));
            }

            // Uniform slots: every hyperparameter, then the step, then the other uniform nodes in
            // dependency order (constants are rendered inline and get no slot).
            var uniforms = new List<UniformSlot>();
            var builder = new IrBuilder();
            for (int h = 0; h < program.Hypers.Count; h++) uniforms.Add(new UniformSlot(uniforms.Count, builder.Hyper(h), 0));
            uniforms.Add(new UniformSlot(uniforms.Count, builder.Step(), 0));
            foreach (var n in program.Nodes())
            {
                if (domains[n] != Domain.Uniform || n.Op is Op.Const or Op.Hyper or Op.Step) continue;
                uniforms.Add(new UniformSlot(uniforms.Count, n, levels[n]));
            }
            return new KernelPlan(program, uniforms.ToEquatableArray(), passes.ToEquatableArray(), levelCount, scalarStores.ToEquatableArray());
        }

        /// <summary>Element-domain nodes needed by the roots, sources first; walks stop at uniform values.</summary>
        private static List<Node> ElementNodes(IEnumerable<Node> roots, Dictionary<Node, Domain> domains)
        {
            return Node.TopologicalOrder(roots, n => domains[n] == Domain.Uniform);
        }
    }

    /// <summary>A rule the planner cannot (yet) turn into passes; the generator reports it as a diagnostic.</summary>
    public sealed class PlanningException : System.Exception
    {
        public PlanningException(string message) : base(message) { }
    }
}
