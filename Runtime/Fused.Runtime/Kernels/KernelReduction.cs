using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Fused.Ir;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// The vectorised twin of <see cref="Reduction.ReduceBlock"/>: the same float64 additions in the same
    /// order per lane (lane j accumulates elements j, j+16, ...), held in four Vector256&lt;double&gt;
    /// (lanes 0–3, 4–7, 8–11, 12–15), so the result is bit-identical to the scalar definition.
    /// </summary>
    public static class KernelReduction
    {
        public static double ReduceBlock(ReadOnlySpan<float> values, bool max)
        {
            if (!Vector256.IsHardwareAccelerated) return Reduction.ReduceBlock(values, max);
            var identity = Vector256.Create(Reduction.Identity(max));
            Vector256<double> a0 = identity, a1 = identity, a2 = identity, a3 = identity;
            ref float r = ref MemoryMarshal.GetReference(values);
            int i = 0;
            for (; i + Reduction.Lanes <= values.Length; i += Reduction.Lanes)
            {
                var lo = Vector256.LoadUnsafe(ref r, (nuint)i);
                var hi = Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
                var (l0, l1) = Vector256.Widen(lo);
                var (h0, h1) = Vector256.Widen(hi);
                if (max)
                {
                    a0 = Vector256.ConditionalSelect(Vector256.GreaterThan(a0, l0), a0, l0);
                    a1 = Vector256.ConditionalSelect(Vector256.GreaterThan(a1, l1), a1, l1);
                    a2 = Vector256.ConditionalSelect(Vector256.GreaterThan(a2, h0), a2, h0);
                    a3 = Vector256.ConditionalSelect(Vector256.GreaterThan(a3, h1), a3, h1);
                }
                else
                {
                    a0 += l0;
                    a1 += l1;
                    a2 += h0;
                    a3 += h1;
                }
            }
            Span<double> lanes = stackalloc double[Reduction.Lanes];
            a0.CopyTo(lanes);
            a1.CopyTo(lanes.Slice(4));
            a2.CopyTo(lanes.Slice(8));
            a3.CopyTo(lanes.Slice(12));
            for (int j = 0; i < values.Length; i++, j++) lanes[j] = Reduction.Combine(lanes[j], values[i], max);
            return Reduction.FoldLanes(lanes, max);
        }
    }
}
