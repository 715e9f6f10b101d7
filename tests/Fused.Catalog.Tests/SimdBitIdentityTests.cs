using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// The Vector512/256/128 paths (each followed by the scalar tail, as Pass0 does) against the scalar
    /// path alone: bit for bit, for every rule, every length 0..70 and a few large ones, at misaligned
    /// offsets, on inputs full of special values. Buffers carry canaries before the offset and after
    /// the end, which no path may touch.
    /// </summary>
    public sealed class SimdBitIdentityTests
    {
        public static readonly int[] Offsets = { 0, 1, 3, 7 };
        public static readonly int[] LargeLengths = { 127, 1001, 4099 };
        private const int Pad = 5;

        public static IEnumerable<object[]> Cases() =>
            Catalog.All.SelectMany(r => new[] { new object[] { r.Name, false }, new object[] { r.Name, true } });

        public enum Flavor { Finite, WithNaNAndInf }

        [Theory]
        [MemberData(nameof(Cases))]
        public void VectorPathsMatchScalarBitForBit(string rule, bool withNaNAndInf)
        {
            var spec = Catalog.Get(rule);
            var flavor = withNaNAndInf ? Flavor.WithNaNAndInf : Flavor.Finite;
            int cases = 0;
            foreach (int n in Enumerable.Range(0, 71).Concat(LargeLengths))
                foreach (int offset in Offsets)
                {
                    var random = new Random(TestData.Seed("simd", rule, flavor, n, offset));
                    var hypers = spec.Hypers(random.Next(2));
                    long step = new long[] { 1, 2, 3, 17, 1000 }[random.Next(5)];
                    var u = spec.Uniforms(hypers, step, n);
                    var input = new float[spec.BufferCount][];
                    for (int b = 0; b < spec.BufferCount; b++) input[b] = SpecialValues.Buffer(random, offset + n + Pad, flavor);

                    var scalar = Clone(input);
                    Assert.Equal(n, spec.Kernels.Run(KernelPath.Scalar, u, scalar, offset, n));
                    AssertOnlyRangeWritten(spec, input, scalar, offset, n);

                    foreach (var (path, width) in new[] { (KernelPath.Vector512, Vector512<float>.Count), (KernelPath.Vector256, Vector256<float>.Count), (KernelPath.Vector128, Vector128<float>.Count) })
                    {
                        var got = Clone(input);
                        int done = spec.Kernels.Run(path, u, got, offset, n);
                        Assert.True(done == n - n % width, $"{rule} {path}: processed {done} of {n} elements, expected every whole vector ({n - n % width})");
                        AssertBitEqual(spec, scalar, got, $"{path} (step {step}, length {n}, offset {offset}, {flavor})");
                    }
                    cases++;
                }
            Assert.Equal(74 * Offsets.Length, cases);
        }

        /// <summary>Only [offset, offset + n) of param and states may change; the gradient never.</summary>
        private static void AssertOnlyRangeWritten(RuleSpec spec, float[][] before, float[][] after, int offset, int n)
        {
            for (int b = 0; b < spec.BufferCount; b++)
                for (int i = 0; i < before[b].Length; i++)
                {
                    bool inRange = i >= offset && i < offset + n;
                    if (b == 1 || !inRange)
                        Assert.True(Bits(before[b][i]) == Bits(after[b][i]),
                            $"{spec.Name}: buffer {b} element {i} outside the written range [{offset}, {offset + n}) changed: {before[b][i]:R} -> {after[b][i]:R}");
                }
        }

        internal static void AssertBitEqual(RuleSpec spec, float[][] expected, float[][] got, string what)
        {
            var names = spec.Rule.Program.Buffers.Select(b => b.Name).ToArray();
            for (int b = 0; b < expected.Length; b++)
                for (int i = 0; i < expected[b].Length; i++)
                    if (!SameBits(expected[b][i], got[b][i]))
                        Assert.Fail($"{spec.Name} {what}: buffer '{names[b]}' element {i}: scalar {expected[b][i]:R} (0x{Bits(expected[b][i]):X8}), " +
                                    $"got {got[b][i]:R} (0x{Bits(got[b][i]):X8})");
        }

        public static int Bits(float x) => Fused.Testing.FloatAgreement.Bits(x);

        /// <summary>Bit equality, any NaN equal to any NaN (Fused.Testing's rule; see <see cref="Fused.Testing.FloatAgreement.SameBits"/>).</summary>
        public static bool SameBits(float a, float b) => Fused.Testing.FloatAgreement.SameBits(a, b);

        public static float[][] Clone(float[][] a) => a.Select(x => (float[])x.Clone()).ToArray();
    }

    /// <summary>Inputs that exercise the corners of float32: ±0, subnormals, huge values, NaN payloads, ±∞.</summary>
    public static class SpecialValues
    {
        public static readonly float[] Fixed =
        {
            0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, 1e-40f, -3e-39f, 1.1754942e-38f, 1.17549435e-38f,
            1e-30f, 1e30f, -1e30f, 3.4e38f, -3.4e38f, float.MaxValue, 1e-8f, 0.5f, 2f, 65504f,
        };

        public static readonly float[] NonFinite =
        {
            float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity,
            BitConverter.Int32BitsToSingle(0x7FC00001), BitConverter.Int32BitsToSingle(unchecked((int)0xFFC12345)),
            BitConverter.Int32BitsToSingle(0x7F800001), // signalling NaN
        };

        public static float Value(Random r, SimdBitIdentityTests.Flavor flavor)
        {
            int k = r.Next(100);
            if (flavor == SimdBitIdentityTests.Flavor.WithNaNAndInf && k < 15) return NonFinite[r.Next(NonFinite.Length)];
            if (k < 35) return Fixed[r.Next(Fixed.Length)];
            if (k < 45) return BitConverter.Int32BitsToSingle((r.Next(2) << 31) | r.Next(1, 0x800000)); // random subnormal
            // Wide range: sign · 10^U(−12, 12) · U(1, 10).
            double mag = Math.Pow(10, r.NextDouble() * 24 - 12) * (1 + 9 * r.NextDouble());
            return (float)(r.Next(2) == 0 ? mag : -mag);
        }

        public static float[] Buffer(Random r, int n, SimdBitIdentityTests.Flavor flavor)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = Value(r, flavor);
            return a;
        }
    }

    [CollectionDefinition(nameof(DispatchCollection), DisableParallelization = true)]
    public sealed class DispatchCollection { }

    /// <summary>
    /// The dispatching Pass0 under each KernelDispatch.MaxVectorBits setting (a process-wide switch,
    /// so this class runs alone) against the scalar path.
    /// </summary>
    [Collection(nameof(DispatchCollection))]
    public sealed class DispatchTests
    {
        [Theory]
        [MemberData(nameof(SimdBitIdentityTests.Cases), MemberType = typeof(SimdBitIdentityTests))]
        public void EveryMaxVectorBitsSettingMatchesScalar(string rule, bool withNaNAndInf)
        {
            var spec = Catalog.Get(rule);
            var flavor = withNaNAndInf ? SimdBitIdentityTests.Flavor.WithNaNAndInf : SimdBitIdentityTests.Flavor.Finite;
            int saved = KernelDispatch.MaxVectorBits;
            try
            {
                foreach (int n in new[] { 0, 1, 5, 15, 16, 17, 31, 33, 64, 67, 1001 })
                    foreach (int offset in new[] { 0, 3 })
                    {
                        var random = new Random(TestData.Seed("dispatch", rule, flavor, n, offset));
                        var u = spec.Uniforms(spec.Hypers(random.Next(2)), 1 + random.Next(20), n);
                        var input = new float[spec.BufferCount][];
                        for (int b = 0; b < spec.BufferCount; b++) input[b] = SpecialValues.Buffer(random, offset + n + 2, flavor);
                        var scalar = SimdBitIdentityTests.Clone(input);
                        spec.Kernels.Run(KernelPath.Scalar, u, scalar, offset, n);
                        foreach (int bits in new[] { 512, 256, 128, 0 })
                        {
                            KernelDispatch.MaxVectorBits = bits;
                            var got = SimdBitIdentityTests.Clone(input);
                            spec.Kernels.Run(KernelPath.Dispatch, u, got, offset, n);
                            SimdBitIdentityTests.AssertBitEqual(spec, scalar, got, $"Pass0 with MaxVectorBits {bits} ({KernelDispatch.Describe()}, length {n}, offset {offset})");
                        }
                    }
            }
            finally
            {
                KernelDispatch.MaxVectorBits = saved;
            }
        }
    }
}
