using System;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Fused.Benchmarks.Elementwise
{
    /// <summary>What a careful C# programmer writes by hand: one fused Vector&lt;float&gt; loop per rule.</summary>
    public static class HandWritten
    {
        public static void AdamW(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
            float lr, float b1, float b2, float eps, float wd, float bc1, float bc2)
        {
            var vb1 = new Vector<float>(b1); var vomb1 = new Vector<float>(1 - b1);
            var vb2 = new Vector<float>(b2); var vomb2 = new Vector<float>(1 - b2);
            var vlr = new Vector<float>(lr); var veps = new Vector<float>(eps); var vwd = new Vector<float>(wd);
            var vbc1 = new Vector<float>(bc1); var vbc2 = new Vector<float>(bc2);
            var pv = MemoryMarshal.Cast<float, Vector<float>>(p);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            var mv = MemoryMarshal.Cast<float, Vector<float>>(m);
            var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
            for (int i = 0; i < pv.Length; i++)
            {
                var gi = gv[i];
                var mi = vb1 * mv[i] + vomb1 * gi;
                var vi = vb2 * vv[i] + vomb2 * gi * gi;
                var update = (mi / vbc1) / (Vector.SquareRoot(vi / vbc2) + veps);
                pv[i] = pv[i] - vlr * (update + vwd * pv[i]);
                mv[i] = mi;
                vv[i] = vi;
            }
            for (int i = pv.Length * Vector<float>.Count; i < p.Length; i++)
            {
                float gi = g[i];
                float mi = b1 * m[i] + (1 - b1) * gi;
                float vi = b2 * v[i] + (1 - b2) * gi * gi;
                p[i] -= lr * ((mi / bc1) / (MathF.Sqrt(vi / bc2) + eps) + wd * p[i]);
                m[i] = mi;
                v[i] = vi;
            }
        }

        public static void Lion(Span<float> p, ReadOnlySpan<float> g, Span<float> m, float lr, float b1, float b2, float wd)
        {
            var vb1 = new Vector<float>(b1); var vomb1 = new Vector<float>(1 - b1);
            var vb2 = new Vector<float>(b2); var vomb2 = new Vector<float>(1 - b2);
            var vlr = new Vector<float>(lr); var vwd = new Vector<float>(wd);
            var pv = MemoryMarshal.Cast<float, Vector<float>>(p);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            var mv = MemoryMarshal.Cast<float, Vector<float>>(m);
            for (int i = 0; i < pv.Length; i++)
            {
                var gi = gv[i];
                var mi = mv[i];
                var c = vb1 * mi + vomb1 * gi;
                var sign = Vector.ConditionalSelect(Vector.GreaterThan(c, Vector<float>.Zero), Vector<float>.One,
                           Vector.ConditionalSelect(Vector.LessThan(c, Vector<float>.Zero), -Vector<float>.One, c));
                pv[i] = pv[i] - vlr * (sign + vwd * pv[i]);
                mv[i] = vb2 * mi + vomb2 * gi;
            }
            for (int i = pv.Length * Vector<float>.Count; i < p.Length; i++)
            {
                float c = b1 * m[i] + (1 - b1) * g[i];
                float sign = c > 0 ? 1f : c < 0 ? -1f : c;
                p[i] -= lr * (sign + wd * p[i]);
                m[i] = b2 * m[i] + (1 - b2) * g[i];
            }
        }
    }
}
