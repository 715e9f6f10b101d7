using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Search.Mutation
{
    /// <summary>Size limits of the search space.</summary>
    public sealed record SearchLimits(int MaxStates = 3, int MaxNodes = 48, int MaxDepth = 14)
    {
        public static SearchLimits Default { get; } = new SearchLimits();
    }

    /// <summary>
    /// Whether a (normalized) program may enter the population: it verifies, plans, updates the
    /// parameter from the gradient, keeps every guarded op provably safe, has finite constants and
    /// stays inside the size limits. Abstract execution in the hero sense: checked on the IR, never run.
    /// </summary>
    public static class ProgramValidity
    {
        /// <summary>Null when valid, otherwise the first reason it is not.</summary>
        public static string? Check(RuleProgram p, SearchLimits limits)
        {
            var errors = Verifier.Check(p);
            if (errors.Count > 0) return errors[0];
            var param = p.OutputOf(RuleProgram.ParamBuffer);
            if (param == null) return "the parameter is never updated";
            if (p.StateCount > limits.MaxStates) return $"more than {limits.MaxStates} states";
            var nodes = p.Nodes();
            if (nodes.Count > limits.MaxNodes) return $"more than {limits.MaxNodes} nodes";
            if (p.Outputs.Any(o => o.Value.Depth > limits.MaxDepth)) return $"deeper than {limits.MaxDepth}";
            if (nodes.Any(n => n.Op == Op.Const && !float.IsFinite(n.Value))) return "a constant is not finite";
            if (!Node.TopologicalOrder(new[] { param }).Any(n => n.Op == Op.Load && n.Index == RuleProgram.GradBuffer))
                return "the parameter's update does not read the gradient";
            foreach (var s in p.StateBuffers)
            {
                if (p.OutputOf(s) == null) return $"state {p.Buffers[s].Name} is never written";
                if (!nodes.Any(n => n.Op == Op.Load && n.Index == s)) return $"state {p.Buffers[s].Name} is never read";
            }
            var signs = new SignAnalysis(p);
            foreach (var n in nodes)
                if (ProgramNormalizer.IsGuarded(n) && !signs.IsNonNegative(n[0])) return $"{n.Op} of a value that may be negative";
            try { Planner.Plan(p); }
            catch (Exception e) when (e is PlanningException or IrException) { return "cannot plan: " + e.Message; }
            return null;
        }

        public static bool IsValid(RuleProgram p, SearchLimits limits) => Check(p, limits) == null;
    }
}
