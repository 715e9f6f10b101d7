using System;
using System.Runtime.Intrinsics;

namespace Fused.Runtime.Engine
{
    /// <summary>
    /// Lane-wise float adds, divides and multiplies over gradients: the same IEEE results as the scalar loops. One
    /// definition for the engine's accumulation (Copy, Add..., Divide over micro-batches) and the sharded optimizer's
    /// average over ranks, which must round exactly as that accumulation does.
    /// </summary>
    internal static class GradientArithmetic
    {
        public static void AddInto(Span<float> destination, ReadOnlySpan<float> source)
        {
            int i = 0;
            for (; i + Vector256<float>.Count <= destination.Length; i += Vector256<float>.Count)
                (Vector256.Create<float>(destination.Slice(i)) + Vector256.Create<float>(source.Slice(i))).CopyTo(destination.Slice(i));
            for (; i < destination.Length; i++) destination[i] += source[i];
        }

        public static void Divide(Span<float> values, float divisor)
        {
            int i = 0;
            var d = Vector256.Create(divisor);
            for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
                (Vector256.Create<float>(values.Slice(i)) / d).CopyTo(values.Slice(i));
            for (; i < values.Length; i++) values[i] /= divisor;
        }

        public static void Multiply(Span<float> values, float factor)
        {
            int i = 0;
            var f = Vector256.Create(factor);
            for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
                (Vector256.Create<float>(values.Slice(i)) * f).CopyTo(values.Slice(i));
            for (; i < values.Length; i++) values[i] *= factor;
        }
    }
}
