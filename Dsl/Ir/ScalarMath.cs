using System.Runtime.InteropServices;

namespace Fused.Ir
{
    /// <summary>
    /// Reinterprets a float's bits as an int and back. The host uses a union (<see cref="ScalarMath.UnionBits"/>);
    /// device compilers such as ILGPU refuse unions, so their code passes a struct built on
    /// <c>BitConverter</c> (<c>Fused.Runtime.Kernels.DeviceBits</c>) to the same polynomials.
    /// </summary>
    public interface IFloatBits
    {
        /// <summary>The bits of <paramref name="f"/>.</summary>
        int ToBits(float f);
        /// <summary>The float with bits <paramref name="i"/>.</summary>
        float FromBits(int i);
    }

    /// <summary>
    /// The float32 semantics of every element-wise op, written with plain IEEE operations only
    /// (no fused multiply-add, no platform libm). The SIMD kernels in the runtime (KernelMath) do the
    /// same operations in the same order per lane, so scalar, Vector128/256/512 and the interpreter
    /// agree bit for bit.
    /// </summary>
    public static class ScalarMath
    {
        /// <summary>The bit casts of the host paths: a union of a float and an int.</summary>
        [StructLayout(LayoutKind.Explicit)]
        private struct FloatBits
        {
            [FieldOffset(0)] public float F;
            [FieldOffset(0)] public int I;
        }

        /// <summary><see cref="IFloatBits"/> through <see cref="FloatBits"/> (what the host paths use).</summary>
        public struct UnionBits : IFloatBits
        {
            /// <inheritdoc/>
            public int ToBits(float f) => new FloatBits { F = f }.I;
            /// <inheritdoc/>
            public float FromBits(int i) => new FloatBits { I = i }.F;
        }

        /// <summary>The bits of <paramref name="f"/>.</summary>
        public static int ToBits(float f) => default(UnionBits).ToBits(f);
        /// <summary>The float with bits <paramref name="i"/>.</summary>
        public static float FromBits(int i) => default(UnionBits).FromBits(i);

        // Min/Max are defined as selects so that every backend renders them the same way
        // (x86 minps/maxps have exactly these semantics; Math.Min does not).
        /// <summary>a &lt; b ? a : b (NaN in a gives b; the kernels' select).</summary>
        public static float Min(float a, float b) => a < b ? a : b;
        /// <summary>a &gt; b ? a : b (NaN in a gives b; the kernels' select).</summary>
        public static float Max(float a, float b) => a > b ? a : b;

        /// <summary>+1, -1, or x itself for ±0 and NaN (so a NaN is never hidden).</summary>
        public static float Sign(float x) => x > 0f ? 1f : (x < 0f ? -1f : x);

        /// <summary>|x| by clearing the sign bit (NaN payloads kept).</summary>
        public static float Abs(float x) => FromBits(ToBits(x) & 0x7FFFFFFF);

        /// <summary>Correctly rounded (the double square root rounds correctly to float).</summary>
        public static float Sqrt(float x) => (float)System.Math.Sqrt(x);

        /// <summary>1 / Sqrt(x), correctly rounded twice (not an approximate reciprocal square root).</summary>
        public static float Rsqrt(float x) => 1f / Sqrt(x);

        // Exp: n = round(x·log2 e) by the 1.5·2^23 trick, r = x − n·ln2 (Cody–Waite, two parts),
        // e^r by a degree-7 Taylor polynomial in Horner form, times 2^n built from exponent bits
        // (in two halves so that results down to the subnormal range are right).
        /// <summary>Above this, Exp is +∞.</summary>
        public const float ExpHigh = 88.7228394f;   // above: +∞
        /// <summary>Below this, Exp is 0.</summary>
        public const float ExpLow = -103.972084f;   // below: 0
        /// <summary>log2(e) in float32.</summary>
        public const float Log2E = 1.44269502f;
        /// <summary>ln 2 with the low 12 bits cleared: n·Ln2Hi is exact.</summary>
        public const float Ln2Hi = 0.693145752f;    // ln 2 with the low 12 bits cleared: n·Ln2Hi is exact
        /// <summary>ln 2 − Ln2Hi.</summary>
        public const float Ln2Lo = 1.42860677e-06f;
        /// <summary>1.5·2^23: adding and subtracting it rounds a float to an integer.</summary>
        public const float RoundMagic = 12582912f;  // 1.5·2^23
        /// <summary>Exp's Taylor coefficient 1/2! in float32.</summary>
        public const float C2 = 0.5f;
        /// <summary>Exp's Taylor coefficient 1/3! in float32.</summary>
        public const float C3 = 1.66666672e-01f;
        /// <summary>Exp's Taylor coefficient 1/4! in float32.</summary>
        public const float C4 = 4.16666679e-02f;
        /// <summary>Exp's Taylor coefficient 1/5! in float32.</summary>
        public const float C5 = 8.33333377e-03f;
        /// <summary>Exp's Taylor coefficient 1/6! in float32.</summary>
        public const float C6 = 1.38888892e-03f;
        /// <summary>Exp's Taylor coefficient 1/7! in float32.</summary>
        public const float C7 = 1.98412701e-04f;

        /// <summary>e^x in float32 by Fused's own polynomial (the same in every kernel path and backend).</summary>
        public static float Exp(float x) => Exp<UnionBits>(x);

        /// <summary><see cref="Exp(float)"/> with the bit casts of <typeparamref name="TBits"/> (device code cannot use a union).</summary>
        public static float Exp<TBits>(float x) where TBits : struct, IFloatBits
        {
            float xc = Min(Max(x, ExpLow), ExpHigh);
            float t = xc * Log2E + RoundMagic;
            float n = t - RoundMagic;
            float r = (xc - n * Ln2Hi) - n * Ln2Lo;
            float p = ((((((C7 * r + C6) * r + C5) * r + C4) * r + C3) * r + C2) * r + 1f) * r + 1f;
            int ni = (int)n;
            int half = ni >> 1;
            float s1 = default(TBits).FromBits((half + 127) << 23);
            float s2 = default(TBits).FromBits((ni - half + 127) << 23);
            float result = p * s1 * s2;
            result = x > ExpHigh ? float.PositiveInfinity : result;
            result = x < ExpLow ? 0f : result;
            return float.IsNaN(x) ? x : result;
        }

        // Log: x = m·2^e with m in [√½, √2), log m = 2·atanh(s), s = (m−1)/(m+1), odd series to s^11.
        /// <summary>√2 in float32.</summary>
        public const float Sqrt2 = 1.41421354f;
        /// <summary>ln 2 in float32.</summary>
        public const float Ln2 = 0.693147182f;
        /// <summary>Log's atanh series coefficient 1/3 in float32.</summary>
        public const float L3 = 0.333333343f;
        /// <summary>Log's atanh series coefficient 1/5 in float32.</summary>
        public const float L5 = 0.200000003f;
        /// <summary>Log's atanh series coefficient 1/7 in float32.</summary>
        public const float L7 = 0.142857149f;
        /// <summary>Log's atanh series coefficient 1/9 in float32.</summary>
        public const float L9 = 0.111111112f;
        /// <summary>Log's atanh series coefficient 1/11 in float32.</summary>
        public const float L11 = 0.0909090936f;
        /// <summary>2^23.</summary>
        public const float Two23 = 8388608f;

        /// <summary>ln x in float32 by Fused's own polynomial (the same in every kernel path and backend).</summary>
        public static float Log(float x) => Log<UnionBits>(x);

        /// <summary><see cref="Log(float)"/> with the bit casts of <typeparamref name="TBits"/>.</summary>
        public static float Log<TBits>(float x) where TBits : struct, IFloatBits
        {
            bool subnormal = x < 1.17549435e-38f;
            float xs = subnormal ? x * Two23 : x;
            int bits = default(TBits).ToBits(xs);
            int e = ((bits >> 23) & 0xFF) - 127;
            float m = default(TBits).FromBits((bits & 0x007FFFFF) | 0x3F800000);
            bool big = m > Sqrt2;
            m = big ? m * 0.5f : m;
            float ef = (float)e + (big ? 1f : 0f) - (subnormal ? 23f : 0f);
            float s = (m - 1f) / (m + 1f);
            float s2 = s * s;
            float poly = ((((L11 * s2 + L9) * s2 + L7) * s2 + L5) * s2 + L3) * s2;
            float logm = 2f * s + 2f * s * poly;
            float result = ef * Ln2 + logm;
            result = x == float.PositiveInfinity ? x : result;
            result = x == 0f ? float.NegativeInfinity : result;
            result = x < 0f ? float.NaN : result;
            return float.IsNaN(x) ? x : result;
        }

        /// <summary>x^y as exp(y·log x): defined for x ≥ 0 (NaN for negative x, as in the kernels).</summary>
        public static float Pow(float x, float y) => Exp(y * Log(x));

        /// <summary><see cref="Pow(float, float)"/> with the bit casts of <typeparamref name="TBits"/>.</summary>
        public static float Pow<TBits>(float x, float y) where TBits : struct, IFloatBits => Exp<TBits>(y * Log<TBits>(x));
    }
}
