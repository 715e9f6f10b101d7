using System;
using System.IO;
using System.Runtime.Intrinsics.X86;
using Fused.Runtime.Kernels;
using Fused.Runtime.Tests.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Cpu
{
    /// <summary>The kernel width a process starts with: FUSED_VECTOR_WIDTH, the start-up measurement, the rule.</summary>
    [Collection(nameof(KernelDispatchSettingsCollection))]
    public class KernelWidthTests
    {
        private static (int Bits, string Reason, string Error) DefaultWith(string? setting)
        {
            _ = KernelDispatch.MaxVectorBits; // the process's own start-up choice first, outside the setting under test
            string? saved = Environment.GetEnvironmentVariable(KernelDispatch.WidthVariable);
            var savedError = Console.Error;
            var error = new StringWriter();
            try
            {
                Environment.SetEnvironmentVariable(KernelDispatch.WidthVariable, setting);
                Console.SetError(error);
                int bits = KernelDispatch.DefaultVectorBits(out var reason);
                return (bits, reason, error.ToString());
            }
            finally
            {
                Console.SetError(savedError);
                Environment.SetEnvironmentVariable(KernelDispatch.WidthVariable, saved);
            }
        }

        [Theory]
        [InlineData("512", 512)]
        [InlineData("256", 256)]
        [InlineData("128", 128)]
        [InlineData("0", 0)]
        public void The_environment_variable_sets_the_width(string setting, int expected)
        {
            var (bits, reason, error) = DefaultWith(setting);
            Assert.Equal(expected, bits);
            Assert.Contains($"FUSED_VECTOR_WIDTH={setting}", reason);
            Assert.Equal("", error);
        }

        [Fact]
        public void An_unknown_setting_is_one_line_on_stderr_and_the_rule_applies()
        {
            var (bits, reason, error) = DefaultWith("wide");
            var (ruleBits, ruleReason, _) = DefaultWith(null);
            Assert.Equal(ruleBits, bits);
            Assert.Equal(ruleReason, reason);
            Assert.StartsWith("rule: ", reason);
            Assert.Equal("fused: FUSED_VECTOR_WIDTH='wide' is not 512, 256, 128, 0 or auto; the default width rule applies", error.TrimEnd());
        }

        [Fact]
        public void The_rule_takes_512_bits_where_avx512f_is_present_and_names_the_vendor()
        {
            var (bits, reason, _) = DefaultWith(null);
            Assert.Equal(Avx512F.IsSupported ? 512 : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? 256 : 128, bits);
            // The vendor as Linux reports it (independent of the CPUID read under test).
            if (File.Exists("/proc/cpuinfo") && System.Runtime.Intrinsics.X86.X86Base.IsSupported)
                Assert.Contains(File.ReadAllText("/proc/cpuinfo").Contains("AuthenticAMD") ? "AMD family" : "not AMD", reason);
        }

        [Fact]
        public void Auto_measures_and_picks_a_width_the_machine_runs()
        {
            var (bits, reason, _) = DefaultWith("auto");
            Assert.StartsWith("FUSED_VECTOR_WIDTH=auto: ", reason);
            if (Avx512F.IsSupported)
            {
                Assert.True(bits is 512 or 256, $"{bits}");
                Assert.Contains("the speed of Vector256", reason);
            }
            else Assert.True(bits <= 256);
        }
    }
}
