using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// Whether a (normalized) program has Lion's form, whatever its constants and however the linear parts
    /// are written (β·m + (1 − β)·g or Lerp(m, g, t)): one state s with a new value linear in s and the
    /// gradient g; a parameter update that reaches s and g only through one Sign, whose argument is linear
    /// in s and g and uses both. Weight decay (terms in θ) is allowed outside the Sign.
    /// </summary>
    public static class LionForm
    {
        public static bool Matches(RuleProgram p)
        {
            var states = p.StateBuffers.ToList();
            if (states.Count != 1) return false;
            int s = states[0];
            var param = p.OutputOf(RuleProgram.ParamBuffer);
            var state = p.OutputOf(s);
            if (param == null || state == null) return false;
            if (!Linear(state, s) || !Uses(state, s) || !Uses(state, RuleProgram.GradBuffer)) return false;

            // Walk the update without entering Sign nodes: exactly one Sign, and no s or g outside it.
            var signs = new HashSet<Node>(NodeIdentityComparer.Instance);
            var seen = new HashSet<Node>(NodeIdentityComparer.Instance);
            var work = new Stack<Node>();
            work.Push(param);
            while (work.Count > 0)
            {
                var n = work.Pop();
                if (!seen.Add(n)) continue;
                if (n.Op == Op.Sign) { signs.Add(n); continue; }
                if (n.Op == Op.Load && (n.Index == s || n.Index == RuleProgram.GradBuffer)) return false;
                foreach (var x in n.Sources) work.Push(x);
            }
            if (signs.Count != 1) return false;
            var argument = signs.First()[0];
            return Linear(argument, s) && Uses(argument, s) && Uses(argument, RuleProgram.GradBuffer);
        }

        private static bool Uses(Node n, int buffer) => Node.TopologicalOrder(new[] { n }).Any(x => x.Op == Op.Load && x.Index == buffer);

        private static bool Uniform(Node n) => Node.TopologicalOrder(new[] { n }).All(x => x.Op is Op.Const or Op.Hyper or Op.Step || !x.IsLeaf);

        /// <summary>A linear combination of the state and the gradient with uniform coefficients.</summary>
        private static bool Linear(Node n, int state)
        {
            if (Uniform(n)) return true;
            switch (n.Op)
            {
                case Op.Load: return n.Index == state || n.Index == RuleProgram.GradBuffer;
                case Op.Add: case Op.Sub: return Linear(n[0], state) && Linear(n[1], state);
                case Op.Neg: return Linear(n[0], state);
                case Op.Mul: return (Uniform(n[0]) && Linear(n[1], state)) || (Uniform(n[1]) && Linear(n[0], state));
                case Op.Div: return Uniform(n[1]) && Linear(n[0], state);
                default: return false;
            }
        }
    }
}
