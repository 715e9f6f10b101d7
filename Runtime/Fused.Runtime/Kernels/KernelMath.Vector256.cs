// KernelMath.Vector256.cs is one of three files produced from one template (Vector128, Vector256, Vector512):
// the same operations, in the same order, as Fused.Ir.ScalarMath, lane by lane, so every width and the
// scalar path agree bit for bit. Edit all three together (tests compare them on every special value).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Fused.Ir;

namespace Fused.Runtime.Kernels
{
    public static partial class KernelMath
    {
        /// <summary>Lane-wise <see cref="ScalarMath.Sign"/>: +1, −1, or the lane itself for ±0 and NaN.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Sign(Vector256<float> x)
        {
            var negative = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256.Create(-1f), x);
            return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), Vector256.Create(1f), negative);
        }

        /// <summary>Lane-wise a &lt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b), a, b);

        /// <summary>Lane-wise a &gt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, b), a, b);

        /// <summary>Lane-wise <see cref="ScalarMath.Exp"/>.</summary>
        public static Vector256<float> Exp(Vector256<float> x)
        {
            var xc = Min(Max(x, Vector256.Create(ScalarMath.ExpLow)), Vector256.Create(ScalarMath.ExpHigh));
            var t = xc * Vector256.Create(ScalarMath.Log2E) + Vector256.Create(ScalarMath.RoundMagic);
            var n = t - Vector256.Create(ScalarMath.RoundMagic);
            var r = (xc - n * Vector256.Create(ScalarMath.Ln2Hi)) - n * Vector256.Create(ScalarMath.Ln2Lo);
            var p = ((((((Vector256.Create(ScalarMath.C7) * r + Vector256.Create(ScalarMath.C6)) * r + Vector256.Create(ScalarMath.C5)) * r
                     + Vector256.Create(ScalarMath.C4)) * r + Vector256.Create(ScalarMath.C3)) * r + Vector256.Create(ScalarMath.C2)) * r
                     + Vector256.Create(1f)) * r + Vector256.Create(1f);
            var ni = Vector256.ConvertToInt32(n);
            var half = Vector256.ShiftRightArithmetic(ni, 1);
            var s1 = Vector256.ShiftLeft(half + Vector256.Create(127), 23).AsSingle();
            var s2 = Vector256.ShiftLeft(ni - half + Vector256.Create(127), 23).AsSingle();
            var result = p * s1 * s2;
            result = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(ScalarMath.ExpHigh)), Vector256.Create(float.PositiveInfinity), result);
            result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(ScalarMath.ExpLow)), Vector256<float>.Zero, result);
            return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Log"/>.</summary>
        public static Vector256<float> Log(Vector256<float> x)
        {
            var subnormal = Vector256.LessThan(x, Vector256.Create(1.17549435e-38f));
            var xs = Vector256.ConditionalSelect(subnormal, x * Vector256.Create(ScalarMath.Two23), x);
            var bits = xs.AsInt32();
            var e = (Vector256.ShiftRightArithmetic(bits, 23) & Vector256.Create(0xFF)) - Vector256.Create(127);
            var m = ((bits & Vector256.Create(0x007FFFFF)) | Vector256.Create(0x3F800000)).AsSingle();
            var big = Vector256.GreaterThan(m, Vector256.Create(ScalarMath.Sqrt2));
            m = Vector256.ConditionalSelect(big, m * Vector256.Create(0.5f), m);
            var ef = Vector256.ConvertToSingle(e) + Vector256.ConditionalSelect(big, Vector256.Create(1f), Vector256<float>.Zero)
                     - Vector256.ConditionalSelect(subnormal, Vector256.Create(23f), Vector256<float>.Zero);
            var one = Vector256.Create(1f);
            var s = (m - one) / (m + one);
            var s2 = s * s;
            var poly = ((((Vector256.Create(ScalarMath.L11) * s2 + Vector256.Create(ScalarMath.L9)) * s2 + Vector256.Create(ScalarMath.L7)) * s2
                        + Vector256.Create(ScalarMath.L5)) * s2 + Vector256.Create(ScalarMath.L3)) * s2;
            var two = Vector256.Create(2f);
            var logm = two * s + two * s * poly;
            var result = ef * Vector256.Create(ScalarMath.Ln2) + logm;
            result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(float.PositiveInfinity)), x, result);
            result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256<float>.Zero), Vector256.Create(float.NegativeInfinity), result);
            result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256.Create(float.NaN), result);
            return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Pow"/>: Exp(y·Log(x)).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Pow(Vector256<float> x, Vector256<float> y) => Exp(y * Log(x));
    }
}
