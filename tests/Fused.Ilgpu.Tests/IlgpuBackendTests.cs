using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
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
    public sealed class IlgpuBackendTests
    {
        private readonly CpuAcceleratorFixture _fixture;
        private readonly ITestOutputHelper _output;

        public IlgpuBackendTests(CpuAcceleratorFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        public static IEnumerable<object[]> Rules() => CatalogRules.All.Select(r => new object[] { r.Name });

        [Theory]
        [MemberData(nameof(Rules))]
        public void Catalog_rule_on_the_CPU_accelerator_matches_the_CPU_kernels_bit_for_bit(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            // Odd lengths: one element, less than a reduction lane group, one block and a bit; a matrix for the matrix passes.
            // Shampoo takes sides up to 1024: its block and a bit is 7 rows of 149.
            bool shampoo = rule.Schedule.Matrices.Any(m => m.Op == MatrixOp.Precondition);
            var shapes = new[] { ShapeInfo.Vector(1), ShapeInfo.Vector(7), shampoo ? ShapeInfo.Matrix(7, 149) : ShapeInfo.Vector(1031), ShapeInfo.Matrix(37, 101) };
            MatchesCpu(rule, shapes, steps: 3);
        }

        [Fact]
        public void Every_op_matches_the_CPU_kernels_bit_for_bit_special_values_included()
        {
            // Gradients include ±0, ±∞, NaN, subnormals and values past Exp's range, where the polynomials take their edges.
            var special = new[] { 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-40f, -1e-40f, 1e-45f, 100f, -100f, 89f, -104f, 1f, -1f, 0.5f };
            MatchesCpu(EveryOp.Rule, new[] { ShapeInfo.Vector(special.Length), ShapeInfo.Vector(1031), ShapeInfo.Matrix(37, 101) }, steps: 3,
                gradient: (t, i, rnd) => t == 0 ? special[i] : (float)((rnd.NextDouble() - 0.5) * (i % 3 == 0 ? 200 : 2)));
        }

        [Fact]
        public void Adafactor_rows_and_columns_match_the_CPU_kernels_bit_for_bit()
        {
            // Several rows per ColSum group (130 rows: groups of 3); rows of two reduction blocks; rows narrower than a lane
            // group; one long row.
            var shapes = new[] { ShapeInfo.Matrix(130, 31), ShapeInfo.Matrix(3, 1031), ShapeInfo.Matrix(200, 3), ShapeInfo.Vector(1031) };
            MatchesCpu(Adafactor.Rule, shapes, steps: 3);
        }

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

        private void MatchesCpu(FusedRule rule, ShapeInfo[] shapes, int steps, Func<int, int, Random, float>? gradient = null)
        {
            gradient ??= (_, _, rnd) => (float)((rnd.NextDouble() - 0.5) * 0.1);
            var schedule = rule.Schedule;
            int T = shapes.Length, B = schedule.ProgramBufferCount;
            var rnd = new Random(rule.Name.Length * 31 + T);
            var cpu = shapes.Select(shape => Enumerable.Range(0, B).Select(b => new float[shape.LengthOf(schedule.Buffers[b].Shape)]).ToArray()).ToArray();
            var hypers = rule.DefaultHyperparameters();

            using var pool = new WorkerPool(1);
            var cpuRunners = shapes.Select(_ => new CpuRuleRunner(rule, pool)).ToArray();
            using var backend = new IlgpuBackend(rule, _fixture.Accelerator);
            var executor = new ScheduleExecutor(schedule, backend);
            backend.SetTensors(shapes);
            executor.SetShapes(shapes);
            for (int t = 0; t < T; t++)
            {
                for (int i = 0; i < cpu[t][0].Length; i++) cpu[t][0][i] = (float)(rnd.NextDouble() - 0.5);
                backend.Upload(t, "param", cpu[t][0]);
            }
            long compared = 0;
            try
            {
                for (int step = 1; step <= steps; step++)
                {
                    for (int t = 0; t < T; t++)
                    {
                        for (int i = 0; i < cpu[t][1].Length; i++) cpu[t][1][i] = gradient(t, i, rnd);
                        backend.Upload(t, "grad", cpu[t][1]);
                        cpuRunners[t].Step(hypers, step, shapes[t], cpu[t]);
                    }
                    executor.Step(hypers, step);
                    for (int t = 0; t < T; t++)
                        for (int b = 0; b < B; b++)
                        {
                            var decl = schedule.Buffers[b];
                            var expected = cpu[t][b];
                            var device = new float[expected.Length];
                            if (decl.Shape == StateShape.Element) backend.Download(t, decl.Name, device);
                            else if (decl.Shape == StateShape.Scalar) device[0] = executor.Scalars(t)[schedule.ScalarBuffers.AsImmutableArray().IndexOf(b)];
                            else executor.VectorState(t, b).CopyTo(device, 0);
                            for (int i = 0; i < device.Length; i++)
                            {
                                // Bit for bit, except that any NaN equals any NaN (as in SimdBitIdentityTests): IEEE 754 leaves the
                                // payload and sign of a propagated NaN open, and the CPU's scalar head and vector body may differ there.
                                bool same = float.IsNaN(expected[i]) ? float.IsNaN(device[i])
                                    : BitConverter.SingleToInt32Bits(device[i]) == BitConverter.SingleToInt32Bits(expected[i]);
                                if (!same)
                                    Assert.Fail($"{rule.Name}, {shapes[t].Rows}x{shapes[t].Cols}, step {step}, {decl.Name}[{i}]: ILGPU {device[i]:R}, CPU {expected[i]:R}");
                                compared++;
                            }
                        }
                }
            }
            finally
            {
                foreach (var r in cpuRunners) r.Dispose();
            }
            _output.WriteLine($"{rule.Name}: {compared} values over {steps} steps, every one bit for bit; host matrix passes {backend.HostMatrixSeconds * 1e3:F1} ms");
        }
    }
}
