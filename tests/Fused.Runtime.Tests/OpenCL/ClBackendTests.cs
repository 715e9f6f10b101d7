using System;
using System.Linq;
using Fused.Catalog;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// The OpenCL backend under the schedule executor against the CPU runner, with each side's states left to evolve on
    /// its own over several steps (ClRuleRunnerTests restarts every step from the CPU's state): Shampoo, whose
    /// Precondition pass runs on the host, Adafactor's per-row and per-column values, and a group of tensors of
    /// different shapes in one backend.
    /// </summary>
    [Collection(OpenClCollection.Name)]
    public sealed class ClBackendTests
    {
        private readonly OpenClFixture _fixture;
        private readonly ITestOutputHelper _output;

        public ClBackendTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        // Tolerance, relative to |cpu| + the buffer's RMS, per op of the two rules:
        //  - element ops (+ − × ÷ √, Where, Min/Max): the programs are built with FP_CONTRACT OFF and correctly rounded
        //    division and square root, so a conforming device rounds each op as the CPU does — the same bits; 1e-6 (about
        //    8 float32 ulps) leaves room for a device that rounds an op differently, compounded over the steps;
        //  - uniforms (bias corrections, β₂ = 1 − t^decay, the graft ratio, Mean/Rms/Norm once reduced): float64 on the
        //    host, from the same executor code on both sides;
        //  - reductions (Norm, Rms, Mean, RowMean, ColMean): the canonical block orders on the device, float64 partials
        //    folded by the executor — the same bits on equal operands;
        //  - Precondition (Shampoo): the same host code (MatrixPasses) on both sides, and its input is the gradient itself,
        //    which both sides get bit for bit, so its statistics and output never differ.
        // On PoCL every buffer comes out bit for bit equal; the test logs the largest difference seen.
        private const double Tolerance = 1e-6;

        [Theory]
        [InlineData(ClKernelShape.Scalar)]
        [InlineData(ClKernelShape.Vector)]
        public void Shampoo_runs_on_OpenCL_and_matches_the_CPU(ClKernelShape kernels)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            var shampoo = new ShampooOptions { RootEvery = 3 }; // roots recomputed at steps 1 and 4, reused in between
            foreach (var shape in new[] { ShapeInfo.Matrix(37, 101), ShapeInfo.Matrix(64, 16), ShapeInfo.Matrix(1, 5) })
                MatchesCpu(Shampoo.Rule, new[] { shape }, kernels, steps: 6, shampoo);
        }

        [Theory]
        [InlineData(ClKernelShape.Scalar)]
        [InlineData(ClKernelShape.Vector)]
        public void Adafactor_rows_and_columns_match_the_CPU(ClKernelShape kernels)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            // Several rows per ColSum group with a tail in every row; rows longer than 4096; rows narrower than a vector; one long row.
            foreach (var shape in new[] { ShapeInfo.Matrix(130, 1001), ShapeInfo.Matrix(3, 5003), ShapeInfo.Matrix(200, 3), ShapeInfo.Vector(70001) })
                MatchesCpu(Adafactor.Rule, new[] { shape }, kernels, steps: 5);
        }

        [Theory]
        [InlineData("Adafactor")]
        [InlineData("Shampoo")]
        [InlineData("AdamW")]
        public void A_group_of_tensors_in_one_backend_matches_the_CPU_tensor_by_tensor(string name)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            // The shared scratch is sized for the largest tensor and reused by the smaller ones after it.
            var shapes = new[] { ShapeInfo.Matrix(37, 101), ShapeInfo.Matrix(130, 301), ShapeInfo.Matrix(1, 5), ShapeInfo.Matrix(16, 64) };
            MatchesCpu(CatalogRules.All.Single(r => r.Name == name), shapes, ClKernelShape.Vector, steps: 4);
        }

        [Theory]
        [InlineData("AdamW")]
        [InlineData("Adafactor")]
        [InlineData("Shampoo")]
        [InlineData("Muon")]
        public void Steady_state_steps_allocate_nothing_on_the_host(string name)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            var rule = CatalogRules.All.Single(r => r.Name == name);
            using var runner = new ClRuleRunner(rule, _fixture.Queue);
            using var tensor = runner.Allocate(ShapeInfo.Matrix(33, 70));
            tensor.Upload("grad", Enumerable.Range(0, 33 * 70).Select(i => (i % 7 - 3) * 0.01f).ToArray());
            var hypers = rule.DefaultHyperparameters();
            int t = 1;
            for (; t <= 20; t++) runner.Step(hypers, t, tensor); // warm-up: scratch, Shampoo statistics, JIT tiers
            // As in the CPU runner's test: tiered compilation may allocate a few bytes once, so the least over windows must be zero.
            long least = long.MaxValue;
            for (int window = 0; window < 10 && least != 0; window++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int k = 0; k < 5; k++, t++) runner.Step(hypers, t, tensor);
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.Equal(0, least);
        }

        /// <summary>
        /// Steps the rule from the same parameters and gradients on the CPU (one runner per tensor) and on one
        /// <see cref="ClBackend"/> holding every tensor under one executor; compares every buffer after every step.
        /// </summary>
        private void MatchesCpu(FusedRule rule, ShapeInfo[] shapes, ClKernelShape kernels, int steps, ShampooOptions? shampoo = null)
        {
            var schedule = rule.Schedule;
            int T = shapes.Length, B = schedule.ProgramBufferCount;
            var rnd = new Random(rule.Name.Length * 31 + T);
            var cpu = shapes.Select(shape => Enumerable.Range(0, B).Select(b => new float[shape.LengthOf(schedule.Buffers[b].Shape)]).ToArray()).ToArray();
            var hypers = rule.DefaultHyperparameters();

            using var pool = new WorkerPool(1);
            var cpuRunners = shapes.Select(_ => new CpuRuleRunner(rule, pool, shampoo: shampoo)).ToArray();
            using var program = new ClRuleProgram(rule, _fixture.Queue, kernels);
            using var backend = new ClBackend(program, shampoo: shampoo);
            var executor = new ScheduleExecutor(schedule, backend);
            backend.SetTensors(shapes);
            executor.SetShapes(shapes);
            for (int t = 0; t < T; t++)
            {
                for (int i = 0; i < cpu[t][0].Length; i++) cpu[t][0][i] = (float)(rnd.NextDouble() - 0.5);
                backend.Upload(t, "param", cpu[t][0]);
            }
            double worst = 0;
            string where = "none";
            try
            {
                for (int step = 1; step <= steps; step++)
                {
                    for (int t = 0; t < T; t++)
                    {
                        for (int i = 0; i < cpu[t][1].Length; i++) cpu[t][1][i] = (float)((rnd.NextDouble() - 0.5) * 0.1);
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
                            double rms = Math.Sqrt(expected.Average(x => (double)x * x));
                            for (int i = 0; i < device.Length; i++)
                            {
                                double scale = Math.Abs(expected[i]) + rms;
                                double difference = Math.Abs(device[i] - expected[i]);
                                string at = $"{rule.Name} ({program.Kernels.Description}), {shapes[t].Rows}x{shapes[t].Cols}, step {step}, {decl.Name}[{i}]: device {device[i]:R}, cpu {expected[i]:R}";
                                Assert.True(difference <= Tolerance * scale, at);
                                if (difference > worst * scale) { worst = difference / scale; where = at; }
                            }
                        }
                }
            }
            finally
            {
                foreach (var r in cpuRunners) r.Dispose();
            }
            _output.WriteLine($"{rule.Name}, {string.Join(", ", shapes.Select(s => $"{s.Rows}x{s.Cols}"))}: largest relative difference {worst:E2} ({where})");
            if (schedule.Matrices.Any(m => m.Op == MatrixOp.Precondition))
            {
                Assert.True(backend.HostMatrixBytes == 2L * 4 * steps * shapes.Sum(s => s.Numel), "the temporary goes down and back up once per step");
                _output.WriteLine($"host matrix passes: {backend.HostMatrixSeconds * 1e3:F1} ms, {backend.HostMatrixBytes} bytes moved");
            }
        }
    }
}
