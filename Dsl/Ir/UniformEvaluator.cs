using System;
using System.Collections.Generic;

namespace Fused.Ir
{
    /// <summary>
    /// Computes a plan's uniform values of one level in float64: hyperparameters, the step, shape
    /// scalars and hoisted expressions. Reduction results are written by the passes (or by
    /// <see cref="VectorValues"/>), per-row slots by the runtime before each row, not here.
    /// The generated C# prologue does the same operations in the same order.
    /// </summary>
    public static class UniformEvaluator
    {
        public static void Evaluate(KernelPlan plan, int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, Span<double> u)
            => Evaluate(plan, level, hypers, step, shape, ReadOnlySpan<float>.Empty, u);

        /// <summary>
        /// As above for rules with scalar states: <paramref name="scalars"/> holds their values at entry,
        /// in the order of <see cref="KernelPlan.ScalarBuffers"/>.
        /// </summary>
        public static void Evaluate(KernelPlan plan, int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<float> scalars, Span<double> u)
        {
            var scalarBuffers = plan.ScalarBuffers;
            var slots = plan.Uniforms;
            for (int i = 0; i < slots.Count; i++)
            {
                var slot = slots[i];
                if (slot.Level != level || slot.PerRow) continue;
                var n = slot.Node;
                switch (n.Op)
                {
                    case Op.Hyper: u[slot.Slot] = hypers[n.Index]; break;
                    case Op.Step: u[slot.Slot] = step; break;
                    case Op.Shape: u[slot.Slot] = shape.Get((ShapeScalar)n.Index); break;
                    case Op.ReduceSum: case Op.ReduceMax: break;
                    case Op.Load:
                        int ordinal = scalarBuffers.AsImmutableArray().IndexOf(n.Index);
                        if (ordinal < 0 || ordinal >= scalars.Length)
                            throw new ArgumentException($"{plan.Program.Name} needs the value of scalar state '{plan.Program.Buffers[n.Index].Name}'");
                        u[slot.Slot] = scalars[ordinal];
                        break;
                    default:
                        u[slot.Slot] = Semantics.Double(n.Op,
                            Value(plan, n, 0, u), Value(plan, n, 1, u), Value(plan, n, 2, u));
                        break;
                }
            }
        }

        /// <summary>Writes the new values of the scalar states (after the last level).</summary>
        public static void StoreScalars(KernelPlan plan, ReadOnlySpan<double> u, Span<float> scalars)
        {
            var scalarBuffers = plan.ScalarBuffers.AsImmutableArray();
            foreach (var o in plan.ScalarStores)
            {
                int ordinal = scalarBuffers.IndexOf(o.Buffer);
                scalars[ordinal] = o.Value.Op == Op.Const ? o.Value.Value : (float)u[plan.SlotOf(o.Value)!.Slot];
            }
        }

        private static double Value(KernelPlan plan, Node n, int i, ReadOnlySpan<double> u)
        {
            if (i >= n.Sources.Length) return 0.0;
            var s = n.Sources[i];
            if (s.Op == Op.Const) return s.Value;
            return u[plan.SlotOf(s)?.Slot ?? throw new IrException($"no uniform slot for {s}")];
        }

        /// <summary>Node → slot, for consumers that look slots up often.</summary>
        public static Dictionary<Node, int> SlotMap(KernelPlan plan)
        {
            var map = new Dictionary<Node, int>();
            foreach (var u in plan.Uniforms) map[u.Node] = u.Slot;
            return map;
        }
    }
}
