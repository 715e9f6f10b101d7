using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Proves values non-negative, for the check that Sqrt and Log never see a negative argument.
    /// States are assumed non-negative and the assumption is kept only for states whose new value is
    /// then provably non-negative (induction over steps: every state starts at zero). Values computed
    /// only from hyperparameters and the step are probed at the declared defaults for several steps.
    /// </summary>
    public sealed class SignAnalysis
    {
        internal static readonly long[] ProbeSteps = { 1, 2, 3, 10, 100, 1000, 100000 };
        private readonly RuleProgram _program;
        private readonly HashSet<int> _nonNegativeStates = new HashSet<int>();
        private readonly Dictionary<Node, bool> _memo = new Dictionary<Node, bool>(NodeIdentityComparer.Instance);
        // Facts that do not depend on the states' assumption, kept across the fixpoint's rounds.
        private readonly Dictionary<Node, bool> _uniformOnly = new Dictionary<Node, bool>(NodeIdentityComparer.Instance);
        private readonly Dictionary<Node, double>[] _probed = ProbeSteps.Select(_ => new Dictionary<Node, double>(NodeIdentityComparer.Instance)).ToArray();

        /// <summary>Analyses the signs of <paramref name="program"/>'s nodes.</summary>
        public SignAnalysis(RuleProgram program)
        {
            _program = program;
            foreach (var s in program.StateBuffers) _nonNegativeStates.Add(s);
            // Greatest fixpoint: drop states whose update is not provably non-negative, until stable.
            bool changed = true;
            while (changed)
            {
                changed = false;
                _memo.Clear();
                foreach (var s in _nonNegativeStates.ToList())
                {
                    var output = program.OutputOf(s);
                    if (output != null && !IsNonNegative(output))
                    {
                        _nonNegativeStates.Remove(s);
                        changed = true;
                    }
                }
            }
            _memo.Clear();
        }

        /// <summary>Whether <paramref name="n"/> is proven non-negative (by the rules in the class summary).</summary>
        public bool IsNonNegative(Node n)
        {
            if (_memo.TryGetValue(n, out var known)) return known;
            // Sources first, in dependency order: every Compute then finds its operands' answers (no recursion as deep
            // as the expression: a sum of 25,000 terms nests that deep).
            foreach (var x in Node.TopologicalOrder(new[] { n }, _memo.ContainsKey))
            {
                bool uniformOnly = x.Op is not (Op.Load or Op.ReduceSum or Op.ReduceMax or Op.RowSum or Op.ColSum);
                foreach (var src in x.Sources) uniformOnly &= _uniformOnly[src];
                _uniformOnly[x] = uniformOnly;
                _memo[x] = Compute(x);
            }
            return _memo[n];
        }

        private bool Compute(Node n)
        {
            if (n.Type != IrType.F32) return false;
            if (_uniformOnly[n]) return ProbeNonNegative(n);
            switch (n.Op)
            {
                case Op.Const: return n.Value >= 0f;
                case Op.Load: return _nonNegativeStates.Contains(n.Index);
                case Op.Abs: case Op.Sqrt: case Op.Exp: case Op.Rsqrt: return true;
                case Op.Mul: return ProductIsNonNegative(n);
                case Op.Add: case Op.Div: case Op.Min:
                    return IsNonNegative(n[0]) && IsNonNegative(n[1]);
                case Op.Max: return IsNonNegative(n[0]) || IsNonNegative(n[1]);
                case Op.Where: return IsNonNegative(n[1]) && IsNonNegative(n[2]);
                case Op.Pow: return IsNonNegative(n[0]);
                case Op.ReduceSum: case Op.RowSum: case Op.ColSum: case Op.ReduceMax:
                    return IsNonNegative(n[0]);
                default: return false;
            }
        }

        // A product is non-negative when every factor of unknown sign occurs an even number of
        // times: (1 − β)·g·g is a product of the factors (1 − β), g, g.
        private bool ProductIsNonNegative(Node n)
        {
            var factors = new List<Node>();
            var pending = new Stack<Node>();
            pending.Push(n);
            while (pending.Count > 0)
            {
                var x = pending.Pop();
                if (x.Op == Op.Mul) { pending.Push(x[1]); pending.Push(x[0]); }
                else factors.Add(x);
            }
            return factors.Where(f => !IsNonNegative(f)).GroupBy(f => f).All(g => g.Count() % 2 == 0);
        }

        internal static bool IsUniformInputsOnly(Node n) =>
            Node.TopologicalOrder(new[] { n }).All(x => x.Op is not (Op.Load or Op.ReduceSum or Op.ReduceMax or Op.RowSum or Op.ColSum));

        private bool ProbeNonNegative(Node n)
        {
            var hypers = _program.Hypers.Select(h => h.Default).ToArray();
            for (int k = 0; k < ProbeSteps.Length; k++)
                if (!(EvaluateUniform(n, hypers, ProbeSteps[k], _probed[k]) >= 0)) return false;
            return true;
        }

        // Bottom-up over what the memo lacks: linear over all probes of one analysis, and no recursion.
        internal static double EvaluateUniform(Node n, double[] hypers, long step, Dictionary<Node, double> memo)
        {
            foreach (var x in Node.TopologicalOrder(new[] { n }, memo.ContainsKey))
            {
                double v;
                switch (x.Op)
                {
                    case Op.Const: v = x.Value; break;
                    case Op.Hyper: v = (float)hypers[x.Index]; break;
                    case Op.Step: v = step; break;
                    case Op.Shape: v = 1; break;
                    default:
                        var a = x.Sources.Select(s => memo[s]).ToArray();
                        v = Semantics.Double(x.Op, a.Length > 0 ? a[0] : 0, a.Length > 1 ? a[1] : 0, a.Length > 2 ? a[2] : 0);
                        break;
                }
                memo[x] = v;
            }
            return memo[n];
        }
    }
}
