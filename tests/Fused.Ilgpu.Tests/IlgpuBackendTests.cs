using System;
using Fused.Catalog;
using Fused.Runtime.Cpu;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Ilgpu.Tests
{
    /// <summary>
    /// Every catalog rule, on ILGPU's CPU accelerator under the schedule executor, against the
    /// CPU kernels (<see cref="CpuRuleRunner"/>), bit for bit: every element buffer, scalar state and row/column state after
    /// every step. The kernels are the generator's ILGPU kernels of the catalog's own rule sources (compiled into this
    /// project, which references ILGPU). Tensors of odd lengths share one backend, so the scratch sized for the largest
    /// is reused by the smaller ones.
    /// </summary>
    [Collection(CpuAcceleratorCollection.Name)]
    public sealed class IlgpuBackendTests : DeviceBitIdentity
    {
        private readonly CpuAcceleratorFixture _fixture;

        public IlgpuBackendTests(CpuAcceleratorFixture fixture, ITestOutputHelper output) : base(output) => _fixture = fixture;

        protected override IDeviceBackend Create(FusedRule rule) => new IlgpuBackend(rule, _fixture.Accelerator);

        protected override string Describe(IDeviceBackend backend) => $"; host matrix passes {backend.HostMatrixSeconds * 1e3:F1} ms";

        [Fact]
        public void An_internal_rule_class_runs_too()
        {
            MatchesCpu(InternalMomentum.Rule, new[] { ShapeInfo.Vector(7), ShapeInfo.Vector(1031) }, steps: 2);
        }

        [Fact]
        public void A_rule_built_at_run_time_is_refused()
        {
            var rule = new InterpretedRule(Sgd.Rule.Program);
            var e = Assert.Throws<NotSupportedException>(() => IlgpuKernels.Of(rule));
            Assert.Contains("run time", e.Message);
        }
    }
}
