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

        public bool IsNonNegative(Node n)
        {
            if (_memo.TryGetValue(n, out var known)) return known;
            _memo[n] = false; // cycles cannot occur in a DAG; this guards re-entrancy only
            bool result = Compute(n);
            _memo[n] = result;
            return result;
        }

        private bool Compute(Node n)
        {
            if (n.Type != IrType.F32) return false;
            if (IsUniformInputsOnly(n)) return ProbeNonNegative(n);
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
            void Flatten(Node x)
            {
                if (x.Op == Op.Mul) { Flatten(x[0]); Flatten(x[1]); }
                else factors.Add(x);
            }
            Flatten(n);
            return factors.Where(f => !IsNonNegative(f)).GroupBy(f => f).All(g => g.Count() % 2 == 0);
        }

        internal static bool IsUniformInputsOnly(Node n) =>
            Node.TopologicalOrder(new[] { n }).All(x => x.Op is not (Op.Load or Op.ReduceSum or Op.ReduceMax or Op.RowSum or Op.ColSum));

        private bool ProbeNonNegative(Node n)
        {
            var hypers = _program.Hypers.Select(h => h.Default).ToArray();
            foreach (var t in ProbeSteps)
            {
                double v = EvaluateUniform(n, hypers, t, new Dictionary<Node, double>(NodeIdentityComparer.Instance));
                if (!(v >= 0)) return false;
            }
            return true;
        }

        internal static double EvaluateUniform(Node n, double[] hypers, long step, Dictionary<Node, double> memo)
        {
            if (memo.TryGetValue(n, out var v)) return v;
            switch (n.Op)
            {
                case Op.Const: v = n.Value; break;
                case Op.Hyper: v = (float)hypers[n.Index]; break;
                case Op.Step: v = step; break;
                case Op.Shape: v = 1; break;
                default:
                    var a = n.Sources.Select(s => EvaluateUniform(s, hypers, step, memo)).ToArray();
                    v = Semantics.Double(n.Op, a.Length > 0 ? a[0] : 0, a.Length > 1 ? a[1] : 0, a.Length > 2 ? a[2] : 0);
                    break;
            }
            memo[n] = v;
            return v;
        }
    }
}
