using Fused.Ir;

namespace Fused
{
    /// <summary>
    /// The functions a rule may call (bring them in with <c>using static Fused.Intrinsics;</c>).
    /// Each has real float32 semantics, identical to what the generated kernels compute, so a rule's
    /// <c>Update</c> method can also be called directly as a one-element reference.
    /// A call to anything else inside a rule is a compile-time diagnostic (FUSED002).
    /// </summary>
    public static class Intrinsics
    {
        /// <summary>+1 for positive, −1 for negative, the argument itself for ±0 and NaN.</summary>
        public static float Sign(float x) => ScalarMath.Sign(x);
        public static float Abs(float x) => ScalarMath.Abs(x);
        /// <summary>Square root; the argument must be provably non-negative (FUSED008 otherwise).</summary>
        public static float Sqrt(float x) => ScalarMath.Sqrt(x);
        /// <summary>1 / Sqrt(x).</summary>
        public static float Rsqrt(float x) => ScalarMath.Rsqrt(x);
        public static float Exp(float x) => ScalarMath.Exp(x);
        /// <summary>Natural logarithm; the argument must be provably non-negative (FUSED008 otherwise).</summary>
        public static float Log(float x) => ScalarMath.Log(x);
        /// <summary>x^y, computed as Exp(y·Log(x)) per element (x must be non-negative); exact for hyperparameters and the step.</summary>
        public static float Pow(float x, float y) => ScalarMath.Pow(x, y);
        public static float Square(float x) => x * x;
        /// <summary>a &lt; b ? a : b.</summary>
        public static float Min(float a, float b) => ScalarMath.Min(a, b);
        /// <summary>a &gt; b ? a : b.</summary>
        public static float Max(float a, float b) => ScalarMath.Max(a, b);
        /// <summary>Min(Max(x, lo), hi).</summary>
        public static float Clamp(float x, float lo, float hi) => ScalarMath.Min(ScalarMath.Max(x, lo), hi);
        /// <summary>a + t·(b − a).</summary>
        public static float Lerp(float a, float b, float t) => a + t * (b - a);
        /// <summary>condition ? a : b, evaluated per element without branching.</summary>
        public static float Where(bool condition, float a, float b) => condition ? a : b;
    }
}
