using System;
using System.Numerics.Tensors;

namespace Fused.Benchmarks.Elementwise
{
    /// <summary>
    /// What a C# user writes today without Fused: a chain of System.Numerics.Tensors calls, each one
    /// pass over memory, with temporaries.
    /// </summary>
    public static class TensorPrimitivesChain
    {
        public static void AdamW(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> t1, Span<float> t2,
            float lr, float b1, float b2, float eps, float wd, float bc1, float bc2)
        {
            TensorPrimitives.Multiply(m, b1, m);
            TensorPrimitives.MultiplyAdd(g, 1 - b1, m, m);
            TensorPrimitives.Multiply(v, b2, v);
            TensorPrimitives.Multiply(g, g, t1);
            TensorPrimitives.MultiplyAdd(t1, 1 - b2, v, v);
            TensorPrimitives.Divide(v, bc2, t1);
            TensorPrimitives.Sqrt(t1, t1);
            TensorPrimitives.Add(t1, eps, t1);
            TensorPrimitives.Divide(m, bc1, t2);
            TensorPrimitives.Divide(t2, t1, t2);
            TensorPrimitives.MultiplyAdd(p, wd, t2, t2);
            TensorPrimitives.MultiplyAdd(t2, -lr, p, p);
        }

        public static void Lion(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> t1, float lr, float b1, float b2, float wd)
        {
            TensorPrimitives.Multiply(m, b1, t1);
            TensorPrimitives.MultiplyAdd(g, 1 - b1, t1, t1);
            for (int i = 0; i < t1.Length; i++) t1[i] = MathF.Sign(t1[i]);
            TensorPrimitives.MultiplyAdd(p, wd, t1, t1);
            TensorPrimitives.MultiplyAdd(t1, -lr, p, p);
            TensorPrimitives.Multiply(m, b2, m);
            TensorPrimitives.MultiplyAdd(g, 1 - b2, m, m);
        }
    }
}
