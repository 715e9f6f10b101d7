using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Ilgpu.Tests.Device
{
    /// <summary>One OpenCL context and queue (PoCL in CI) with a private program cache, for the PoCL tests.</summary>
    public sealed class OpenClFixture : IDisposable
    {
        private readonly string _cache = Path.Combine(Path.GetTempPath(), "fused-ilgpu-opencl-" + Guid.NewGuid().ToString("N"));

        public OpenClFixture()
        {
            Context = ClContext.Create(OpenClDevice.Select(), _cache);
            Queue = Context.CreateQueue();
        }

        public ClContext Context { get; }
        public ClQueue Queue { get; }

        public void Dispose()
        {
            Queue.Dispose();
            Context.Dispose();
            try { Directory.Delete(_cache, recursive: true); } catch (IOException) { }
        }
    }

    [CollectionDefinition(Name)]
    public sealed class OpenClCollection : ICollectionFixture<OpenClFixture>
    {
        public const string Name = "ILGPU's OpenCL C on OpenCL";
    }

    /// <summary>
    /// ILGPU's OpenCL C of every catalog rule (its generated kernels and <see cref="BlockReduce"/>, contraction off)
    /// built by PoCL through Fused's OpenCL layer and run under the executor (<see cref="IlgpuOnOpenClBackend"/>) against
    /// the CPU kernels, bit for bit, at odd lengths over several steps. ILGPU's own OpenCL accelerator refuses PoCL, so
    /// this is what runs the device code in CI; it needs an OpenCL device (CI installs PoCL) and fails without one.
    /// </summary>
    [Collection(OpenClCollection.Name)]
    public sealed class IlgpuOnPoclTests : DeviceBitIdentity
    {
        private readonly OpenClFixture _fixture;

        public IlgpuOnPoclTests(OpenClFixture fixture, ITestOutputHelper output) : base(output) => _fixture = fixture;

        protected override IDeviceBackend Create(FusedRule rule) => new IlgpuOnOpenClBackend(rule, _fixture.Queue);

        protected override string Describe(IDeviceBackend backend) => $" on {_fixture.Context.Device.Name}; {((IlgpuOnOpenClBackend)backend).Launches} launches";

        [Fact]
        public void The_program_built_is_ILGPUs_with_contraction_off_and_only_its_pointer_types_changed()
        {
            using var backend = new IlgpuOnOpenClBackend(AdamW.Rule, _fixture.Queue);
            string built = backend.PassSource(0);
            string ilgpu = DevicelessCompiler.OpenClC(IlgpuKernels.Of(AdamW.Rule).Pass(0)).Compiled.Source;
            Assert.StartsWith(NoContraction.OpenClPragma + "\n", built, StringComparison.Ordinal);
            Assert.Contains("typedef __generic float*", ilgpu, StringComparison.Ordinal);
            Assert.DoesNotContain("__generic", built, StringComparison.Ordinal);
            // Line for line ILGPU's (numbering aside: it shifts per compile), the pragma first and the typedefs global.
            var expected = DevicelessCompiler.Normalize(NoContraction.OpenClPragma + "\n" + ilgpu.Replace("typedef __generic ", "typedef __global ", StringComparison.Ordinal));
            Assert.Equal(expected, DevicelessCompiler.Normalize(built));
        }
    }
}
