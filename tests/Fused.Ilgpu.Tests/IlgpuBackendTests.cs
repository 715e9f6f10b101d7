using System;
using Fused.Catalog;
using System.Linq;
using Fused.Execution;
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

        [Theory]
        [InlineData("AdamW")]
        [InlineData("LAMB")]
        [InlineData("Adafactor")]
        [InlineData("Muon")]
        public void A_step_launches_one_kernel_per_pass_and_reduction_kernel_and_waits_once_per_pass_that_reads_back(string name)
        {
            // Per tensor and pass: the pass, two kernels per reduction (lanes, fold), one per ColSum; one wait per pass with
            // anything to read back or staging to reuse (not one per transfer), two per host matrix pass, one at the end.
            var rule = CatalogRules.All.Single(r => r.Name == name);
            var schedule = rule.Schedule;
            var shapes = new[] { ShapeInfo.Matrix(37, 101), ShapeInfo.Vector(1031), ShapeInfo.Matrix(3, 5) };
            using var backend = new IlgpuBackend(rule, _fixture.Accelerator);
            var executor = new ScheduleExecutor(schedule, backend);
            backend.SetTensors(shapes);
            executor.SetShapes(shapes);
            long expectedLaunches = 0, expectedWaits = 1;
            foreach (var shape in shapes)
            {
                foreach (var pass in schedule.Passes)
                {
                    expectedLaunches += 1 + 2 * pass.Reductions.Count + pass.ColumnSums.Count;
                    if (pass.RowWise || pass.Reductions.Count > 0 || pass.ColumnSums.Count > 0) expectedWaits++;
                }
                expectedWaits += 2 * schedule.Matrices.Count; // the temporary down and back up
            }
            var hypers = rule.DefaultHyperparameters();
            for (int step = 1; step <= 2; step++)
            {
                long launches = backend.Launches, waits = backend.Synchronizations;
                executor.Step(hypers, step);
                Assert.Equal(expectedLaunches, backend.Launches - launches);
                Assert.Equal(expectedWaits, backend.Synchronizations - waits);
                Output.WriteLine($"{name}, step {step}: {backend.Launches - launches} launches, {backend.Synchronizations - waits} waits for {shapes.Length} tensors");
            }
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
