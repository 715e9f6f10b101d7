using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    [Collection(OpenClCollection.Name)]
    public sealed class OpenClErrorTests
    {
        private readonly OpenClFixture fixture;
        private readonly ITestOutputHelper output;

        public OpenClErrorTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            this.fixture = fixture;
            this.output = output;
        }

        [Fact]
        public void SyntaxErrorThrowsWithBuildLog()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            const string broken = "__kernel void broken(__global float* x) { x[0] = undeclared_identifier_q7 + ; }";
            var error = Assert.Throws<OpenClException>(() => fixture.Context.BuildProgram(broken));
            output.WriteLine(error.Message);
            Assert.Equal("clBuildProgram", error.Call);
            Assert.Equal(-11, error.ErrorCode);
            Assert.StartsWith("clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11)", error.Message);
            // The identifier only appears in the compiler's diagnostics, so this proves the log is in the message.
            Assert.Contains("undeclared_identifier_q7", error.Message);
            Assert.Contains("Build log:", error.Message);
        }

        [Fact]
        public void FailedBuildIsNotCachedAndThrowsAgain()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            using var cache = new ProgramCache(fixture.Context, fixture.NewCacheDirectory());
            const string broken = "__kernel void broken2(__global float* x) { x[0] = ; }";
            Assert.Throws<OpenClException>(() => cache.GetOrBuild(broken));
            Assert.Throws<OpenClException>(() => cache.GetOrBuild(broken));
            Assert.Equal(0, cache.BuiltCount);
        }

        [Fact]
        public void UnknownKernelNameNamesTheCallAndCode()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            ClProgram program = fixture.Context.Programs.Get("__kernel void present(__global float* x) { x[0] = 1.0f; }");
            var error = Assert.Throws<OpenClException>(() => program.CreateKernel("absent"));
            Assert.StartsWith("clCreateKernel failed: CL_INVALID_KERNEL_NAME (-46)", error.Message);
        }

        [Fact]
        public void ReadingPastTheEndOfABufferIsRejected()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            using ClBuffer buffer = fixture.Context.CreateBuffer<float>(4);
            var destination = new float[5];
            Assert.Throws<System.ArgumentOutOfRangeException>(() => fixture.Queue.Read<float>(buffer, destination));
        }
    }
}
