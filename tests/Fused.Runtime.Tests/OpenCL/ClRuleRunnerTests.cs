using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// Every catalog rule on OpenCL against the CPU kernels, over several steps from the same inputs
    /// (each step starts from the CPU's state, so differences do not compound).
    /// </summary>
    [Collection(OpenClCollection.Name)]
    public class ClRuleRunnerTests
    {
        private readonly OpenClFixture _fixture;
        private readonly ITestOutputHelper _output;

        public ClRuleRunnerTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        public static IEnumerable<object[]> Rules() => CatalogRules.All.Select(r => new object[] { r.Name });

        /// <summary>Every rule with the scalar kernels and with the vector kernels of the device's width.</summary>
        public static IEnumerable<object[]> RulesAndKernels() =>
            CatalogRules.All.SelectMany(r => new[] { new object[] { r.Name, ClKernelShape.Scalar }, new object[] { r.Name, ClKernelShape.Vector } });

        /// <summary>Every rule with the vector kernels at the widths the device does not choose by itself.</summary>
        public static IEnumerable<object[]> RulesAndWidths() =>
            CatalogRules.All.SelectMany(r => new[] { new object[] { r.Name, 4 }, new object[] { r.Name, 16 } });

        // Sign decisions at near ties (|x| within rounding of 0) may differ between devices.
        private static readonly HashSet<string> SignRules = new() { "SignSGD", "Lion", "Tiger", "C-Lion", "Tiger (full)", "C-AdamW" };

        // 37x101 = 3737 elements leaves a tail for every vector width (3737 = 16·233 + 9); 1x5 is shorter than one
        // vector (only the scalar tail runs); 16x64 is whole vectors only.
        private static readonly ShapeInfo[] Shapes = { ShapeInfo.Matrix(37, 101), ShapeInfo.Matrix(1, 5), ShapeInfo.Matrix(16, 64) };

        // Rules with per-row / per-column values, in addition: 130 rows are 3 per ColSum group (44 groups, the last one
        // short) with rows of 1001 (a tail in every row at every width, not a whole block); a vector longer than 4096
        // columns (69 blocks in its one row); 3 rows of 5003 columns (more than 4096, 5 blocks per row); rows narrower
        // than any vector (only the scalar kernel runs); 200 rows of 2048 (whole blocks and vectors, 4 per group).
        private static readonly ShapeInfo[] RowShapes =
        {
            ShapeInfo.Matrix(130, 1001), ShapeInfo.Vector(70001), ShapeInfo.Matrix(3, 5003), ShapeInfo.Matrix(200, 3), ShapeInfo.Matrix(200, 2048),
        };

        [Theory]
        [MemberData(nameof(RulesAndKernels))]
        public void Rule_on_OpenCL_matches_the_CPU_kernels(string name, ClKernelShape kernels)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            var rule = CatalogRules.All.Single(r => r.Name == name);
            foreach (var shape in rule.Schedule.HasVectors ? Shapes.Concat(RowShapes) : Shapes) MatchesCpu(rule, shape, kernels, vectorWidth: 0);
        }

        [Theory]
        [MemberData(nameof(RulesAndWidths))]
        public void Vector_kernels_of_every_width_match_the_CPU_kernels(string name, int width)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            var rule = CatalogRules.All.Single(r => r.Name == name);
            MatchesCpu(rule, ShapeInfo.Matrix(37, 101), ClKernelShape.Vector, width);
            if (rule.Schedule.HasVectors) MatchesCpu(rule, ShapeInfo.Matrix(130, 1001), ClKernelShape.Vector, width);
        }

        private void MatchesCpu(FusedRule rule, ShapeInfo shape, ClKernelShape kernels, int vectorWidth)
        {
            string name = rule.Name;
            int n = (int)shape.Numel;
            var rnd = new Random(name.Length * 7919 + 5 + n);
            var program = rule.Program;
            var cpu = program.Buffers.Select(b => new float[b.Shape switch
            {
                StateShape.Scalar => 1,
                StateShape.Row => shape.Rows,
                StateShape.Column => shape.Cols,
                _ => n,
            }]).ToArray();
            for (int i = 0; i < n; i++) cpu[0][i] = (float)(rnd.NextDouble() - 0.5);
            var hypers = rule.DefaultHyperparameters();
            bool matrix = rule.Schedule.Matrices.Count > 0;
            double tolerance = matrix ? 1e-4 : 1e-6; // Newton-Schulz GEMMs sum in another order on the device

            using var pool = new WorkerPool(1);
            using var cpuRunner = new CpuRuleRunner(rule, pool);
            using var clRunner = new ClRuleRunner(rule, _fixture.Queue, kernels: kernels, vectorWidth: vectorWidth);
            Assert.Equal(kernels, clRunner.Kernels.Shape);
            if (vectorWidth != 0) Assert.Equal(vectorWidth, clRunner.Kernels.VectorWidth);
            string where = $"{name} ({clRunner.Kernels.Description}), {shape.Rows}x{shape.Cols}";
            using var tensor = clRunner.Allocate(shape);
            for (int step = 1; step <= 4; step++)
            {
                for (int i = 0; i < n; i++) cpu[1][i] = (float)((rnd.NextDouble() - 0.5) * 0.1);
                for (int b = 0; b < cpu.Length; b++) tensor.Upload(program.Buffers[b].Name, cpu[b]);
                var before = cpu.Select(a => (float[])a.Clone()).ToArray();
                cpuRunner.Step(hypers, step, shape, cpu);
                clRunner.Step(hypers, step, tensor);
                for (int b = 0; b < cpu.Length; b++)
                {
                    var device = new float[cpu[b].Length];
                    tensor.Download(program.Buffers[b].Name, device);
                    double rms = Math.Sqrt(cpu[b].Average(x => (double)x * x));
                    int bad = 0;
                    string first = "";
                    for (int i = 0; i < device.Length; i++)
                    {
                        double scale = Math.Abs(cpu[b][i]) + rms + Math.Abs(before[b][i]);
                        if (!(Math.Abs(device[i] - cpu[b][i]) <= tolerance * scale))
                        {
                            if (bad++ == 0) first = $"[{i}] device {device[i]:R}, cpu {cpu[b][i]:R}";
                        }
                    }
                    int allowed = SignRules.Contains(name) ? Math.Max(1, device.Length / 500) : 0;
                    Assert.True(bad <= allowed, $"{where} step {step} buffer {program.Buffers[b].Name}: {bad} element(s) off, first {first}");
                    // Row and column states are sums of the same float32 operands in the same order on both sides (Adafactor's
                    // g² + eps1 is exact arithmetic), folded by the same VectorValues: the same bits, not just close.
                    if (program.Buffers[b].Shape is StateShape.Row or StateShape.Column)
                        for (int i = 0; i < device.Length; i++)
                            Assert.True(BitConverter.SingleToInt32Bits(device[i]) == BitConverter.SingleToInt32Bits(cpu[b][i]),
                                $"{where} step {step} {program.Buffers[b].Name}[{i}]: device {device[i]:R}, cpu {cpu[b][i]:R}");
                }
            }
        }

        [Theory]
        [InlineData(ClKernelShape.Scalar)]
        [InlineData(ClKernelShape.Vector)]
        public void Column_sum_state_matches_the_CPU(ClKernelShape kernels)
        {
            // A column state that is a ColSum itself, with two passes after the one that sums (the CPU side is checked
            // against a float64 reference in RowWisePassTests).
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            foreach (var shape in RowShapes) MatchesCpu(Fused.Runtime.Tests.Cpu.ColumnSquares.Rule, shape, kernels, vectorWidth: 0);
        }

        [Fact]
        public void Second_runner_for_the_same_rule_reuses_the_built_program()
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            using var first = new ClRuleRunner(CautiousAdamW.Rule, _fixture.Queue);
            using var second = new ClRuleRunner(CautiousAdamW.Rule, _fixture.Queue);
            Assert.Equal(ProgramOrigin.Memory, second.ProgramOrigin);
        }

        [Fact]
        public void Wrong_upload_length_is_a_clear_error()
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            using var runner = new ClRuleRunner(AdamW.Rule, _fixture.Queue);
            using var tensor = runner.Allocate(ShapeInfo.Vector(10));
            var ex = Assert.Throws<ArgumentException>(() => tensor.Upload("m", new float[9]));
            Assert.Contains("'m' holds 10 elements, got 9", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => tensor.Upload("nope", new float[10]));
            Assert.Contains("has no buffer 'nope' (it has param, grad, m, v)", ex.Message);

            // Row and column states hold one float per row / column of the tensor.
            using var adafactor = new ClRuleRunner(Adafactor.Rule, _fixture.Queue);
            using var matrix = adafactor.Allocate(ShapeInfo.Matrix(3, 5));
            ex = Assert.Throws<ArgumentException>(() => matrix.Upload("rowMeans", new float[5]));
            Assert.Contains("'rowMeans' holds 3 rows, got 5", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => matrix.Download("colMeans", new float[3]));
            Assert.Contains("'colMeans' holds 5 columns, got 3", ex.Message);
            matrix.Upload("colMeans", new float[] { 1, 2, 3, 4, 5 });
            var back = new float[5];
            matrix.Download("colMeans", back);
            Assert.Equal(new float[] { 1, 2, 3, 4, 5 }, back);
        }
    }
}
