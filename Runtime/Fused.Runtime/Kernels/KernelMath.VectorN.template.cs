// KernelMath over VectorN<float>: the same operations, in the same order, as Fused.Ir.ScalarMath, lane by lane,
// so every SIMD width and the scalar path agree bit for bit (tests compare them on every special value).
// This is the one source for all widths: KernelMath.targets compiles a copy per width (Vector128, Vector256,
// Vector512), the placeholder vector type replaced by that width's, so the widths cannot drift apart.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Fused.Ir;

namespace Fused.Runtime.Kernels
{
    /// <summary>Lane-wise float32 math for the generated kernels: <see cref="ScalarMath"/>'s operations on Vector128/256/512, bit for bit.</summary>
    public static partial class KernelMath
    {
        /// <summary>Lane-wise <see cref="ScalarMath.Sign"/>: +1, −1, or the lane itself for ±0 and NaN.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static VectorN<float> Sign(VectorN<float> x)
        {
            // ±1 carrying x's sign bit where x is a nonzero number; x itself (±0, NaN) elsewhere. One select instead of
            // two: the sign bit is copied, not compared for (Lion's step is memory-bound, but not by much).
            var unit = (x & VectorN.Create(-0f)) | VectorN.Create(1f);
            var nonzeroNumber = VectorN.Equals(x, x) & ~VectorN.Equals(x, VectorN<float>.Zero);
            return VectorN.ConditionalSelect(nonzeroNumber, unit, x);
        }

        /// <summary>Lane-wise a &lt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static VectorN<float> Min(VectorN<float> a, VectorN<float> b) => VectorN.ConditionalSelect(VectorN.LessThan(a, b), a, b);

        /// <summary>Lane-wise a &gt; b ? a : b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static VectorN<float> Max(VectorN<float> a, VectorN<float> b) => VectorN.ConditionalSelect(VectorN.GreaterThan(a, b), a, b);

        /// <summary>Lane-wise <see cref="ScalarMath.Exp"/>.</summary>
        public static VectorN<float> Exp(VectorN<float> x)
        {
            var xc = Min(Max(x, VectorN.Create(ScalarMath.ExpLow)), VectorN.Create(ScalarMath.ExpHigh));
            var t = xc * VectorN.Create(ScalarMath.Log2E) + VectorN.Create(ScalarMath.RoundMagic);
            var n = t - VectorN.Create(ScalarMath.RoundMagic);
            var r = (xc - n * VectorN.Create(ScalarMath.Ln2Hi)) - n * VectorN.Create(ScalarMath.Ln2Lo);
            var p = ((((((VectorN.Create(ScalarMath.C7) * r + VectorN.Create(ScalarMath.C6)) * r + VectorN.Create(ScalarMath.C5)) * r
                     + VectorN.Create(ScalarMath.C4)) * r + VectorN.Create(ScalarMath.C3)) * r + VectorN.Create(ScalarMath.C2)) * r
                     + VectorN.Create(1f)) * r + VectorN.Create(1f);
            var ni = VectorN.ConvertToInt32(n);
            var half = VectorN.ShiftRightArithmetic(ni, 1);
            var s1 = VectorN.ShiftLeft(half + VectorN.Create(127), 23).AsSingle();
            var s2 = VectorN.ShiftLeft(ni - half + VectorN.Create(127), 23).AsSingle();
            var result = p * s1 * s2;
            result = VectorN.ConditionalSelect(VectorN.GreaterThan(x, VectorN.Create(ScalarMath.ExpHigh)), VectorN.Create(float.PositiveInfinity), result);
            result = VectorN.ConditionalSelect(VectorN.LessThan(x, VectorN.Create(ScalarMath.ExpLow)), VectorN<float>.Zero, result);
            return VectorN.ConditionalSelect(VectorN.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Log"/>.</summary>
        public static VectorN<float> Log(VectorN<float> x)
        {
            var subnormal = VectorN.LessThan(x, VectorN.Create(1.17549435e-38f));
            var xs = VectorN.ConditionalSelect(subnormal, x * VectorN.Create(ScalarMath.Two23), x);
            var bits = xs.AsInt32();
            var e = (VectorN.ShiftRightArithmetic(bits, 23) & VectorN.Create(0xFF)) - VectorN.Create(127);
            var m = ((bits & VectorN.Create(0x007FFFFF)) | VectorN.Create(0x3F800000)).AsSingle();
            var big = VectorN.GreaterThan(m, VectorN.Create(ScalarMath.Sqrt2));
            m = VectorN.ConditionalSelect(big, m * VectorN.Create(0.5f), m);
            var ef = VectorN.ConvertToSingle(e) + VectorN.ConditionalSelect(big, VectorN.Create(1f), VectorN<float>.Zero)
                     - VectorN.ConditionalSelect(subnormal, VectorN.Create(23f), VectorN<float>.Zero);
            var one = VectorN.Create(1f);
            var s = (m - one) / (m + one);
            var s2 = s * s;
            var poly = ((((VectorN.Create(ScalarMath.L11) * s2 + VectorN.Create(ScalarMath.L9)) * s2 + VectorN.Create(ScalarMath.L7)) * s2
                        + VectorN.Create(ScalarMath.L5)) * s2 + VectorN.Create(ScalarMath.L3)) * s2;
            var two = VectorN.Create(2f);
            var logm = two * s + two * s * poly;
            var result = ef * VectorN.Create(ScalarMath.Ln2) + logm;
            result = VectorN.ConditionalSelect(VectorN.Equals(x, VectorN.Create(float.PositiveInfinity)), x, result);
            result = VectorN.ConditionalSelect(VectorN.Equals(x, VectorN<float>.Zero), VectorN.Create(float.NegativeInfinity), result);
            result = VectorN.ConditionalSelect(VectorN.LessThan(x, VectorN<float>.Zero), VectorN.Create(float.NaN), result);
            return VectorN.ConditionalSelect(VectorN.Equals(x, x), result, x);
        }

        /// <summary>Lane-wise <see cref="ScalarMath.Pow"/>: Exp(y·Log(x)).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static VectorN<float> Pow(VectorN<float> x, VectorN<float> y) => Exp(y * Log(x));
    }
}
