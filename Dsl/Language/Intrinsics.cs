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
        /// <summary>|x|.</summary>
        public static float Abs(float x) => ScalarMath.Abs(x);
        /// <summary>Square root; the argument must be provably non-negative (FUSED008 otherwise).</summary>
        public static float Sqrt(float x) => ScalarMath.Sqrt(x);
        /// <summary>1 / Sqrt(x).</summary>
        public static float Rsqrt(float x) => ScalarMath.Rsqrt(x);
        /// <summary>e^x, Fused's own float32 polynomial (the same in every kernel path).</summary>
        public static float Exp(float x) => ScalarMath.Exp(x);
        /// <summary>Natural logarithm; the argument must be provably non-negative (FUSED008 otherwise).</summary>
        public static float Log(float x) => ScalarMath.Log(x);
        /// <summary>x^y, computed as Exp(y·Log(x)) per element (x must be non-negative); exact for hyperparameters and the step.</summary>
        public static float Pow(float x, float y) => ScalarMath.Pow(x, y);
        /// <summary>x·x.</summary>
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

        // ---- whole-tensor intrinsics ----
        // Inside a rule these see the whole tensor: the planner cuts the rule into passes at them.
        // Called directly, Update treats its arguments as a one-element tensor, which these match.

        /// <summary>Sum of x over every element of the tensor (deterministic: same bits at any thread count).</summary>
        public static float Sum(float x) => x;
        /// <summary>Sum(x) / Numel.</summary>
        public static float Mean(float x) => x;
        /// <summary>Euclidean (Frobenius) norm: Sqrt(Sum(x·x)).</summary>
        /// <remarks>On one element the kernels' square in float32, so this is not Abs(x): it is 0 below ~1e-23 and ∞ above ~1.8e19.</remarks>
        public static float Norm(float x) => ScalarMath.Sqrt(x * x);
        /// <summary>Root mean square: Sqrt(Sum(x·x) / Numel).</summary>
        /// <remarks>As <see cref="Norm"/> on one element (Numel is 1).</remarks>
        public static float Rms(float x) => ScalarMath.Sqrt(x * x);
        /// <summary>Largest |x| over the tensor.</summary>
        public static float MaxAbs(float x) => ScalarMath.Abs(x);

        /// <summary>
        /// Mean of x over the element's row of the tensor viewed as a Rows×Cols matrix: one value per row
        /// (assign it to a <c>[State(StateShape.Row)]</c> or use it per element). A vector is one row.
        /// </summary>
        public static float RowMean(float x) => x;
        /// <summary>Mean of x over the element's column (one value per column). For a vector, x itself.</summary>
        public static float ColMean(float x) => x;
        /// <summary>Sum of x over the element's row: RowMean(x) · Cols.</summary>
        public static float RowSum(float x) => x;
        /// <summary>Sum of x over the element's column: ColMean(x) · Rows.</summary>
        public static float ColSum(float x) => x;

        /// <summary>
        /// The orthogonal polar factor U·Vᵀ of the tensor viewed as a Rows×Cols matrix (Muon), computed
        /// by a Newton-Schulz matrix pass between element passes. For one element it is Sign(x).
        /// </summary>
        public static float Orthogonalize(float x) => ScalarMath.Sign(x);

        /// <summary>
        /// Shampoo's direction L^(−1/4)·x·R^(−1/4) for the tensor viewed as a Rows×Cols matrix, where the
        /// runtime keeps L += x·xᵀ and R += xᵀ·x per tensor and refreshes the inverse roots every k steps.
        /// It has per-tensor memory, so it has no meaning outside a compiled rule.
        /// </summary>
        public static float Precondition(float x) =>
            throw new System.InvalidOperationException("Precondition keeps per-tensor Shampoo statistics; it runs only inside a rule compiled by the Fused generator");

        /// <summary>Number of elements of the tensor.</summary>
        public static float Numel => 1f;
        /// <summary>Rows of the tensor viewed as a matrix (1 for a vector; leading dimensions for rank above 2).</summary>
        public static float Rows => 1f;
        /// <summary>Columns of the tensor viewed as a matrix (its last dimension).</summary>
        public static float Cols => 1f;
    }
}
