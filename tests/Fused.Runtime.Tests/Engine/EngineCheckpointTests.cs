using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using Fused.Catalog;
using Fused.Runtime.Checkpoints;
using Fused.Runtime.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>Save/load, bit-exact resume (fresh object and fresh process), and rejection of bad files.</summary>
    public class EngineCheckpointTests : IDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "fused-engine-" + Guid.NewGuid().ToString("N"));

        public EngineCheckpointTests() => Directory.CreateDirectory(_directory);

        public void Dispose()
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }

        private const int StepsBefore = 3, StepsAfter = 3;

        /// <summary>N + M uninterrupted steps of the resume model.</summary>
        internal static float[] Uninterrupted(StatePrecision precision, int threads)
        {
            var model = EngineTestModel.ResumeModel();
            using var opt = EngineTestModel.BuildResumeOptimizer(model, precision, threads);
            for (int s = 1; s <= StepsBefore + StepsAfter; s++) { model.SetGradients(s); opt.Step(); }
            return EngineTestModel.Snapshot(model, opt);
        }

        private string SaveAfterFirstSteps(StatePrecision precision, string name)
        {
            var model = EngineTestModel.ResumeModel();
            using var opt = EngineTestModel.BuildResumeOptimizer(model, precision, threads: 2);
            for (int s = 1; s <= StepsBefore; s++) { model.SetGradients(s); opt.Step(); }
            string path = Path.Combine(_directory, name);
            opt.Save(path);
            return path;
        }

        /// <summary>Builds the optimizer from scratch (parameters scrambled), loads, and runs the remaining steps.</summary>
        internal static float[] Resume(string path, StatePrecision precision, int threads)
        {
            var model = EngineTestModel.ResumeModel();
            foreach (var t in model.Tensors) Array.Fill(t.Param, 123f); // the checkpoint must restore them
            using var opt = EngineTestModel.BuildResumeOptimizer(model, precision, threads);
            opt.Load(path);
            if (opt.StepCount != StepsBefore) throw new InvalidOperationException($"loaded step {opt.StepCount}");
            for (int s = StepsBefore + 1; s <= StepsBefore + StepsAfter; s++) { model.SetGradients(s); opt.Step(); }
            return EngineTestModel.Snapshot(model, opt);
        }

        [Theory]
        [InlineData(StatePrecision.Float32)]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Resume_into_a_fresh_optimizer_is_bit_exact(StatePrecision precision)
        {
            string path = SaveAfterFirstSteps(precision, $"resume-{precision}.safetensors");
            var expected = Uninterrupted(precision, threads: 2);
            EngineTests.AssertBits(expected, Resume(path, precision, threads: 2), $"{precision} resumed");
            EngineTests.AssertBits(expected, Resume(path, precision, threads: 1), $"{precision} resumed at 1 thread");
        }

        [Fact]
        public void Checkpoint_is_plain_safetensors_with_named_typed_tensors_and_metadata()
        {
            string path = SaveAfterFirstSteps(StatePrecision.BFloat16, "layout.safetensors");
            var file = SafeTensorsFile.Load(path);
            Assert.Equal(SafeTensorsDType.F32, file["layer0.weight"].DType);
            Assert.Equal(new long[] { 96, 64 }, file["layer0.weight"].Shape);
            Assert.Equal(SafeTensorsDType.BF16, file["layer0.weight.m"].DType);
            Assert.Equal(SafeTensorsDType.BF16, file["layer0.weight.v"].DType);
            Assert.Equal(SafeTensorsDType.BF16, file["layer0.bias.momentum"].DType);
            Assert.Equal(new long[] { 3, 4, 5 }, file["norm.scale.m"].Shape);
            Assert.Equal("3", file.Metadata["fused.optimizer.step"]);
            Assert.Equal("1", file.Metadata["fused.optimizer.schema_version"]);
            Assert.Equal("1234", file.Metadata["fused.optimizer.seed"]);
            Assert.Contains("\"rule\":\"AdamW\"", file.Metadata["fused.optimizer.groups"]);
            Assert.Contains("\"lr\":0.003", file.Metadata["fused.optimizer.groups"]);
            Assert.Contains("factor:WarmupCosineSchedule", file.Metadata["fused.optimizer.groups"]);
            Assert.Contains("\"shape\":[96,64]", file.Metadata["fused.optimizer.parameters"]);

            var model = new EngineTestModel().Add("w", 300);
            using var opt = model.Builder().Route(p => true, HyperBallAdamW.Rule, g => g.State(StatePrecision.Int8Blockwise)).Threads(1).Build();
            model.SetGradients(1);
            opt.Step();
            string int8Path = Path.Combine(_directory, "int8.safetensors");
            opt.Save(int8Path);
            var int8 = SafeTensorsFile.Load(int8Path);
            Assert.Equal(SafeTensorsDType.U8, int8["w.m"].DType);
            Assert.Equal(SafeTensorsDType.F32, int8["w.m.absmax"].DType);
            Assert.Equal(new long[] { 2 }, int8["w.m.absmax"].Shape);
            Assert.Empty(int8["w.radius"].Shape);
        }

        [Fact]
        public void Truncated_or_bit_flipped_files_are_rejected()
        {
            string path = SaveAfterFirstSteps(StatePrecision.Float32, "good.safetensors");
            var bytes = File.ReadAllBytes(path);
            var model = EngineTestModel.ResumeModel();
            using var opt = EngineTestModel.BuildResumeOptimizer(model, StatePrecision.Float32, threads: 1);
            var before = EngineTestModel.Snapshot(model, opt);

            string truncated = Path.Combine(_directory, "truncated.safetensors");
            File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length - 100).ToArray());
            Assert.Throws<CheckpointException>(() => opt.Load(truncated));

            string flipped = Path.Combine(_directory, "flipped.safetensors");
            var copy = (byte[])bytes.Clone();
            copy[copy.Length - 5000] ^= 0x10;
            File.WriteAllBytes(flipped, copy);
            Assert.Throws<CheckpointException>(() => opt.Load(flipped));

            EngineTests.AssertBits(before, EngineTestModel.Snapshot(model, opt), "optimizer after rejected loads");
        }

        [Fact]
        public void Loading_into_a_different_model_names_the_mismatches()
        {
            string path = SaveAfterFirstSteps(StatePrecision.Float32, "model.safetensors");

            var other = new EngineTestModel().Add("embed.weight", 64, 48).Add("layer0.weight", 96, 32).Add("layer0.bias", 96).Add("head.weight", 10, 96).Add("extra", 5);
            using (var opt = EngineTestModel.BuildResumeOptimizer(other, StatePrecision.Float32, threads: 1))
            {
                var ex = Assert.Throws<CheckpointException>(() => opt.Load(path));
                Assert.Contains("absent from the checkpoint: extra", ex.Message);
                Assert.Contains("checkpoint parameters this optimizer does not have: norm.scale", ex.Message);
                Assert.Contains("parameter 'layer0.weight' has shape [96, 32], checkpoint has [96, 64]", ex.Message);
            }

            var same = EngineTestModel.ResumeModel();
            using (var bf16 = EngineTestModel.BuildResumeOptimizer(same, StatePrecision.BFloat16, threads: 1))
                Assert.Contains("group 'matrices' keeps BFloat16 state, checkpoint has Float32", Assert.Throws<CheckpointException>(() => bf16.Load(path)).Message);

            using (var differentRule = same.Builder().Route("matrices", p => p.Rank >= 2 && !p.Name.StartsWith("embed"), Lamb.Rule)
                .Route("rest", p => p.Rank < 2 || p.Name.StartsWith("embed"), Lion.Rule, g => g.Set("lr", 1e-3f)).Threads(1).Build())
                Assert.Contains("group 'matrices' uses rule LAMB, checkpoint has AdamW", Assert.Throws<CheckpointException>(() => differentRule.Load(path)).Message);

            using (var differentLr = same.Builder()
                .Route("matrices", p => p.Rank >= 2 && !p.Name.StartsWith("embed"), AdamW.Rule, g => g.Set(("lr", 1e-2f), ("weightDecay", 0.05f)))
                .Route("rest", p => p.Rank < 2 || p.Name.StartsWith("embed"), Lion.Rule, g => g.Set("lr", 1e-3f)).Threads(1).Build())
            {
                Assert.Contains("group 'matrices': lr is 0.01, checkpoint has 0.003", Assert.Throws<CheckpointException>(() => differentLr.Load(path)).Message);
                differentLr.Load(path, allowHyperparameterChanges: true);
                Assert.Equal(3, differentLr.StepCount);
            }
        }

        [Fact]
        public void Saving_while_gradients_are_accumulated_is_refused()
        {
            var model = EngineTestModel.ResumeModel();
            using var opt = EngineTestModel.BuildResumeOptimizer(model, StatePrecision.Float32, threads: 1);
            opt.AccumulateGradients();
            Assert.Contains("accumulated", Assert.Throws<InvalidOperationException>(() => opt.Save(Path.Combine(_directory, "x.safetensors"))).Message);
        }

        /// <summary>
        /// Resume in a separate process: the child is this test assembly run as a program (`dotnet Fused.Runtime.Tests.dll`,
        /// the test SDK's empty entry point); a module initializer sees <see cref="ChildResume.EnvironmentVariable"/>,
        /// builds the optimizer from scratch, loads, runs the remaining steps and writes its snapshot.
        /// </summary>
        [Theory]
        [InlineData(StatePrecision.Float32)]
        [InlineData(StatePrecision.BFloat16)]
        public void Resume_in_a_fresh_process_is_bit_exact(StatePrecision precision)
        {
            string path = SaveAfterFirstSteps(precision, $"child-{precision}.safetensors");
            string output = Path.Combine(_directory, $"child-{precision}.bin");
            string assembly = typeof(EngineCheckpointTests).Assembly.Location;
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(assembly);
            start.Environment[ChildResume.EnvironmentVariable] = $"{path}|{precision}|{output}";
            using var child = Process.Start(start)!;
            string stderr = child.StandardError.ReadToEnd();
            child.StandardOutput.ReadToEnd();
            Assert.True(child.WaitForExit(120_000), "child process timed out");
            Assert.True(child.ExitCode == 0, $"child exited with {child.ExitCode}: {stderr}");
            var bytes = File.ReadAllBytes(output);
            var resumed = new float[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, resumed, 0, bytes.Length);
            EngineTests.AssertBits(Uninterrupted(precision, threads: 2), resumed, $"{precision} resumed in a child process");
        }
    }

    /// <summary>Child-process side of <see cref="EngineCheckpointTests.Resume_in_a_fresh_process_is_bit_exact"/>.</summary>
    internal static class ChildResume
    {
        public const string EnvironmentVariable = "FUSED_ENGINE_CHILD_RESUME";

        [ModuleInitializer]
        internal static void RunIfChild()
        {
            string? request = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (string.IsNullOrEmpty(request)) return;
            int code = 0;
            try
            {
                var parts = request.Split('|');
                var snapshot = EngineCheckpointTestsAccess.Resume(parts[0], Enum.Parse<StatePrecision>(parts[1]), threads: 2);
                var bytes = new byte[snapshot.Length * 4];
                Buffer.BlockCopy(snapshot, 0, bytes, 0, bytes.Length);
                File.WriteAllBytes(parts[2], bytes);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine(e);
                code = 3;
            }
            Environment.Exit(code);
        }
    }

    internal static class EngineCheckpointTestsAccess
    {
        public static float[] Resume(string path, StatePrecision precision, int threads) => EngineCheckpointTests.Resume(path, precision, threads);
    }
}
