using System;
using System.IO;
using System.Linq;
using Fused.Demo.Data;
using Fused.Demo.Optimizers;
using Fused.Demo.Training;
using Fused.Runtime.Execution;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Demo.Tests
{
    /// <summary>A short real training run on Fashion-MNIST. Under CI=true the dataset must be installed; elsewhere a missing dataset skips.</summary>
    public sealed class TrainingRunTests
    {
        private readonly ITestOutputHelper _output;

        public TrainingRunTests(ITestOutputHelper output) => _output = output;

        private (Dataset Train, Dataset Test)? LoadOrSkip()
        {
            if (FashionMnist.Locate() is not null) return FashionMnist.Load();
            bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
            if (ci) Assert.Fail($"CI=true but Fashion-MNIST is not installed. {FashionMnist.InstallHint}");
            _output.WriteLine($"SKIPPED: Fashion-MNIST not installed. {FashionMnist.InstallHint}");
            return null;
        }

        [Theory]
        [InlineData("AdamW")]
        [InlineData("Lion")]
        [InlineData("Muon+AdamW")]
        public void One_epoch_on_2000_images_is_far_better_than_chance(string optimizer)
        {
            if (LoadOrSkip() is not var (train, test)) return;
            using var pool = new WorkerPool(2);
            var trainer = new Trainer(train.Take(2000), test, new TrainingOptions { Epochs = 1, BatchSize = 64, Seed = 42 }, pool);
            var result = trainer.Run(OptimizerRegistry.Named(optimizer));
            _output.WriteLine($"{optimizer}: test accuracy {result.TestAccuracy:P2}, final train loss {result.FinalTrainLoss:F4}, {result.Steps} steps");
            Assert.False(result.Diverged);
            Assert.Equal(trainer.TotalSteps, result.Steps);
            Assert.True(result.TestAccuracy > 0.60, $"{optimizer} reached only {result.TestAccuracy:P2} (chance is 10%)");
        }

        [Fact]
        public void Runs_are_deterministic_for_a_seed()
        {
            if (LoadOrSkip() is not var (train, test)) return;
            using var pool = new WorkerPool(2);
            var options = new TrainingOptions { Epochs = 1, BatchSize = 128, Seed = 7 };
            var trainer = new Trainer(train.Take(1000), test.Take(1000), options, pool);
            var a = trainer.Run(OptimizerRegistry.Named("AdamW"));
            var b = trainer.Run(OptimizerRegistry.Named("AdamW"));
            Assert.Equal(a.StepLosses, b.StepLosses);
            Assert.Equal(a.TestAccuracy, b.TestAccuracy);
        }

        [Fact]
        public void Optimizer_state_bytes_follow_the_generated_layouts()
        {
            var model = Model.Mlp.FashionMnist(4, 1);
            using var pool = new WorkerPool(1, pinThreads: false);
            var context = new OptimizerContext(model.Parameters, 100, pool);
            using var adamW = OptimizerRegistry.Named("AdamW").Create(context);
            using var lion = OptimizerRegistry.Named("Lion").Create(context);
            using var muon = OptimizerRegistry.Named("Muon+AdamW").Create(context);
            Assert.Equal(Catalog.AdamW.Layout.StateBytesPerParameter * model.ParameterCount, adamW.StateBytes);
            Assert.Equal(Catalog.Lion.Layout.StateBytesPerParameter * model.ParameterCount, lion.StateBytes);
            long hidden = 784 * 256 + 256 * 128;
            Assert.Equal(4 * hidden + Catalog.AdamW.Layout.StateBytesPerParameter * (model.ParameterCount - hidden), muon.StateBytes);
        }

        [Fact]
        public void Unknown_optimizer_lists_the_available_ones()
        {
            var e = Assert.Throws<ArgumentException>(() => OptimizerRegistry.Named("Adagrad2"));
            Assert.Contains("AdamW", e.Message);
            Assert.Contains("Muon+AdamW", e.Message);
        }

        [Fact]
        public void Each_epoch_has_its_evaluations_evenly_spaced_and_the_last_at_its_end()
        {
            if (LoadOrSkip() is not var (train, test)) return;
            using var pool = new WorkerPool(2);
            // 1,000 images in batches of 64: 16 steps per epoch (the last batch 40 images); 4 evaluations per epoch.
            var trainer = new Trainer(train.Take(1000), test.Take(500), new TrainingOptions { Epochs = 2, BatchSize = 64, Seed = 3, EvaluationsPerEpoch = 4 }, pool);
            var result = trainer.Run(OptimizerRegistry.Named("SGD"));
            Assert.Equal(new long[] { 4, 8, 12, 16, 20, 24, 28, 32 }, result.Evaluations.Select(e => e.Step));
            Assert.Equal(new[] { 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2 }, result.Evaluations.Select(e => e.Epoch));
        }
    }
}
