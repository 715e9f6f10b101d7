using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// KernelMath (Vector128/256/512) lane by lane against ScalarMath, bit for bit, on special values and
    /// a million random ones; and ScalarMath's Exp and Log against Math.Exp/Math.Log in double.
    /// </summary>
    public sealed class KernelMathTests
    {
        private readonly ITestOutputHelper _out;

        public KernelMathTests(ITestOutputHelper output) { _out = output; }

        private static float F(int bits) => BitConverter.Int32BitsToSingle(bits);
        private static int Bits(float x) => BitConverter.SingleToInt32Bits(x);

        /// <summary>Special inputs and their float neighbours.</summary>
        public static float[] Specials()
        {
            var core = new List<float>
            {
                0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN,
                F(0x7FC00001), F(unchecked((int)0xFFC0BEEF)), F(0x7F800001), F(unchecked((int)0xFF800123)),
                float.Epsilon, -float.Epsilon, F(0x00000002), F(0x00400000), F(0x007FFFFF), -F(0x007FFFFF),
                1.17549435e-38f, -1.17549435e-38f, float.MaxValue, float.MinValue,
                1f, -1f, 2f, 0.5f, 0.25f, 3f, 10f, 0.1f, 1e-10f, 1e10f, 1e30f, 1e-30f,
                88.7f, -88.7f, 88.72f, 88.73f, 89f, -87.33f, -87.34f, -103.97f, 103.97f, -104f, -103.9f,
                ScalarMath.ExpHigh, ScalarMath.ExpLow, -ScalarMath.ExpHigh, -ScalarMath.ExpLow,
                ScalarMath.Sqrt2, 1.41421356f, 0.70710678f, 0.70710677f, 1.4142135f, 2.828427f, 0.35355338f,
                (float)Math.E, (float)Math.PI, (float)Math.Log(2), -(float)Math.Log(2), 0.34657359f, -0.34657359f,
                12582912f, -12582912f, 8388608f, 16777216f, 0.25f, 0.75f, 1.5f, 1.25f,
            };
            var all = new List<float>();
            foreach (var x in core)
            {
                all.Add(x);
                if (float.IsFinite(x))
                    for (int k = 1; k <= 3; k++)
                    {
                        all.Add(F(Bits(x) + k));
                        all.Add(F(Bits(x) - k));
                    }
            }
            return all.ToArray();
        }

        /// <summary>Specials, a million random values: random bit patterns (every class), values in the interesting
        /// ranges of Exp and Log, and small integers and halves (what Pow sees as exponents).</summary>
        private static float[] Inputs(int seed)
        {
            var r = new Random(seed);
            var list = new List<float>(Specials());
            for (int i = 0; i < 1_000_000; i++)
            {
                switch (i % 5)
                {
                    case 0: list.Add(F(r.Next() ^ (r.Next(2) << 31))); break;
                    case 1: list.Add((float)(r.NextDouble() * 240 - 120)); break;
                    case 2: list.Add((float)Math.Pow(2, r.NextDouble() * 280 - 150)); break;
                    case 3: list.Add((float)(0.5 + 1.5 * r.NextDouble())); break;
                    default: list.Add((float)(Math.Round(r.NextDouble() * 40 - 20) / 2)); break;
                }
            }
            return list.ToArray();
        }

        private static void CompareUnary(string name, float[] xs, Func<float, float> scalar,
            Func<Vector128<float>, Vector128<float>> v128, Func<Vector256<float>, Vector256<float>> v256, Func<Vector512<float>, Vector512<float>> v512)
        {
            var expected = xs.Select(scalar).ToArray();
            Check(name, "Vector128", xs, null, expected, Lanes(xs, null, 4, (a, b, o) => { var v = v128(Vector128.Create(a, o)); v.CopyTo(b, o); }));
            Check(name, "Vector256", xs, null, expected, Lanes(xs, null, 8, (a, b, o) => { var v = v256(Vector256.Create(a, o)); v.CopyTo(b, o); }));
            Check(name, "Vector512", xs, null, expected, Lanes(xs, null, 16, (a, b, o) => { var v = v512(Vector512.Create(a, o)); v.CopyTo(b, o); }));
        }

        private static void CompareBinary(string name, float[] xs, float[] ys, Func<float, float, float> scalar,
            Func<Vector128<float>, Vector128<float>, Vector128<float>> v128, Func<Vector256<float>, Vector256<float>, Vector256<float>> v256,
            Func<Vector512<float>, Vector512<float>, Vector512<float>> v512)
        {
            var expected = xs.Select((x, i) => scalar(x, ys[i])).ToArray();
            Check(name, "Vector128", xs, ys, expected, Lanes2(xs, ys, 4, (o, res) => v128(Vector128.Create(xs, o), Vector128.Create(ys, o)).CopyTo(res, o)));
            Check(name, "Vector256", xs, ys, expected, Lanes2(xs, ys, 8, (o, res) => v256(Vector256.Create(xs, o), Vector256.Create(ys, o)).CopyTo(res, o)));
            Check(name, "Vector512", xs, ys, expected, Lanes2(xs, ys, 16, (o, res) => v512(Vector512.Create(xs, o), Vector512.Create(ys, o)).CopyTo(res, o)));
        }

        // Runs a vector function over xs in chunks of width (the input padded to a whole number of vectors).
        private static float[] Lanes(float[] xs, float[]? unused, int width, Action<float[], float[], int> run)
        {
            int n = (xs.Length + width - 1) / width * width;
            var a = new float[n];
            xs.CopyTo(a, 0);
            var res = new float[n];
            for (int o = 0; o < n; o += width) run(a, res, o);
            return res.Take(xs.Length).ToArray();
        }

        private static float[] Lanes2(float[] xs, float[] ys, int width, Action<int, float[]> run)
        {
            if (xs.Length % width != 0) throw new ArgumentException("pad inputs to a multiple of 16");
            var res = new float[xs.Length];
            for (int o = 0; o < xs.Length; o += width) run(o, res);
            return res;
        }

        private static void Check(string name, string width, float[] xs, float[]? ys, float[] expected, float[] got)
        {
            int mismatches = 0;
            string first = "";
            for (int i = 0; i < expected.Length; i++)
                if (!SimdBitIdentityTests.SameBits(expected[i], got[i]))
                {
                    if (mismatches++ == 0)
                        first = $"{name}({xs[i]:R} [0x{Bits(xs[i]):X8}]" + (ys != null ? $", {ys[i]:R} [0x{Bits(ys[i]):X8}]" : "") +
                                $"): ScalarMath {expected[i]:R} [0x{Bits(expected[i]):X8}], KernelMath.{width} {got[i]:R} [0x{Bits(got[i]):X8}]";
                }
            Assert.True(mismatches == 0, $"{mismatches} of {expected.Length} lanes differ; first: {first}");
        }

        private static float[] Pad16(float[] a) => a.Concat(Enumerable.Repeat(1f, (16 - a.Length % 16) % 16)).ToArray();

        [Fact]
        public void ExpIsBitIdenticalToScalarMath() =>
            CompareUnary("Exp", Inputs(1), ScalarMath.Exp, KernelMath.Exp, KernelMath.Exp, KernelMath.Exp);

        [Fact]
        public void LogIsBitIdenticalToScalarMath() =>
            CompareUnary("Log", Inputs(2), ScalarMath.Log, KernelMath.Log, KernelMath.Log, KernelMath.Log);

        [Fact]
        public void SignIsBitIdenticalToScalarMath() =>
            CompareUnary("Sign", Inputs(3), ScalarMath.Sign, KernelMath.Sign, KernelMath.Sign, KernelMath.Sign);

        [Fact]
        public void MinMaxAreBitIdenticalToScalarMathOnEveryPairOfSpecials()
        {
            var s = Specials();
            var xs = Pad16(s.SelectMany(a => s.Select(b => a)).ToArray());
            var ys = Pad16(s.SelectMany(a => s.Select(b => b)).ToArray());
            CompareBinary("Min", xs, ys, ScalarMath.Min, KernelMath.Min, KernelMath.Min, KernelMath.Min);
            CompareBinary("Max", xs, ys, ScalarMath.Max, KernelMath.Max, KernelMath.Max, KernelMath.Max);
            // The select semantics themselves (not Math.Min): the second operand wins ties and unordered pairs.
            Assert.Equal(Bits(-0f), Bits(ScalarMath.Min(0f, -0f)));
            Assert.Equal(Bits(0f), Bits(ScalarMath.Min(-0f, 0f)));
            Assert.Equal(Bits(2f), Bits(ScalarMath.Max(float.NaN, 2f)));
            Assert.True(float.IsNaN(ScalarMath.Max(2f, float.NaN)));
        }

        [Fact]
        public void MinMaxAreBitIdenticalToScalarMathOnRandomPairs()
        {
            var xs = Inputs(4);
            var ys = Inputs(5);
            int n = Math.Min(xs.Length, ys.Length) / 16 * 16;
            xs = xs.Take(n).ToArray();
            ys = ys.Reverse().Take(n).ToArray();
            CompareBinary("Min", xs, ys, ScalarMath.Min, KernelMath.Min, KernelMath.Min, KernelMath.Min);
            CompareBinary("Max", xs, ys, ScalarMath.Max, KernelMath.Max, KernelMath.Max, KernelMath.Max);
        }

        [Fact]
        public void PowIsBitIdenticalToScalarMath()
        {
            var s = Specials();
            var exps = new float[] { 0f, -0f, 1f, -1f, 2f, 0.5f, -0.5f, 0.25f, 3f, 1e-3f, 10f, -7.5f, 100f, float.NaN, float.PositiveInfinity, float.NegativeInfinity };
            var xs = s.SelectMany(a => exps.Select(b => a)).ToList();
            var ys = s.SelectMany(a => exps.Select(b => b)).ToList();
            var r = new Random(6);
            for (int i = 0; i < 300_000; i++)
            {
                xs.Add(i % 3 == 0 ? F(r.Next()) : (float)Math.Pow(2, r.NextDouble() * 60 - 30));
                ys.Add(i % 3 == 0 ? F(r.Next() ^ (r.Next(2) << 31)) : (float)(r.NextDouble() * 20 - 10));
            }
            CompareBinary("Pow", Pad16(xs.ToArray()), Pad16(ys.ToArray()), ScalarMath.Pow, KernelMath.Pow, KernelMath.Pow, KernelMath.Pow);
        }

        /// <summary>The element ops the kernels render without KernelMath (Sqrt, Abs, 1/Sqrt, Neg) also agree across widths and ScalarMath.</summary>
        [Fact]
        public void SqrtAbsRsqrtNegAgreeAcrossWidths()
        {
            var xs = Inputs(7);
            CompareUnary("Sqrt", xs, ScalarMath.Sqrt, Vector128.Sqrt, Vector256.Sqrt, Vector512.Sqrt);
            CompareUnary("Sqrt(MathF)", xs, MathF.Sqrt, Vector128.Sqrt, Vector256.Sqrt, Vector512.Sqrt);
            CompareUnary("Abs", xs, ScalarMath.Abs, Vector128.Abs, Vector256.Abs, Vector512.Abs);
            CompareUnary("Abs(MathF)", xs, MathF.Abs, Vector128.Abs, Vector256.Abs, Vector512.Abs);
            CompareUnary("Rsqrt", xs, ScalarMath.Rsqrt, v => Vector128<float>.One / Vector128.Sqrt(v), v => Vector256<float>.One / Vector256.Sqrt(v), v => Vector512<float>.One / Vector512.Sqrt(v));
            CompareUnary("Neg", xs, x => -x, v => -v, v => -v, v => -v);
        }

        // ---------------- accuracy of ScalarMath.Exp / Log in double ----------------

        /// <summary>Error of a float32 result in units of the last place of the float32 nearest the exact value.</summary>
        private static double UlpError(float got, double exact)
        {
            float nearest = (float)exact;
            double ulp = Math.Abs((double)MathF.BitIncrement(Math.Abs(nearest)) - Math.Abs(nearest));
            return Math.Abs(got - exact) / ulp;
        }

        [Fact]
        public void ExpIsAccurateOverTheNormalRange()
        {
            // Outputs normal: x in [ln(2^-126), ExpHigh]. Every 256th float of the range, plus random values.
            double maxRel = 0, maxUlp = 0;
            float worstX = 0;
            void Measure(float x)
            {
                double exact = Math.Exp(x);
                if (exact < 1.17549435e-38 || exact > float.MaxValue) return;
                float got = ScalarMath.Exp(x);
                double rel = Math.Abs(got - exact) / exact;
                double ulp = UlpError(got, exact);
                if (rel > maxRel) { maxRel = rel; worstX = x; }
                maxUlp = Math.Max(maxUlp, ulp);
                if (!(rel <= 2e-7)) Assert.Fail($"Exp({x:R}) = {got:R}, Math.Exp = {exact:R}, relative error {rel:E3} > 2e-7");
            }
            for (int b = 0; b < Bits(ScalarMath.ExpHigh); b += 256) Measure(F(b));
            for (int b = unchecked((int)0x80000000); b < unchecked((int)0x80000000) + Bits(87.4f); b += 256) Measure(F(b));
            var r = new Random(8);
            for (int i = 0; i < 1_000_000; i++) Measure((float)(r.NextDouble() * 176 - 87.3));
            foreach (var x in Specials()) if (float.IsFinite(x)) Measure(x);
            _out.WriteLine($"ScalarMath.Exp: max relative error {maxRel:E3} (at x = {worstX:R}), max error {maxUlp:F3} ulp");
        }

        [Fact]
        public void LogIsAccurateOverTheNormalRange()
        {
            // Every float in [0.5, 2√2) (all mantissas on both sides of 1 and of √2, and the octave where
            // ln 2 and log m cancel most), every 1024th positive normal float, and a million random ones. Relative error, so log near 1 (tiny result) is the hard case.
            double maxRel = 0, maxUlp = 0;
            float worstX = 0, worstUlpX = 0;
            void Measure(float x)
            {
                double exact = Math.Log(x);
                if (exact == 0) { Assert.Equal(0f, ScalarMath.Log(x)); return; }
                float got = ScalarMath.Log(x);
                double rel = Math.Abs(got - exact) / Math.Abs(exact);
                double ulp = UlpError(got, exact);
                if (rel > maxRel) { maxRel = rel; worstX = x; }
                if (ulp > maxUlp) { maxUlp = ulp; worstUlpX = x; }
                if (!(rel <= 2e-7)) Assert.Fail($"Log({x:R}) = {got:R}, Math.Log = {exact:R}, relative error {rel:E3} > 2e-7");
            }
            for (int b = Bits(0.5f); b < Bits(2.82842712f); b++) Measure(F(b));
            for (int b = Bits(1.17549435e-38f); b < Bits(float.MaxValue); b += 1024) Measure(F(b));
            var r = new Random(9);
            for (int i = 0; i < 1_000_000; i++) Measure(F(r.Next(Bits(1.17549435e-38f), Bits(float.MaxValue))));
            _out.WriteLine($"ScalarMath.Log: max relative error {maxRel:E3} (at x = {worstX:R}), max error {maxUlp:F3} ulp (at x = {worstUlpX:R})");
        }

        [Fact]
        public void ExpAndLogSpecialCases()
        {
            Assert.Equal(1f, ScalarMath.Exp(0f));
            Assert.Equal(1f, ScalarMath.Exp(-0f));
            Assert.Equal(float.PositiveInfinity, ScalarMath.Exp(float.PositiveInfinity));
            Assert.Equal(Bits(0f), Bits(ScalarMath.Exp(float.NegativeInfinity)));
            Assert.Equal(float.PositiveInfinity, ScalarMath.Exp(89f));
            Assert.Equal(Bits(0f), Bits(ScalarMath.Exp(-104f)));
            Assert.True(float.IsNaN(ScalarMath.Exp(float.NaN)));
            Assert.Equal(0f, ScalarMath.Log(1f));
            Assert.Equal(float.NegativeInfinity, ScalarMath.Log(0f));
            Assert.Equal(float.NegativeInfinity, ScalarMath.Log(-0f));
            Assert.Equal(float.PositiveInfinity, ScalarMath.Log(float.PositiveInfinity));
            Assert.True(float.IsNaN(ScalarMath.Log(-1f)));
            Assert.True(float.IsNaN(ScalarMath.Log(float.NegativeInfinity)));
            Assert.True(float.IsNaN(ScalarMath.Log(float.NaN)));
            // Subnormal inputs and outputs stay accurate (relative error of a subnormal result is bounded by its spacing).
            foreach (var x in new[] { float.Epsilon, 1e-40f, 1e-44f, F(0x007FFFFF) })
                Assert.True(Math.Abs(ScalarMath.Log(x) - Math.Log(x)) <= 2e-7 * Math.Abs(Math.Log(x)), $"Log({x:R})");
            for (float x = -103.9f; x < -87.4f; x += 0.37f)
                Assert.True(Math.Abs(ScalarMath.Exp(x) - Math.Exp(x)) <= float.Epsilon, $"Exp({x:R}) = {ScalarMath.Exp(x):R}, exact {Math.Exp(x):R}");
            // NaN payloads pass through untouched.
            var payload = F(0x7FC0BEEF);
            Assert.Equal(Bits(payload), Bits(ScalarMath.Exp(payload)));
            Assert.Equal(Bits(payload), Bits(ScalarMath.Log(payload)));
        }
    }
}
