// KernelMath.Vector128.cs is one of three files produced from one template (Vector128, Vector256, Vector512):
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
        public static Vector128<float> Sign(Vector128<float> x)
        {
            var negative = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), Vector128.Create(-1f), x);
            return Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), Vector128.Create(1f), negative);
        }

        /// <summary>Lane-wise a &lt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(Vector128.LessThan(a, b), a, b);

        /// <summary>Lane-wise a &gt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(Vector128.GreaterThan(a, b), a, b);

        /// <summary>Lane-wise <see cref="ScalarMath.Exp"/>.</summary>
        public static Vector128<float> Exp(Vector128<float> x)
        {
            var xc = Min(Max(x, Vector128.Create(ScalarMath.ExpLow)), Vector128.Create(ScalarMath.ExpHigh));
            var t = xc * Vector128.Create(ScalarMath.Log2E) + Vector128.Create(ScalarMath.RoundMagic);
            var n = t - Vector128.Create(ScalarMath.RoundMagic);
            var r = (xc - n * Vector128.Create(ScalarMath.Ln2Hi)) - n * Vector128.Create(ScalarMath.Ln2Lo);
            var p = ((((((Vector128.Create(ScalarMath.C7) * r + Vector128.Create(ScalarMath.C6)) * r + Vector128.Create(ScalarMath.C5)) * r
                     + Vector128.Create(ScalarMath.C4)) * r + Vector128.Create(ScalarMath.C3)) * r + Vector128.Create(ScalarMath.C2)) * r
                     + Vector128.Create(1f)) * r + Vector128.Create(1f);
            var ni = Vector128.ConvertToInt32(n);
            var half = Vector128.ShiftRightArithmetic(ni, 1);
            var s1 = Vector128.ShiftLeft(half + Vector128.Create(127), 23).AsSingle();
            var s2 = Vector128.ShiftLeft(ni - half + Vector128.Create(127), 23).AsSingle();
            var result = p * s1 * s2;
            result = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(ScalarMath.ExpHigh)), Vector128.Create(float.PositiveInfinity), result);
            result = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(ScalarMath.ExpLow)), Vector128<float>.Zero, result);
            return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Log"/>.</summary>
        public static Vector128<float> Log(Vector128<float> x)
        {
            var subnormal = Vector128.LessThan(x, Vector128.Create(1.17549435e-38f));
            var xs = Vector128.ConditionalSelect(subnormal, x * Vector128.Create(ScalarMath.Two23), x);
            var bits = xs.AsInt32();
            var e = (Vector128.ShiftRightArithmetic(bits, 23) & Vector128.Create(0xFF)) - Vector128.Create(127);
            var m = ((bits & Vector128.Create(0x007FFFFF)) | Vector128.Create(0x3F800000)).AsSingle();
            var big = Vector128.GreaterThan(m, Vector128.Create(ScalarMath.Sqrt2));
            m = Vector128.ConditionalSelect(big, m * Vector128.Create(0.5f), m);
            var ef = Vector128.ConvertToSingle(e) + Vector128.ConditionalSelect(big, Vector128.Create(1f), Vector128<float>.Zero)
                     - Vector128.ConditionalSelect(subnormal, Vector128.Create(23f), Vector128<float>.Zero);
            var one = Vector128.Create(1f);
            var s = (m - one) / (m + one);
            var s2 = s * s;
            var poly = ((((Vector128.Create(ScalarMath.L11) * s2 + Vector128.Create(ScalarMath.L9)) * s2 + Vector128.Create(ScalarMath.L7)) * s2
                        + Vector128.Create(ScalarMath.L5)) * s2 + Vector128.Create(ScalarMath.L3)) * s2;
            var two = Vector128.Create(2f);
            var logm = two * s + two * s * poly;
            var result = ef * Vector128.Create(ScalarMath.Ln2) + logm;
            result = Vector128.ConditionalSelect(Vector128.Equals(x, Vector128.Create(float.PositiveInfinity)), x, result);
            result = Vector128.ConditionalSelect(Vector128.Equals(x, Vector128<float>.Zero), Vector128.Create(float.NegativeInfinity), result);
            result = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), Vector128.Create(float.NaN), result);
            return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Pow"/>: Exp(y·Log(x)).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Pow(Vector128<float> x, Vector128<float> y) => Exp(y * Log(x));
    }
}
