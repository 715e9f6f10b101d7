using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// The IR interpreter, run on the plan parsed back from each rule's embedded IR text, against the
    /// generated kernels: same uniforms (float64, bit for bit) and same buffers after every step.
    /// </summary>
    public sealed class InterpreterTests
    {
        public static IEnumerable<object[]> Cases() =>
            Catalog.All.SelectMany(r => new[] { new object[] { r.Name, false }, new object[] { r.Name, true } });

        [Theory]
        [MemberData(nameof(Cases))]
        public void InterpreterMatchesGeneratedKernelsBitForBit(string rule, bool specialValues)
        {
            var spec = Catalog.Get(rule);
            var plan = Planner.Plan(spec.Rule.Program);
            var interpreter = new Interpreter(plan);
            Assert.Equal(spec.Rule.UniformCount, interpreter.Uniforms.Length);
            foreach (int n in new[] { 0, 1, 7, 16, 33, 100, 4097, 9000 })
            {
                var random = new Random(TestData.Seed("interp", rule, specialValues, n));
                int set = random.Next(2);
                var hypers = spec.Hypers(set);
                var kernel = new float[spec.BufferCount][];
                kernel[0] = specialValues ? SpecialValues.Buffer(random, n, SimdBitIdentityTests.Flavor.WithNaNAndInf) : TestData.Gaussian(random, n, 1);
                kernel[1] = new float[n];
                for (int b = 2; b < spec.BufferCount; b++)
                    kernel[b] = specialValues ? SpecialValues.Buffer(random, n, SimdBitIdentityTests.Flavor.Finite) : new float[n];
                var interpreted = SimdBitIdentityTests.Clone(kernel);

                for (int t = 1; t <= 6; t++)
                {
                    var grad = specialValues ? SpecialValues.Buffer(random, n, SimdBitIdentityTests.Flavor.WithNaNAndInf) : TestData.Gaussian(random, n, 0.1);
                    kernel[1] = grad;
                    interpreted[1] = (float[])grad.Clone();

                    var uniforms = new double[spec.Rule.UniformCount];
                    spec.ComputeUniforms(0, hypers, t, ShapeInfo.Vector(n), ReadOnlySpan<float>.Empty, uniforms);
                    spec.Kernels.Run(KernelPath.Dispatch, uniforms.Select(d => (float)d).ToArray(), kernel, 0, n);

                    interpreter.Step(hypers, t, ShapeInfo.Vector(n), interpreted);

                    for (int k = 0; k < uniforms.Length; k++)
                        Assert.True(BitConverter.DoubleToInt64Bits(uniforms[k]) == BitConverter.DoubleToInt64Bits(interpreter.Uniforms[k]),
                            $"{rule} step {t}: uniform {k} ({plan.Uniforms[k].Node}) generated {uniforms[k]:R}, interpreter {interpreter.Uniforms[k]:R}");
                    SimdBitIdentityTests.AssertBitEqual(spec, interpreted, kernel, $"interpreter vs kernel (hyper set {set}, step {t}, length {n})");
                }
            }
        }
    }
}
