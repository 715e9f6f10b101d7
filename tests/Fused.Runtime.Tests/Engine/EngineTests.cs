using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Schedules;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>Routing, configuration errors, fp32 parity with the single-tensor runner, clipping, skipping, accumulation.</summary>
    public class EngineTests
    {
        [Fact]
        public void Routing_lists_every_unclaimed_and_every_double_claimed_parameter()
        {
            var model = new EngineTestModel().Add("embed.weight", 10, 4).Add("layer.weight", 4, 4).Add("layer.bias", 4).Add("conv", 2, 2, 3);
            var ex = Assert.Throws<OptimizerConfigurationException>(() => model.Builder()
                .Route("hidden", p => p.Rank == 2, Lion.Rule)
                .Route("embeddings", p => p.Name.Contains("embed"), AdamW.Rule)
                .Build());
            Assert.Contains("claimed by no route: layer.bias [4]; conv [2, 2, 3]", ex.Message);
            Assert.Contains("claimed by more than one route: embed.weight [10, 4] (routes 'hidden', 'embeddings')", ex.Message);
            Assert.DoesNotContain("layer.weight", ex.Message);
        }

        [Fact]
        public void Unknown_hyperparameter_names_list_the_rules_hyperparameters()
        {
            var model = new EngineTestModel().Add("w", 8);
            var ex = Assert.Throws<OptimizerConfigurationException>(() => model.Builder().Route(p => true, AdamW.Rule, g => g.Set("learning_rate", 1e-3f)));
            Assert.Contains("AdamW has no hyperparameter 'learning_rate'", ex.Message);
            Assert.Contains("lr (default 0.001), beta1 (default 0.9), beta2 (default 0.999), eps (default 1E-08), weightDecay (default 0.01)", ex.Message);
            var ex2 = Assert.Throws<OptimizerConfigurationException>(() => model.Builder().Route(p => true, Lion.Rule, g => g.Schedule("momentum", Schedule.Constant(1))));
            Assert.Contains("Lion has no hyperparameter 'momentum'", ex2.Message);
            var ex3 = Assert.Throws<OptimizerConfigurationException>(() => model.Builder().Route(p => true, Lion.Rule, g => g.Hyperparameters(1e-4f, 0.9f)));
            Assert.Contains("Lion takes 4 hyperparameters", ex3.Message);
        }

        [Fact]
        public void Parameter_errors_are_clear()
        {
            var b = new OptimizerBuilder().AddParameter("w", new[] { 2, 3 }, new float[6], new float[6]);
            Assert.Contains("'w' is registered twice", Assert.Throws<OptimizerConfigurationException>(() => b.AddParameter("w", new[] { 6 }, new float[6], new float[6])).Message);
            Assert.Contains("gradient of 'g' holds 5 elements but the parameter's shape [2, 3] has 6",
                Assert.Throws<OptimizerConfigurationException>(() => b.AddParameter("g", new[] { 2, 3 }, new float[6], new float[5])).Message);
            Assert.Contains("parameter 'p' has shape [7] (7 elements) but its memory holds 6",
                Assert.Throws<OptimizerConfigurationException>(() => b.AddParameter("p", new[] { 7 }, new float[6], new float[7])).Message);
            Assert.Contains("rank 5", Assert.Throws<OptimizerConfigurationException>(() => b.AddParameter("r", new[] { 1, 1, 1, 1, 2 }, new float[2], new float[2])).Message);
        }

        [Fact]
        public void Nan_in_parameters_is_reported_by_name()
        {
            var model = new EngineTestModel().Add("a", 10).Add("b", 3, 3);
            using var opt = model.Builder().Route(p => true, Sgd.Rule).Threads(1).Build();
            Assert.Empty(opt.FindNonFiniteParameters());
            model.Tensors[1].Param[4] = float.NaN;
            model.Tensors[1].Param[7] = float.PositiveInfinity;
            var report = opt.FindNonFiniteParameters();
            Assert.Single(report);
            Assert.Contains("b: 2 non-finite value(s), first at element 4", report[0]);
            Assert.Contains("b: 2 non-finite", Assert.Throws<InvalidOperationException>(() => opt.ThrowIfNonFiniteParameters()).Message);
        }

        // ---- fp32 engine == CpuRuleRunner ----

        private static readonly (string Name, int[] Shape)[] ParityTensors =
        {
            ("w1", new[] { 300, 200 }), ("w2", new[] { 7, 13 }), ("lamb.a", new[] { 50, 900 }), ("lamb.b", new[] { 33 }),
            ("ball.w", new[] { 40, 40 }), ("b1", new[] { 1000 }), ("t3", new[] { 4, 5, 6 }),
        };

        private static FusedRule RuleFor(string name, int rank)
            => name.StartsWith("lamb", StringComparison.Ordinal) ? Lamb.Rule
             : name.StartsWith("ball", StringComparison.Ordinal) ? HyperBallAdamW.Rule
             : rank == 2 ? AdamW.Rule : Lion.Rule;

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        public void Fp32_engine_with_groups_and_schedules_matches_CpuRuleRunner_bit_for_bit(int threads)
        {
            const int steps = 4;
            var lrSchedule = Schedule.WarmupCosine(3, 10, 0.1);
            var lionLr = Schedule.StepDecay(2, 0.5).Times(1e-3);
            var model = new EngineTestModel();
            foreach (var (name, shape) in ParityTensors) model.Add(name, shape);
            var initial = model.Tensors.Select(t => (float[])t.Param.Clone()).ToArray();

            using var pool = new WorkerPool(threads, pinThreads: false);
            using var opt = model.Builder()
                .Route("adam", p => RuleFor(p.Name, p.Rank) == AdamW.Rule, AdamW.Rule, g => g.Set(("lr", 2e-3f), ("weightDecay", 0.1f)).ScheduleFactor("lr", lrSchedule))
                .Route("lamb", p => p.Name.StartsWith("lamb", StringComparison.Ordinal), Lamb.Rule, g => g.Set("lr", 5e-3f))
                .Route("ball", p => p.Name.StartsWith("ball", StringComparison.Ordinal), HyperBallAdamW.Rule)
                .Route("lion", p => RuleFor(p.Name, p.Rank) == Lion.Rule, Lion.Rule, g => g.Hyperparameters(3e-4f, 0.9f, 0.99f, 0.01f).Schedule("lr", lionLr))
                .Pool(pool).Build();

            // Reference: one CpuRuleRunner per tensor, hyperparameters scheduled by hand.
            var reference = new List<(FusedRule Rule, ShapeInfo Shape, float[][] Buffers)>();
            for (int t = 0; t < model.Tensors.Count; t++)
            {
                var (name, shape, _, _) = model.Tensors[t];
                var rule = RuleFor(name, shape.Length);
                int n = initial[t].Length;
                var buffers = rule.Program.Buffers.Select((b, i) => i == 0 ? (float[])initial[t].Clone() : new float[b.Shape == StateShape.Scalar ? 1 : n]).ToArray();
                reference.Add((rule, ShapeInfo.Matrix(n / shape[^1], shape[^1]), buffers));
            }
            using var refPool = new WorkerPool(1);
            var runners = new Dictionary<FusedRule, CpuRuleRunner>();
            for (int step = 1; step <= steps; step++)
            {
                model.SetGradients(step);
                var result = opt.Step();
                Assert.True(result.Applied);
                Assert.Equal(step, result.Step);
                for (int t = 0; t < reference.Count; t++)
                {
                    var (rule, shape, buffers) = reference[t];
                    float[] hypers = rule == AdamW.Rule ? new[] { (float)(2e-3f * lrSchedule.ValueAt(step)), 0.9f, 0.999f, 1e-8f, 0.1f }
                        : rule == Lamb.Rule ? new[] { 5e-3f, 0.9f, 0.999f, 1e-6f, 0.01f }
                        : rule == Lion.Rule ? new[] { (float)lionLr.ValueAt(step), 0.9f, 0.99f, 0.01f }
                        : rule.DefaultHyperparameters();
                    model.Tensors[t].Grad.CopyTo(buffers[1], 0);
                    if (!runners.TryGetValue(rule, out var runner)) runners[rule] = runner = new CpuRuleRunner(rule, refPool);
                    runner.Step(hypers, step, shape, buffers);
                }
            }
            for (int t = 0; t < reference.Count; t++)
            {
                var (rule, _, buffers) = reference[t];
                string name = model.Tensors[t].Name;
                AssertBits(buffers[0], model.Tensors[t].Param, $"{name} ({rule.Name}) parameter");
                var states = opt.StateNames(name);
                for (int b = 2; b < buffers.Length; b++)
                {
                    string state = rule.Program.Buffers[b].Name;
                    var actual = new float[buffers[b].Length];
                    opt.ReadState(name, state, actual);
                    AssertBits(buffers[b], actual, $"{name} ({rule.Name}) state {state}");
                }
            }
            Assert.Equal((float)(2e-3f * lrSchedule.ValueAt(4)), opt.HyperparameterAt("adam", "lr", 4));
            foreach (var r in runners.Values) r.Dispose();
        }

        internal static void AssertBits(float[] expected, float[] actual, string what)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                    Assert.Fail($"{what}[{i}] = {actual[i]:R}, expected {expected[i]:R}");
        }

        // ---- clipping ----

        [Fact]
        public void Global_norm_clipping_matches_a_float64_reference()
        {
            var model = new EngineTestModel().Add("a", 300, 300).Add("b", 1001).Add("c", 5, 7, 3);
            model.SetGradients(1, scale: 3f);
            var grads = model.Tensors.Select(t => (float[])t.Grad.Clone()).ToArray();
            var before = model.Tensors.Select(t => (float[])t.Param.Clone()).ToArray();
            double sum = 0;
            foreach (var g in grads) foreach (var x in g) sum += (double)x * x;
            double norm = Math.Sqrt(sum);
            const double maxNorm = 1.5;
            Assert.True(norm > 10 * maxNorm);

            using var opt = model.Builder().Route(p => true, Sgd.Rule, g => g.Set("lr", 0.1f)).ClipGlobalNorm(maxNorm).Threads(2).Build();
            var result = opt.Step();
            Assert.Equal(norm, result.GradientNorm, 1e-12 * norm);
            double scale = maxNorm / (norm + 1e-6);
            Assert.Equal(scale, result.ClipScale, 1e-7 * scale);
            for (int t = 0; t < grads.Length; t++)
                for (int i = 0; i < grads[t].Length; i++)
                {
                    double g = grads[t][i] * scale;
                    Assert.Equal(g, model.Tensors[t].Grad[i], 1e-6 * Math.Abs(g) + 1e-12); // clipped in place
                    double expected = before[t][i] - 0.1 * g;
                    Assert.Equal(expected, model.Tensors[t].Param[i], 1e-6);
                }
            double clippedNorm = Math.Sqrt(model.Tensors.Sum(t => t.Grad.Sum(x => (double)x * x)));
            Assert.Equal(maxNorm, clippedNorm, 1e-5);

            // Below the threshold nothing is scaled.
            model.SetGradients(2);
            foreach (var t in model.Tensors) for (int i = 0; i < t.Grad.Length; i++) t.Grad[i] *= 1e-3f;
            var small = model.Tensors.Select(t => (float[])t.Grad.Clone()).ToArray();
            Assert.Equal(1f, opt.Step().ClipScale);
            for (int t = 0; t < small.Length; t++) AssertBits(small[t], model.Tensors[t].Grad, "unclipped gradient");
        }

        // ---- skip on non-finite ----

        [Theory]
        [InlineData(float.NaN)]
        [InlineData(float.PositiveInfinity)]
        public void Non_finite_gradient_skips_the_step_and_leaves_everything_bit_identical(float poison)
        {
            var model = EngineTestModel.ResumeModel();
            foreach (var precision in new[] { StatePrecision.Float32, StatePrecision.BFloat16 })
            {
                using var opt = EngineTestModel.BuildResumeOptimizer(model, precision, threads: 2);
                for (int s = 1; s <= 3; s++) { model.SetGradients(s); Assert.True(opt.Step().Applied); }
                var before = EngineTestModel.Snapshot(model, opt);
                model.SetGradients(4);
                model.Tensors[2].Grad[17] = poison;
                var result = opt.Step();
                Assert.Equal(StepStatus.SkippedNonFiniteGradient, result.Status);
                Assert.False(result.Applied);
                Assert.False(double.IsFinite(result.GradientNorm));
                Assert.Equal(3, opt.StepCount);
                Assert.Equal(1, opt.SkippedSteps);
                var after = EngineTestModel.Snapshot(model, opt);
                // Snapshot ends with (step, skipped): compare everything else bit for bit.
                AssertBits(before.SkipLast(1).ToArray(), after.SkipLast(1).ToArray(), $"{precision} state after skipped step");
                model.SetGradients(4);
                Assert.Equal(4, opt.Step().Step);
            }
        }

        // ---- accumulation ----

        [Fact]
        public void Accumulation_steps_on_the_mean_of_the_micro_batches()
        {
            var accumulated = EngineTestModel.ResumeModel();
            var direct = EngineTestModel.ResumeModel();
            using var a = EngineTestModel.BuildResumeOptimizer(accumulated, StatePrecision.Float32, threads: 2);
            using var d = EngineTestModel.BuildResumeOptimizer(direct, StatePrecision.Float32, threads: 2);
            for (int step = 1; step <= 2; step++)
            {
                var sums = direct.Tensors.Select(t => new float[t.Grad.Length]).ToArray();
                var exact = direct.Tensors.Select(t => new double[t.Grad.Length]).ToArray();
                for (int micro = 0; micro < 3; micro++)
                {
                    accumulated.SetGradients(10 * step + micro);
                    a.AccumulateGradients();
                    for (int t = 0; t < sums.Length; t++)
                        for (int i = 0; i < sums[t].Length; i++) { sums[t][i] += accumulated.Tensors[t].Grad[i]; exact[t][i] += accumulated.Tensors[t].Grad[i]; }
                }
                Assert.Equal(3, a.AccumulatedMicroBatches);
                for (int t = 0; t < sums.Length; t++)
                    for (int i = 0; i < sums[t].Length; i++)
                    {
                        direct.Tensors[t].Grad[i] = sums[t][i] / 3f;
                        Assert.Equal(exact[t][i] / 3, direct.Tensors[t].Grad[i], 1e-6);
                    }
                a.Step();
                d.Step();
                Assert.Equal(0, a.AccumulatedMicroBatches);
            }
            for (int t = 0; t < direct.Tensors.Count; t++)
                AssertBits(direct.Tensors[t].Param, accumulated.Tensors[t].Param, $"accumulated {direct.Tensors[t].Name}");
            Assert.Equal(EngineTestModel.Snapshot(direct, d), EngineTestModel.Snapshot(accumulated, a));
        }

        // ---- memory report ----

        [Fact]
        public void Memory_table_reproduces_the_seed_figures()
        {
            var adam = MemoryReport.RowOf(StateLayout.Of(AdamW.Rule), StatePrecision.Float32);
            Assert.Equal(12, adam.TotalBytesPerParameter);
            Assert.Equal(840e9, adam.TotalBytes(70e9));
            Assert.Equal(8, adam.StateBytesPerParameter);
            var adamBf16 = MemoryReport.RowOf(StateLayout.Of(AdamW.Rule), StatePrecision.BFloat16);
            Assert.Equal(8, adamBf16.TotalBytesPerParameter);
            Assert.Equal(560e9, adamBf16.TotalBytes(70e9));
            var lion = MemoryReport.RowOf(StateLayout.Of(Lion.Rule), StatePrecision.Float32);
            var muon = MemoryReport.RowOf(StateLayout.Muon, StatePrecision.Float32);
            Assert.Equal(adam.StateBytesPerParameter / 2, lion.StateBytesPerParameter);
            Assert.Equal(adam.StateBytesPerParameter / 2, muon.StateBytesPerParameter);
            var int8 = MemoryReport.RowOf(StateLayout.Of(AdamW.Rule), StatePrecision.Int8Blockwise, includeGradients: true);
            Assert.Equal(2 * (1 + 4.0 / 256) + 4 + 4, int8.TotalBytesPerParameter);
            Assert.Equal(1, StateLayout.Of(HyperBallAdamW.Rule).ScalarStates);

            string table = MemoryReport.For(new[] { StateLayout.Of(AdamW.Rule), StateLayout.Of(Lion.Rule), StateLayout.Muon }).ToTable();
            Assert.Contains("| AdamW | Float32 | 2 | 8 | 4 | 0 | 12 | 84 GB | 840 GB | 4860 GB |", table);
            Assert.Contains("| AdamW | BFloat16 | 2 | 4 | 4 | 0 | 8 | 56 GB | 560 GB | 3240 GB |", table);
            Assert.Contains("| Muon | Float32 | 1 | 4 | 4 | 0 | 8 |", table);

            var model = new EngineTestModel().Add("w", 512, 3).Add("b", 300);
            using var opt = model.Builder().Route("w", p => p.Rank == 2, AdamW.Rule, g => g.State(StatePrecision.BFloat16))
                .Route("b", p => p.Rank == 1, HyperBallAdamW.Rule, g => g.State(StatePrecision.Int8Blockwise)).Threads(1).Build();
            var report = opt.MemoryReport(includeGradients: true);
            var w = report.Groups.Single(g => g.Group == "w");
            Assert.Equal(2 * 2 * 1536, w.StateBytes);
            Assert.Equal(4 * 1536, w.MasterWeightBytes);
            Assert.Equal(4 * 1536, w.GradientBytes);
            var b = report.Groups.Single(g => g.Group == "b");
            Assert.Equal(2 * (300 + 4 * 2) + 4, b.StateBytes); // 2 states × (codes + 2 absmax) + radius
            Assert.Contains("| total |", report.ToTable());
        }
    }

    [CollectionDefinition(nameof(EngineAllocationCollection), DisableParallelization = true)]
    public sealed class EngineAllocationCollection { }

    /// <summary>Runs alone: process-wide allocation counters must not see other tests.</summary>
    [Collection(nameof(EngineAllocationCollection))]
    public class EngineAllocationTests
    {
        [Theory]
        [InlineData(StatePrecision.Float32)]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Steady_state_steps_allocate_nothing(StatePrecision precision)
        {
            var model = new EngineTestModel().Add("big", 128, 300).Add("mid", 5000).Add("small", 3, 7).Add("lamb", 100, 200)
                .Add("factored", 150, 257).Add("factored.small", 9, 11).Add("adafactor", 40, 30);
            using var opt = model.Builder()
                .Route("adam", p => p.Name != "lamb" && !p.Name.Contains("factor", StringComparison.Ordinal), AdamW.Rule, g => g.ScheduleFactor("lr", Schedule.WarmupCosine(5, 100)).Schedule("weightDecay", Schedule.StepDecay(3, 0.5).Times(0.1)).State(precision))
                .Route("lamb", p => p.Name == "lamb", Lamb.Rule, g => g.State(precision))
                .Route("factored", p => p.Name.StartsWith("factored", StringComparison.Ordinal), FactoredMomentum.Rule, g => g.State(precision))
                .Route("adafactor", p => p.Name == "adafactor", Adafactor.Rule, g => g.State(precision))
                .ClipGlobalNorm(0.5).Threads(2).Build();
            model.SetGradients(1);
            void Steps(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    opt.Step();
                    opt.AccumulateGradients();
                    opt.AccumulateGradients();
                    opt.Step();
                }
            }
            Steps(30); // warm-up: JIT tiers, lazily allocated accumulation buffers
            // Other threads (the test runner) allocate now and then, in proportion to elapsed time; a step that
            // allocates does so in every window, so the minimum over short windows (one cycle each) must be zero.
            long bestThread = long.MaxValue, bestTotal = long.MaxValue;
            for (int attempt = 0; attempt < 20 && bestTotal != 0; attempt++)
            {
                long thread = GC.GetAllocatedBytesForCurrentThread();
                long total = GC.GetTotalAllocatedBytes(precise: true);
                Steps(1);
                bestTotal = Math.Min(bestTotal, GC.GetTotalAllocatedBytes(precise: true) - total);
                bestThread = Math.Min(bestThread, GC.GetAllocatedBytesForCurrentThread() - thread);
            }
            Assert.True(opt.StepCount >= 62);
            Assert.Equal(0, bestThread);
            Assert.Equal(0, bestTotal);
        }
    }
}
