using System;
using Fused.Catalog;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>Which kernels a runner picks, and why.</summary>
    [Collection(OpenClCollection.Name)]
    public sealed class ClKernelChoiceTests
    {
        private readonly OpenClFixture _fixture;
        private readonly ITestOutputHelper _output;

        public ClKernelChoiceTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        [Fact]
        public void Auto_takes_vector_kernels_on_a_CPU_device_and_scalar_ones_elsewhere()
        {
            var device = OpenClTestEnvironment.RequireDevice(_output);
            if (device is null) return;
            using var env = new EnvironmentVariable(ClKernelChoice.Variable, null);
            var choice = ClKernelChoice.Resolve(device);
            _output.WriteLine(device.Describe() + ": " + choice.Description);
            bool cpu = (device.Type & OpenClDeviceType.Cpu) != 0;
            Assert.Equal(cpu ? ClKernelShape.Vector : ClKernelShape.Scalar, choice.Shape);
            if (cpu) Assert.Contains("CPU device", choice.Description);
            using var runner = new ClRuleRunner(AdamW.Rule, _fixture.Queue);
            Assert.Equal(choice, runner.Kernels);
        }

        [Fact]
        public void The_vector_width_is_the_device_preferred_one_unless_given()
        {
            var device = OpenClTestEnvironment.RequireDevice(_output);
            if (device is null) return;
            using var env = new EnvironmentVariable(ClKernelChoice.Variable, null);
            int preferred = device.PreferredVectorWidthFloat;
            Assert.Equal(preferred >= 16 ? 16 : preferred >= 8 ? 8 : 4, ClKernelChoice.Resolve(device, ClKernelShape.Vector).VectorWidth);
            Assert.Equal(4, ClKernelChoice.Resolve(device, ClKernelShape.Vector, 4).VectorWidth);
            Assert.Equal(1, ClKernelChoice.Resolve(device, ClKernelShape.Scalar).ElementsPerWorkItem);
            Assert.Throws<ArgumentOutOfRangeException>(() => ClKernelChoice.Resolve(device, ClKernelShape.Vector, 3));
        }

        [Fact]
        public void The_environment_variable_decides_when_the_code_does_not()
        {
            var device = OpenClTestEnvironment.RequireDevice(_output);
            if (device is null) return;
            using (new EnvironmentVariable(ClKernelChoice.Variable, "scalar"))
            {
                var choice = ClKernelChoice.Resolve(device);
                Assert.Equal(ClKernelShape.Scalar, choice.Shape);
                Assert.Contains(ClKernelChoice.Variable + "=scalar", choice.Description);
                // An explicit choice in code wins over the variable.
                Assert.Equal(ClKernelShape.Vector, ClKernelChoice.Resolve(device, ClKernelShape.Vector).Shape);
            }
            using (new EnvironmentVariable(ClKernelChoice.Variable, "vector16"))
            {
                var choice = ClKernelChoice.Resolve(device);
                Assert.Equal((ClKernelShape.Vector, 16), (choice.Shape, choice.VectorWidth));
            }
            using (new EnvironmentVariable(ClKernelChoice.Variable, "wide"))
            {
                var error = Assert.Throws<ArgumentException>(() => ClKernelChoice.Resolve(device));
                Assert.Contains("FUSED_OPENCL_KERNELS='wide' is not one of: auto, scalar, vector, vector2, vector4, vector8, vector16", error.Message);
            }
        }

        /// <summary>Sets an environment variable for the scope of a test and restores it after.</summary>
        private sealed class EnvironmentVariable : IDisposable
        {
            private readonly string _name;
            private readonly string? _previous;

            public EnvironmentVariable(string name, string? value)
            {
                _name = name;
                _previous = Environment.GetEnvironmentVariable(name);
                Environment.SetEnvironmentVariable(name, value);
            }

            public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
        }
    }
}
