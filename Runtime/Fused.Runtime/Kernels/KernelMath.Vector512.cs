// KernelMath.Vector512.cs is one of three files produced from one template (Vector128, Vector256, Vector512):
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
        public static Vector512<float> Sign(Vector512<float> x)
        {
            var negative = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), Vector512.Create(-1f), x);
            return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), Vector512.Create(1f), negative);
        }

        /// <summary>Lane-wise a &lt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(Vector512.LessThan(a, b), a, b);

        /// <summary>Lane-wise a &gt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(Vector512.GreaterThan(a, b), a, b);

        /// <summary>Lane-wise <see cref="ScalarMath.Exp"/>.</summary>
        public static Vector512<float> Exp(Vector512<float> x)
        {
            var xc = Min(Max(x, Vector512.Create(ScalarMath.ExpLow)), Vector512.Create(ScalarMath.ExpHigh));
            var t = xc * Vector512.Create(ScalarMath.Log2E) + Vector512.Create(ScalarMath.RoundMagic);
            var n = t - Vector512.Create(ScalarMath.RoundMagic);
            var r = (xc - n * Vector512.Create(ScalarMath.Ln2Hi)) - n * Vector512.Create(ScalarMath.Ln2Lo);
            var p = ((((((Vector512.Create(ScalarMath.C7) * r + Vector512.Create(ScalarMath.C6)) * r + Vector512.Create(ScalarMath.C5)) * r
                     + Vector512.Create(ScalarMath.C4)) * r + Vector512.Create(ScalarMath.C3)) * r + Vector512.Create(ScalarMath.C2)) * r
                     + Vector512.Create(1f)) * r + Vector512.Create(1f);
            var ni = Vector512.ConvertToInt32(n);
            var half = Vector512.ShiftRightArithmetic(ni, 1);
            var s1 = Vector512.ShiftLeft(half + Vector512.Create(127), 23).AsSingle();
            var s2 = Vector512.ShiftLeft(ni - half + Vector512.Create(127), 23).AsSingle();
            var result = p * s1 * s2;
            result = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(ScalarMath.ExpHigh)), Vector512.Create(float.PositiveInfinity), result);
            result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(ScalarMath.ExpLow)), Vector512<float>.Zero, result);
            return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Log"/>.</summary>
        public static Vector512<float> Log(Vector512<float> x)
        {
            var subnormal = Vector512.LessThan(x, Vector512.Create(1.17549435e-38f));
            var xs = Vector512.ConditionalSelect(subnormal, x * Vector512.Create(ScalarMath.Two23), x);
            var bits = xs.AsInt32();
            var e = (Vector512.ShiftRightArithmetic(bits, 23) & Vector512.Create(0xFF)) - Vector512.Create(127);
            var m = ((bits & Vector512.Create(0x007FFFFF)) | Vector512.Create(0x3F800000)).AsSingle();
            var big = Vector512.GreaterThan(m, Vector512.Create(ScalarMath.Sqrt2));
            m = Vector512.ConditionalSelect(big, m * Vector512.Create(0.5f), m);
            var ef = Vector512.ConvertToSingle(e) + Vector512.ConditionalSelect(big, Vector512.Create(1f), Vector512<float>.Zero)
                     - Vector512.ConditionalSelect(subnormal, Vector512.Create(23f), Vector512<float>.Zero);
            var one = Vector512.Create(1f);
            var s = (m - one) / (m + one);
            var s2 = s * s;
            var poly = ((((Vector512.Create(ScalarMath.L11) * s2 + Vector512.Create(ScalarMath.L9)) * s2 + Vector512.Create(ScalarMath.L7)) * s2
                        + Vector512.Create(ScalarMath.L5)) * s2 + Vector512.Create(ScalarMath.L3)) * s2;
            var two = Vector512.Create(2f);
            var logm = two * s + two * s * poly;
            var result = ef * Vector512.Create(ScalarMath.Ln2) + logm;
            result = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512.Create(float.PositiveInfinity)), x, result);
            result = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512<float>.Zero), Vector512.Create(float.NegativeInfinity), result);
            result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), Vector512.Create(float.NaN), result);
            return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Pow"/>: Exp(y·Log(x)).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Pow(Vector512<float> x, Vector512<float> y) => Exp(y * Log(x));
    }
}
