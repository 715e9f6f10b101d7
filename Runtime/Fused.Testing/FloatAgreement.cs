using System;

namespace Fused.Testing
{
    /// <summary>
    /// How Fused compares float32 results: bit for bit where the paths promise identical arithmetic (every SIMD width,
    /// the scalar path and the IR interpreter), and within an error bound where one side computes differently (a float64
    /// reference, or a rule's <c>Update</c> called directly, whose step-dependent constants are float32 where the kernels
    /// compute them in float64).
    /// </summary>
    public static class FloatAgreement
    {
        /// <summary>
        /// The default bound of <see cref="WithinTolerance"/>: |got − want| ≤ 1e-6 · (|want| + rms + |in|). A handful of
        /// float32 roundings (each ≤ 2^-24 ≈ 6e-8) stay below it; a wrong constant or formula gives 1e-3 or more.
        /// </summary>
        public const double DefaultTolerance = 1e-6;

        /// <summary>The bits of a float.</summary>
        public static int Bits(float x) => BitConverter.SingleToInt32Bits(x);

        /// <summary>
        /// Bit equality, except that any NaN equals any NaN: when two NaNs meet, x86 propagates the first operand's payload,
        /// and the optimizing JIT may order a commutative op's operands differently in scalar and vector code. A NaN stays a
        /// NaN in every path; its payload carries no meaning.
        /// </summary>
        public static bool SameBits(float a, float b) => float.IsNaN(a) ? float.IsNaN(b) : Bits(a) == Bits(b);

        /// <summary>
        /// The error scale of one element: |want| + rms + |in|. |want| is the usual relative bound. Updates are sums of terms
        /// that can cancel (β·m + (1 − β)·g, θ − η·u); float32 rounds each term to ~6e-8 of its own magnitude, so the absolute
        /// error follows the terms, not the (maybe near-zero) result. The terms are of the order of the buffer's typical
        /// magnitude (<paramref name="rms"/>, of the expected buffer), and, for buffers of one or a few elements, of the
        /// element's value at entry (<paramref name="entry"/>): when terms cancel, the new term is as large as the entry term.
        /// </summary>
        public static double Scale(double want, double rms, double entry) => Math.Abs(want) + rms + Math.Abs(entry);

        /// <summary>Whether |<paramref name="got"/> − <paramref name="want"/>| ≤ <paramref name="tolerance"/> · <see cref="Scale"/>; NaN only matches NaN.</summary>
        public static bool WithinTolerance(double got, double want, double rms, double entry, double tolerance = DefaultTolerance)
        {
            if (double.IsNaN(want) || double.IsNaN(got)) return double.IsNaN(want) && double.IsNaN(got);
            if (double.IsInfinity(want) || double.IsInfinity(got)) return got == want;
            return Math.Abs(got - want) <= tolerance * Scale(want, rms, entry);
        }

        /// <summary>Root mean square of the finite values (0 for none).</summary>
        public static double Rms(ReadOnlySpan<double> values)
        {
            double sum = 0;
            int n = 0;
            foreach (double x in values)
                if (double.IsFinite(x)) { sum += x * x; n++; }
            return n == 0 ? 0 : Math.Sqrt(sum / n);
        }

        /// <summary>Root mean square of the finite values (0 for none).</summary>
        public static double Rms(ReadOnlySpan<float> values)
        {
            double sum = 0;
            int n = 0;
            foreach (float x in values)
                if (float.IsFinite(x)) { sum += (double)x * x; n++; }
            return n == 0 ? 0 : Math.Sqrt(sum / n);
        }
    }
}
