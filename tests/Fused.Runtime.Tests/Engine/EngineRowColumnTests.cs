using System;
using System.IO;
using System.Linq;
using Fused.Catalog;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>
    /// Rules with per-row and per-column state (Adafactor) in the engine: the same bits as the single-tensor runner
    /// (itself checked against a float64 Adafactor reference in the catalog tests) at every thread count, row and
    /// column states in checkpoints and memory reports, and low-precision element states next to them.
    /// </summary>
    public class EngineRowColumnTests : IDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "fused-rowcol-" + Guid.NewGuid().ToString("N"));

        public EngineRowColumnTests() => Directory.CreateDirectory(_directory);

        public void Dispose()
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }

        // 300×257 is above the parallel threshold (the runner splits it over the pool); the rest run on one thread.
        private static EngineTestModel Model() => new EngineTestModel()
            .Add("w", 300, 257).Add("v", 101).Add("t3", 3, 5, 7).Add("small", 7, 13).Add("other", 64);

        private static FusedOptimizer Build(EngineTestModel model, FusedRule rule, StatePrecision precision, int threads, WorkerPool? pool = null)
        {
            var b = model.Builder()
                .Route("factored", p => p.Name != "other", rule, g => (rule == Adafactor.Rule ? g : g.Set("lr", 3e-3f)).State(precision))
                .Route("rest", p => p.Name == "other", AdamW.Rule)
                .Seed(77);
            return pool != null ? b.Pool(pool).Build() : b.Threads(threads).Build();
        }

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(4)]
        public void Adafactor_in_the_engine_matches_the_single_tensor_runner_bit_for_bit(int threads)
        {
            const int steps = 5;
            var model = Model();
            var initial = model.Tensors.Select(t => (float[])t.Param.Clone()).ToArray();
            using var pool = new WorkerPool(threads, pinThreads: false);
            using var opt = Build(model, Adafactor.Rule, StatePrecision.Float32, threads, pool);

            using var refPool = new WorkerPool(1, pinThreads: false);
            using var runner = new CpuRuleRunner(Adafactor.Rule, refPool);
            var hypers = Adafactor.Rule.DefaultHyperparameters();
            var references = model.Tensors.Take(4).Select((t, i) =>
            {
                var shape = ShapeInfo.Matrix(t.Param.Length / t.Shape[^1], t.Shape[^1]);
                var buffers = Adafactor.Rule.Program.Buffers.Select((b, k) => k == 0 ? (float[])initial[i].Clone()
                    : new float[b.Shape switch { StateShape.Row => shape.Rows, StateShape.Column => shape.Cols, StateShape.Scalar => 1, _ => shape.Numel }]).ToArray();
                return (Shape: shape, Buffers: buffers);
            }).ToArray();

            for (int step = 1; step <= steps; step++)
            {
                model.SetGradients(step);
                Assert.True(opt.Step().Applied);
                for (int t = 0; t < references.Length; t++)
                {
                    model.Tensors[t].Grad.CopyTo(references[t].Buffers[1], 0);
                    runner.Step(hypers, step, references[t].Shape, references[t].Buffers);
                }
            }
            for (int t = 0; t < references.Length; t++)
            {
                string name = model.Tensors[t].Name;
                EngineTests.AssertBits(references[t].Buffers[0], model.Tensors[t].Param, $"{name} parameter");
                Assert.Equal(new[] { "rowMeans", "colMeans" }, opt.StateNames(name));
                for (int b = 2; b < references[t].Buffers.Length; b++)
                {
                    var expected = references[t].Buffers[b];
                    var actual = new float[expected.Length];
                    opt.ReadState(name, Adafactor.Rule.Program.Buffers[b].Name, actual);
                    EngineTests.AssertBits(expected, actual, $"{name} {Adafactor.Rule.Program.Buffers[b].Name}");
                }
                Assert.NotEqual(initial[t], model.Tensors[t].Param); // it moved
            }
        }

        [Fact]
        public void Accumulated_micro_batches_reach_row_and_column_rules()
        {
            // The row/column path reads gradients through its own pointer table: it must follow the switch to the
            // accumulation buffers like the fused path does.
            var accumulated = Model();
            var direct = Model();
            using var a = Build(accumulated, Adafactor.Rule, StatePrecision.Float32, threads: 2);
            using var d = Build(direct, Adafactor.Rule, StatePrecision.Float32, threads: 2);
            for (int step = 1; step <= 2; step++)
            {
                var sums = direct.Tensors.Select(t => new float[t.Grad.Length]).ToArray();
                for (int micro = 0; micro < 2; micro++)
                {
                    accumulated.SetGradients(10 * step + micro);
                    a.AccumulateGradients();
                    for (int t = 0; t < sums.Length; t++)
                        for (int i = 0; i < sums[t].Length; i++) sums[t][i] += accumulated.Tensors[t].Grad[i];
                }
                for (int t = 0; t < sums.Length; t++)
                    for (int i = 0; i < sums[t].Length; i++) direct.Tensors[t].Grad[i] = sums[t][i] / 2f;
                Array.ForEach(accumulated.Tensors.ToArray(), t => Array.Fill(t.Grad, float.NaN)); // must not be read
                Assert.True(a.Step().Applied);
                Assert.True(d.Step().Applied);
            }
            EngineTests.AssertBits(EngineTestModel.Snapshot(direct, d), EngineTestModel.Snapshot(accumulated, a), "accumulated vs direct");
        }

        [Fact]
        public void Memory_report_counts_row_and_column_state_as_allocated()
        {
            var model = Model();
            using var opt = Build(model, Adafactor.Rule, StatePrecision.Float32, threads: 1);
            var group = opt.MemoryReport().Groups.Single(g => g.Group == "factored");
            // Rows + Cols floats per tensor: w 300+257, v 1+101, t3 15+7, small 7+13.
            Assert.Equal(4L * (300 + 257 + 1 + 101 + 15 + 7 + 7 + 13), group.StateBytes);
            // ColSum scratch of the wave (all four tensors): a float operand and a double accumulator per (row group, column).
            var shapes = new[] { ShapeInfo.Matrix(300, 257), ShapeInfo.Matrix(1, 101), ShapeInfo.Matrix(15, 7), ShapeInfo.Matrix(7, 13) };
            Assert.Equal(shapes.Sum(s => (4L + 8L) * Fused.Execution.RowWiseUnits.GroupCount(s) * s.Cols), group.ScratchBytes);
        }

        [Theory]
        [InlineData(StatePrecision.Float32)]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Row_and_column_states_resume_bit_exactly_from_a_checkpoint(StatePrecision precision)
        {
            var rule = precision == StatePrecision.Float32 ? Adafactor.Rule : FactoredMomentum.Rule;
            float[] Run(int from, int to, FusedOptimizer opt, EngineTestModel model)
            {
                for (int s = from; s <= to; s++) { model.SetGradients(s); opt.Step(); }
                return EngineTestModel.Snapshot(model, opt);
            }
            var straightModel = Model();
            using var straight = Build(straightModel, rule, precision, threads: 2);
            var expected = Run(1, 6, straight, straightModel);

            var firstModel = Model();
            string path = Path.Combine(_directory, $"rowcol-{precision}.safetensors");
            using (var first = Build(firstModel, rule, precision, threads: 2))
            {
                Run(1, 3, first, firstModel);
                first.Save(path);
            }
            var file = Fused.Runtime.Checkpoints.SafeTensorsFile.Load(path);
            Assert.Equal(new long[] { 300 }, file["w.rowMeans"].Shape.ToArray());
            Assert.Equal(new long[] { 257 }, file["w.colMeans"].Shape.ToArray());
            Assert.Equal(new long[] { 1 }, file["v.rowMeans"].Shape.ToArray());

            var resumedModel = Model();
            foreach (var t in resumedModel.Tensors) Array.Fill(t.Param, 5f);
            using var resumed = Build(resumedModel, rule, precision, threads: 1);
            resumed.Load(path);
            EngineTests.AssertBits(expected, Run(4, 6, resumed, resumedModel), $"{precision} resumed");
        }

        [Theory]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Low_precision_element_state_next_to_row_and_column_state(StatePrecision precision)
        {
            // Against the same composition written out: widen the stored momentum, one float32 runner step,
            // narrow it back with the engine's rounding key (bf16) or block quantisation (8-bit).
            const int steps = 4;
            const ulong seed = 77;
            var model = Model();
            var initial = model.Tensors.Select(t => (float[])t.Param.Clone()).ToArray();
            using var opt = Build(model, FactoredMomentum.Rule, precision, threads: 2);
            var rule = FactoredMomentum.Rule;
            var hypers = new[] { 3e-3f, 0.9f, 0.99f };
            using var refPool = new WorkerPool(1, pinThreads: false);
            using var runner = new CpuRuleRunner(rule, refPool);
            int mBuffer = rule.Program.Buffers.ToList().FindIndex(b => b.Name == "m");
            var map = DynamicQuantizationMap.Signed; // the momentum can be negative
            for (int t = 0; t < 4; t++)
            {
                var (name, shape, _, _) = model.Tensors[t];
                int n = initial[t].Length;
                var info = ShapeInfo.Matrix(n / shape[^1], shape[^1]);
                var buffers = rule.Program.Buffers.Select((b, k) => k == 0 ? (float[])initial[t].Clone()
                    : new float[b.Shape switch { StateShape.Row => info.Rows, StateShape.Column => info.Cols, _ => n }]).ToArray();
                var bf16 = new ushort[n];
                var codes = new byte[n];
                codes.AsSpan().Fill(map.ZeroCode);
                var scales = new float[BlockwiseInt8.BlockCount(n, FusedOptimizer.Int8BlockSize)];
                int parameterIndex = t; // registration order
                for (int step = 1; step <= steps; step++)
                {
                    model.SetGradients(step);
                    model.Tensors[t].Grad.CopyTo(buffers[1], 0);
                    if (precision == StatePrecision.BFloat16) BFloat16.Widen(bf16, buffers[mBuffer]);
                    else BlockwiseInt8.Dequantize(codes, scales, buffers[mBuffer], map, FusedOptimizer.Int8BlockSize);
                    runner.Step(hypers, step, info, buffers);
                    if (precision == StatePrecision.BFloat16)
                        BFloat16.NarrowStochastic(buffers[mBuffer], bf16, new CounterRngKey(seed, step, ParameterGroup.RandomStream(parameterIndex, mBuffer)), 0);
                    else BlockwiseInt8.Quantize(buffers[mBuffer], codes, scales, map, FusedOptimizer.Int8BlockSize);
                }
                // The engine under test, stepped to the same point once all references are done.
                if (t == 0)
                    for (int step = 1; step <= steps; step++) { model.SetGradients(step); opt.Step(); }
                EngineTests.AssertBits(buffers[0], model.Tensors[t].Param, $"{name} parameter ({precision})");
                var widened = new float[n];
                if (precision == StatePrecision.BFloat16) BFloat16.Widen(bf16, widened);
                else BlockwiseInt8.Dequantize(codes, scales, widened, map, FusedOptimizer.Int8BlockSize);
                var actual = new float[n];
                opt.ReadState(name, "m", actual);
                EngineTests.AssertBits(widened, actual, $"{name} m ({precision})");
            }
        }
    }
}
