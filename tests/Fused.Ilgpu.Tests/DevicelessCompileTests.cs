using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Kernels;
using Fused.Catalog;
using Fused.Ilgpu.Tests.Device;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Ilgpu.Tests
{
    /// <summary>
    /// The generated kernels compiled to PTX without a GPU (ILGPU's PTX backend on its own): every kernel of every catalog
    /// rule and the block reduction compile, and the PTX the CUDA backend loads (<see cref="NoContraction"/>) shows what
    /// bit-identity on CUDA needs — no approximate <c>ex2</c>/<c>lg2</c> (Exp/Log are our polynomials), no <c>fma</c>, and
    /// no add or multiply left that the assembler could contract into one.
    /// </summary>
    public sealed class DevicelessCompileTests
    {
        private readonly ITestOutputHelper _output;

        public DevicelessCompileTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public void The_rewrite_gives_add_sub_and_mul_a_rounding_mode_and_leaves_the_rest()
        {
            const string ptx = "\tmul.f32\t%f3, %f1, %f2;\n\tadd.f32\t%f4, %f3, %f1;\n\tsub.f64\t%fd2, %fd1, %fd0;\n\tdiv.rn.f32\t%f5, %f4, %f2;\n\tadd.s32\t%r2, %r1, 1;\n\tmul.lo.s32\t%r3, %r2, 4;\n";
            Assert.True(NoContraction.HasContractiblePtx(ptx));
            Assert.Equal(
                "\tmul.rn.f32\t%f3, %f1, %f2;\n\tadd.rn.f32\t%f4, %f3, %f1;\n\tsub.rn.f64\t%fd2, %fd1, %fd0;\n\tdiv.rn.f32\t%f5, %f4, %f2;\n\tadd.s32\t%r2, %r1, 1;\n\tmul.lo.s32\t%r3, %r2, 4;\n",
                NoContraction.ForbidInPtx(ptx));
        }

        [Theory]
        [MemberData(nameof(Rules))]
        public void Every_kernel_compiles_to_OpenCL_C_with_contraction_off(string name)
        {
            foreach (var method in DevicelessCompiler.KernelsOf(RuleNamed(name)))
            {
                var (compiled, rewritten) = DevicelessCompiler.OpenClC(method);
                Assert.NotNull(rewritten);
                Assert.StartsWith(NoContraction.OpenClPragma + "\n", rewritten.Source, StringComparison.Ordinal);
                Assert.EndsWith(compiled.Source, rewritten.Source, StringComparison.Ordinal);
                Assert.Equal(compiled.Name, rewritten.Name);
                Assert.DoesNotContain("fma(", compiled.Source, StringComparison.Ordinal);
            }
        }

        private static FusedRule RuleNamed(string name) => CatalogRules.All.Concat(new[] { EveryOp.Rule }).Single(r => r.Name == name);

        public static IEnumerable<object[]> Rules() =>
            CatalogRules.All.Select(r => new object[] { r.Name }).Append(new object[] { EveryOp.Rule.Name });

        [Theory]
        [MemberData(nameof(Rules))]
        public void Every_kernel_compiles_to_PTX_without_approximate_math_or_contraction(string name)
        {
            var rule = RuleNamed(name);
            foreach (var method in DevicelessCompiler.KernelsOf(rule))
            {
                // What the CUDA backend loads: the PTX with every float add/sub/mul given .rn (never contracted into fma).
                var (compiled, rewritten) = DevicelessCompiler.Ptx(method);
                Assert.NotNull(rewritten);
                string ptx = rewritten.PTXAssembly;
                string where = $"{rule.Name}: {method.DeclaringType!.Name}.{method.Name}";
                Assert.False(NoContraction.HasContractiblePtx(ptx), where + " still has a contractible add or multiply");
                Assert.Equal(compiled.Name, rewritten.Name);
                Assert.False(ptx.Contains("ex2.approx", StringComparison.Ordinal) || ptx.Contains("lg2.approx", StringComparison.Ordinal), where + " uses the device's approximate exp/log");
                Assert.False(ptx.Contains("fma.", StringComparison.Ordinal), where + " has an fma");
                _output.WriteLine($"{where}: {ptx.Length} characters of PTX");
            }
        }
    }
}
