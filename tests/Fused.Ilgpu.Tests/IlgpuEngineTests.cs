using System;
using System.IO;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Ilgpu.Tests
{
    /// <summary>
    /// The engine on ILGPU's CPU accelerator (<c>UseIlgpu</c>) against the engine on the CPU: the same parameters bit for
    /// bit after every step (global-norm clipping on the host, gradients up, the rule's ILGPU kernels, parameters down),
    /// states read back, checkpoints across the two, and the refusals.
    /// </summary>
    [Collection(CpuAcceleratorCollection.Name)]
    public sealed class IlgpuEngineTests : IDisposable
    {
        private readonly CpuAcceleratorFixture _fixture;
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "fused-ilgpu-engine-" + Guid.NewGuid().ToString("N"));

        public IlgpuEngineTests(CpuAcceleratorFixture fixture)
        {
            _fixture = fixture;
            Directory.CreateDirectory(_directory);
        }

        public void Dispose()
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }

        /// <summary>Three parameters (a matrix, a vector, a rank-3 tensor) with their gradients, set per step from a seed.</summary>
        private sealed class Model
        {
            public readonly (string Name, int[] Shape, float[] Param, float[] Grad)[] Tensors =
                new[] { ("w", new[] { 37, 33 }), ("b", new[] { 33 }), ("t", new[] { 3, 5, 7 }) }
                    .Select((x, k) => (x.Item1, x.Item2, Enumerable.Range(0, x.Item2.Aggregate(1, (a, d) => a * d)).Select(i => (float)Math.Sin(i * 0.37 + k)).ToArray(),
                        new float[x.Item2.Aggregate(1, (a, d) => a * d)])).ToArray();

            public void SetGradients(int step)
            {
                var rnd = new Random(step);
                foreach (var t in Tensors)
                    for (int i = 0; i < t.Grad.Length; i++) t.Grad[i] = (float)((rnd.NextDouble() - 0.5) * 0.2);
            }

            public OptimizerBuilder Builder()
            {
                var b = new OptimizerBuilder();
                foreach (var t in Tensors) b.AddParameter(t.Name, t.Shape, t.Param, t.Grad);
                return b;
            }
        }

        private FusedOptimizer Build(Model model, bool ilgpu, FusedRule matrices, ParameterDownload download = ParameterDownload.EveryStep)
        {
            var b = model.Builder()
                .Route("matrices", p => p.Rank == 2, matrices, g => { if (matrices.Schedule.Hypers.Any(h => h.Name == "lr")) g.Set("lr", 3e-3f); })
                .Route("rest", p => p.Rank != 2, AdamW.Rule, g => g.Set("lr", 1e-3f))
                .ClipGlobalNorm(1.0).Seed(9).Threads(1);
            return ilgpu ? b.UseIlgpu(_fixture.Accelerator, download).Build() : b.Build();
        }

        private static void AssertBits(Model expected, Model actual, string what)
        {
            for (int k = 0; k < expected.Tensors.Length; k++)
                for (int i = 0; i < expected.Tensors[k].Param.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected.Tensors[k].Param[i]) == BitConverter.SingleToInt32Bits(actual.Tensors[k].Param[i]),
                        $"{what}: {expected.Tensors[k].Name}[{i}]: CPU {expected.Tensors[k].Param[i]:R}, ILGPU {actual.Tensors[k].Param[i]:R}");
        }

        [Theory]
        [InlineData("Muon")]
        [InlineData("Adafactor")]
        [InlineData("LAMB")]
        public void The_engine_on_ILGPU_steps_bit_for_bit_like_the_engine_on_the_CPU(string matrixRule)
        {
            var rule = CatalogRules.All.Single(r => r.Name == matrixRule);
            var reference = new Model();
            var model = new Model();
            using var cpu = Build(reference, ilgpu: false, rule);
            using var device = Build(model, ilgpu: true, rule);
            Assert.StartsWith("ILGPU: ", device.Backend);
            for (int step = 1; step <= 4; step++)
            {
                reference.SetGradients(step);
                model.SetGradients(step);
                cpu.Step();
                device.Step();
                AssertBits(reference, model, $"{matrixRule}, step {step}");
            }
            // Element states come back from the device for ReadState.
            var expected = new float[33];
            var actual = new float[33];
            cpu.ReadState("b", "m", expected);
            device.ReadState("b", "m", actual);
            Assert.Equal(expected, actual);
        }

        [Fact]
        public void A_checkpoint_saved_on_ILGPU_resumes_on_the_CPU_and_back_bit_for_bit()
        {
            var reference = new Model();
            var model = new Model();
            using var cpu = Build(reference, ilgpu: false, Muon.Rule);
            using var device = Build(model, ilgpu: true, Muon.Rule);
            for (int step = 1; step <= 2; step++)
            {
                reference.SetGradients(step);
                model.SetGradients(step);
                cpu.Step();
                device.Step();
            }
            string fromDevice = Path.Combine(_directory, "device.safetensors");
            device.Save(fromDevice);
            var resumed = new Model();
            using var onCpu = Build(resumed, ilgpu: false, Muon.Rule);
            onCpu.Load(fromDevice);
            string fromCpu = Path.Combine(_directory, "cpu.safetensors");
            onCpu.Save(fromCpu);
            var again = new Model();
            using var onDevice = Build(again, ilgpu: true, Muon.Rule);
            onDevice.Load(fromCpu);
            reference.SetGradients(3);
            resumed.SetGradients(3);
            again.SetGradients(3);
            cpu.Step();
            onCpu.Step();
            onDevice.Step();
            AssertBits(reference, resumed, "CPU resumed from an ILGPU checkpoint");
            AssertBits(reference, again, "ILGPU resumed from a CPU checkpoint");
        }

        [Fact]
        public void Parameters_come_back_only_when_asked_with_OnRequest()
        {
            var model = new Model();
            using var optimizer = Build(model, ilgpu: true, AdamW.Rule, ParameterDownload.OnRequest);
            var before = model.Tensors[0].Param.ToArray();
            model.SetGradients(1);
            optimizer.Step();
            Assert.Equal(before, model.Tensors[0].Param);
            optimizer.DownloadParameters();
            Assert.NotEqual(before, model.Tensors[0].Param);
        }

        [Fact]
        public void A_rule_built_at_run_time_is_refused_naming_it()
        {
            var model = new Model();
            var rule = new InterpretedRule(Sgd.Rule.Program);
            var e = Assert.ThrowsAny<Exception>(() => model.Builder().Route("all", _ => true, rule).UseIlgpu(_fixture.Accelerator).Build());
            Assert.Contains("run time", e.Message);
        }
    }
}
