using System;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using Xunit;

namespace Fused.Ilgpu.Tests
{
    /// <summary>One ILGPU context with its CPU accelerator (the emulator: correct, slow — small tensors only) for the tests.</summary>
    public sealed class CpuAcceleratorFixture : IDisposable
    {
        public CpuAcceleratorFixture()
        {
            Context = Context.Create(b => b.CPU());
            Accelerator = Context.CreateCPUAccelerator(0);
        }

        public Context Context { get; }
        public Accelerator Accelerator { get; }

        public void Dispose()
        {
            Accelerator.Dispose();
            Context.Dispose();
        }
    }

    [CollectionDefinition(Name)]
    public sealed class CpuAcceleratorCollection : ICollectionFixture<CpuAcceleratorFixture>
    {
        public const string Name = "ILGPU CPU accelerator";
    }
}
