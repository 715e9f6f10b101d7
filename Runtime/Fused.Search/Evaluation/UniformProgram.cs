using System;
using System.Linq;
using Fused.Ir;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// A plan's uniform computations resolved to slot indices once, so a step does no node lookups:
    /// the same float64 operations in the same order as <see cref="UniformEvaluator"/> (which searches
    /// slots by node equality on every call — too slow for proxy tasks that step tiny tensors).
    /// </summary>
    internal sealed class UniformProgram
    {
        private enum Kind : byte { Hyper, Step, Shape, Reduction, ScalarLoad, Compute }

        private readonly (int slot, int level, Kind kind, Op op, int index, int a, int b, int c, double ca, double cb, double cc)[] _entries;

        public UniformProgram(KernelPlan plan)
        {
            var slots = UniformEvaluator.SlotMap(plan);
            var scalarBuffers = plan.ScalarBuffers.AsImmutableArray();
            _entries = plan.Uniforms.Select(u =>
            {
                var n = u.Node;
                (int a, int b, int c) = (-1, -1, -1);
                (double ca, double cb, double cc) = (0, 0, 0);
                void Source(int i, ref int slot, ref double constant)
                {
                    if (i >= n.Sources.Length) return;
                    var s = n.Sources[i];
                    if (s.Op == Op.Const) constant = s.Value;
                    else slot = slots.TryGetValue(s, out var k) ? k : throw new IrException($"no uniform slot for {s}");
                }
                Kind kind = n.Op switch
                {
                    Op.Hyper => Kind.Hyper,
                    Op.Step => Kind.Step,
                    Op.Shape => Kind.Shape,
                    Op.ReduceSum or Op.ReduceMax => Kind.Reduction,
                    Op.Load => Kind.ScalarLoad,
                    _ => Kind.Compute,
                };
                int index = kind == Kind.ScalarLoad ? scalarBuffers.IndexOf(n.Index) : n.Index;
                if (kind == Kind.Compute)
                {
                    Source(0, ref a, ref ca);
                    Source(1, ref b, ref cb);
                    Source(2, ref c, ref cc);
                }
                return (u.Slot, u.Level, kind, n.Op, index, a, b, c, ca, cb, cc);
            }).ToArray();
        }

        public void Evaluate(int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<float> scalars, Span<double> u)
        {
            foreach (var e in _entries)
            {
                if (e.level != level) continue;
                switch (e.kind)
                {
                    case Kind.Hyper: u[e.slot] = hypers[e.index]; break;
                    case Kind.Step: u[e.slot] = step; break;
                    case Kind.Shape: u[e.slot] = shape.Get((ShapeScalar)e.index); break;
                    case Kind.Reduction: break;
                    case Kind.ScalarLoad: u[e.slot] = scalars[e.index]; break;
                    default:
                        u[e.slot] = Semantics.Double(e.op, e.a >= 0 ? u[e.a] : e.ca, e.b >= 0 ? u[e.b] : e.cb, e.c >= 0 ? u[e.c] : e.cc);
                        break;
                }
            }
        }
    }
}
