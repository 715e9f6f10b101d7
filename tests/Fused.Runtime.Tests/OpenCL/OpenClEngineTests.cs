using System;
using System.IO;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Fused.Runtime.Precision;
using Fused.Runtime.Tests.Backends;
using Fused.Runtime.Tests.Engine;
using Xunit;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// The engine on OpenCL (PoCL in CI) in the behaviour suite. Element passes are the same float32 operations in the
    /// same order (the OpenCL C is compiled with FP_CONTRACT OFF), reductions fold the same block partials, and Shampoo's
    /// inverse roots run on the host through the same code; what differs is the sum order inside Newton–Schulz's GEMMs
    /// on the device and the device's exp/log/pow/sqrt (correctly rounded or within an ulp or two on conforming
    /// devices). Those perturbations grow through a few steps of sign and orthogonalisation, so the engine on OpenCL is
    /// held to 0.1% of each tensor's movement, not to the bits.
    /// </summary>
    [Collection(OpenClCollection.Name)]
    public sealed class OpenClEngineBehaviour : BackendBehaviour
    {
        private readonly OpenClFixture _fixture;

        public OpenClEngineBehaviour(OpenClFixture fixture) => _fixture = fixture;

        protected override double? Tolerance(FusedRule rule, StatePrecision precision) => 1e-3;

        protected override Outcome Run(FusedRule rule, StatePrecision precision, Case c)
        {
            return RunEngine(rule, precision, c, b => b.UseOpenCl(_fixture.Queue).Threads(1));
        }
    }

    /// <summary>Transfer points, checkpoints across backends, and refusals of the engine on OpenCL.</summary>
    [Collection(OpenClCollection.Name)]
    public sealed class OpenClEngineTests : IDisposable
    {
        private readonly OpenClFixture _fixture;
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "fused-cl-engine-" + Guid.NewGuid().ToString("N"));

        public OpenClEngineTests(OpenClFixture fixture)
        {
            _fixture = fixture;
            Directory.CreateDirectory(_directory);
        }

        public void Dispose()
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }

        private static EngineTestModel Model() => new EngineTestModel().Add("w", 40, 33).Add("b", 33).Add("t", 3, 5, 7);

        private FusedOptimizer Build(EngineTestModel model, bool openCl, ParameterDownload download = ParameterDownload.EveryStep)
        {
            var b = model.Builder()
                .Route("matrices", p => p.Rank >= 2, AdamW.Rule, g => g.Set("lr", 3e-3f))
                .Route("rest", p => p.Rank < 2, Lion.Rule, g => g.Set("lr", 1e-3f))
                .ClipGlobalNorm(1.0).Seed(9).Threads(1);
            return openCl ? b.UseOpenCl(_fixture.Queue, download).Build() : b.Build();
        }

        private static void AssertClose(float[] expected, float[] actual, string what)
        {
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * (1 + Math.Abs(expected[i])), $"{what}[{i}]: CPU {expected[i]:R}, OpenCL {actual[i]:R}");
        }

        [Fact]
        public void Checkpoint_saved_on_OpenCL_resumes_on_the_CPU_and_back_with_the_same_results()
        {
            var reference = Model();
            using var cpu = Build(reference, openCl: false);
            var model = Model();
            using var device = Build(model, openCl: true);
            for (int step = 1; step <= 3; step++)
            {
                reference.SetGradients(step);
                model.SetGradients(step);
                cpu.Step();
                device.Step();
            }
            string fromDevice = Path.Combine(_directory, "device.safetensors");
            device.Save(fromDevice);

            // The device's checkpoint into a CPU engine, then both go on.
            var resumed = Model();
            using var onCpu = Build(resumed, openCl: false);
            onCpu.Load(fromDevice);
            for (int step = 4; step <= 5; step++)
            {
                reference.SetGradients(step);
                resumed.SetGradients(step);
                cpu.Step();
                onCpu.Step();
            }
            AssertClose(EngineTestModel.Snapshot(reference, cpu), EngineTestModel.Snapshot(resumed, onCpu), "CPU resumed from an OpenCL checkpoint");

            // The CPU's checkpoint onto a new OpenCL engine.
            string fromCpu = Path.Combine(_directory, "cpu.safetensors");
            onCpu.Save(fromCpu);
            var again = Model();
            using var onDevice = Build(again, openCl: true);
            onDevice.Load(fromCpu);
            reference.SetGradients(6);
            again.SetGradients(6);
            cpu.Step();
            onDevice.Step();
            AssertClose(EngineTestModel.Snapshot(reference, cpu), EngineTestModel.Snapshot(again, onDevice), "OpenCL resumed from a CPU checkpoint");
        }

        /// <summary>Shampoo's statistics (kept on the host by the OpenCL backend under its own keys) travel in the checkpoint too.</summary>
        [Fact]
        public void Shampoo_saved_on_OpenCL_resumes_on_the_CPU_like_an_unbroken_CPU_run()
        {
            FusedOptimizer Build(EngineTestModel m, bool openCl)
            {
                var b = m.Builder().Route("m", p => p.Rank >= 2, Shampoo.Rule, g => g.Preconditioning(new Fused.Runtime.Matrix.ShampooOptions { RootEvery = 2 }))
                    .Route("r", p => p.Rank < 2, AdamW.Rule).Seed(4).Threads(1);
                return openCl ? b.UseOpenCl(_fixture.Queue).Build() : b.Build();
            }
            var unbroken = Model();
            using var cpu = Build(unbroken, openCl: false);
            for (int step = 1; step <= 6; step++) { unbroken.SetGradients(step); cpu.Step(); }

            var onDevice = Model();
            using (var device = Build(onDevice, openCl: true))
            {
                for (int step = 1; step <= 3; step++) { onDevice.SetGradients(step); device.Step(); }
                device.Save(Path.Combine(_directory, "shampoo.safetensors"));
            }
            var resumed = Model();
            using var again = Build(resumed, openCl: false);
            again.Load(Path.Combine(_directory, "shampoo.safetensors"));
            for (int step = 4; step <= 6; step++) { resumed.SetGradients(step); again.Step(); }
            AssertClose(EngineTestModel.Snapshot(unbroken, cpu), EngineTestModel.Snapshot(resumed, again), "Shampoo resumed on the CPU from OpenCL");
        }

        [Fact]
        public void Parameters_come_back_every_step_or_only_when_asked()
        {
            var model = Model();
            using var optimizer = Build(model, openCl: true, ParameterDownload.OnRequest);
            var before = model.Tensors[0].Param.ToArray();
            model.SetGradients(1);
            optimizer.Step();
            Assert.Equal(before, model.Tensors[0].Param); // still the host copy from before the step
            optimizer.DownloadParameters();
            Assert.NotEqual(before, model.Tensors[0].Param);
            Assert.StartsWith("OpenCL: ", optimizer.Backend);

            // A host edit goes up on request and the next step starts from it.
            Array.Fill(model.Tensors[0].Param, 0f);
            optimizer.UploadParameters();
            model.SetGradients(2);
            optimizer.Step();
            optimizer.DownloadParameters();
            Assert.True(model.Tensors[0].Param.All(v => Math.Abs(v) < 0.1f), "the step started from the uploaded zeros");
        }

        [Fact]
        public void Shampoo_on_OpenCL_reports_the_cost_of_its_host_inverse_roots()
        {
            var model = Model();
            using var optimizer = model.Builder().Route("all", p => p.Rank >= 2, Shampoo.Rule).Route("rest", p => p.Rank < 2, AdamW.Rule)
                .UseOpenCl(_fixture.Queue).Threads(1).Build();
            for (int step = 1; step <= 2; step++) { model.SetGradients(step); optimizer.Step(); }
            var (seconds, bytes) = optimizer.HostMatrixCost;
            // The 40×33 and 15×7 momenta go down and back up once per step: 2 directions · 4 bytes · elements · steps.
            Assert.Equal(2L * 4 * (40 * 33 + 15 * 7) * 2, bytes);
            Assert.True(seconds > 0);
        }

        [Fact]
        public void Low_precision_state_on_OpenCL_is_a_clear_configuration_error()
        {
            var model = Model();
            var e = Assert.Throws<OptimizerConfigurationException>(() => model.Builder()
                .Route("all", _ => true, AdamW.Rule, g => g.State(StatePrecision.BFloat16)).UseOpenCl(_fixture.Queue).Build());
            Assert.Contains("float32", e.Message);
            Assert.Contains("'all'", e.Message);
        }
    }
}
