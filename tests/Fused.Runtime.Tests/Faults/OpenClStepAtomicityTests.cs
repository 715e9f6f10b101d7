using System;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Tests.Engine;
using Fused.Runtime.Tests.OpenCL;
using Xunit;

namespace Fused.Runtime.Tests.Faults
{
    /// <summary>A step is all or nothing on OpenCL too: the journal of a device group is downloaded and restored to the device.</summary>
    [Collection(OpenClCollection.Name)]
    public sealed class OpenClStepAtomicityTests
    {
        private readonly OpenClFixture _fixture;

        public OpenClStepAtomicityTests(OpenClFixture fixture) => _fixture = fixture;

        [Theory]
        [InlineData(ParameterDownload.EveryStep)]
        [InlineData(ParameterDownload.OnRequest)]
        public void A_failing_Newton_Schulz_on_the_device_applies_nothing(ParameterDownload download)
        {
            var model = new EngineTestModel().Add("h0.weight", 32, 16).Add("bias", 32).Add("h1.weight", 24, 16);
            using var optimizer = model.Builder()
                .Route("rest", p => p.Rank < 2, AdamW.Rule, g => g.Set("lr", 1e-2f))
                .Route("hidden", p => p.Rank == 2, Muon.Rule, g => g.Set("lr", 1e-2f))
                .WaveElements(1).Threads(1).UseOpenCl(_fixture.Queue, download).Build();
            model.SetGradients(1);
            optimizer.Step();
            optimizer.DownloadParameters();
            var before = EngineTestModel.Snapshot(model, optimizer);

            model.SetGradients(2);
            Array.Fill(model.Tensors[2].Grad, 3e38f);
            var error = Assert.Throws<OptimizerStepException>(() => optimizer.Step());
            Assert.Equal("h1.weight", error.Parameter);
            Assert.Equal(1, optimizer.StepCount);
            optimizer.DownloadParameters();
            Assert.Equal(EngineTestModel.Bits(before), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));
        }
    
        [Fact]
        public void Under_AllGroups_a_failing_device_element_pass_applies_nothing()
        {
            var model = new EngineTestModel().Add("h0.weight", 32, 16).Add("bias", 32);
            using var optimizer = model.Builder()
                .Route("rest", p => p.Rank < 2, AdamW.Rule, g => g.Set("lr", 1e-2f))
                .Route("hidden", p => p.Rank == 2, Muon.Rule, g => g.Set("lr", 1e-2f))
                .JournalSteps(StepJournal.AllGroups)
                .WrapBackends((name, backend) => name == "rest" ? new FaultyBackend(backend, "RunPass", 2) : backend)
                .Threads(1).UseOpenCl(_fixture.Queue).Build();
            model.SetGradients(1);
            optimizer.Step();
            var before = EngineTestModel.Snapshot(model, optimizer);
            model.SetGradients(2);
            Assert.Equal("rest", Assert.Throws<OptimizerStepException>(() => optimizer.Step()).Group);
            Assert.Equal(EngineTestModel.Bits(before), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));
        }
    }
}
