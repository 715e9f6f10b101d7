using System;
using System.IO;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Matrix;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>
    /// Shampoo keeps statistics (L, R) and their inverse roots per tensor outside the rule's states; checkpoints carry
    /// them, so a run saved and resumed preconditions exactly as an unbroken one — before, the resumed run restarted
    /// L and R from zero and its parameters left the unbroken trajectory at the first step after the load.
    /// </summary>
    public class ShampooCheckpointTests : IDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "fused-shampoo-ckpt-" + Guid.NewGuid().ToString("N"));

        public ShampooCheckpointTests() => Directory.CreateDirectory(_directory);

        public void Dispose()
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }

        private static EngineTestModel Model() => new EngineTestModel().Add("w", 24, 17).Add("v", 9, 5).Add("b", 17);

        // Roots refreshed every 2 steps, so the resumed steps both reuse saved roots and compute new ones.
        private static FusedOptimizer Build(EngineTestModel model) => model.Builder()
            .Route("matrices", p => p.Rank == 2, Shampoo.Rule, g => g.Preconditioning(new ShampooOptions { RootEvery = 2 }))
            .Route("rest", p => p.Rank != 2, AdamW.Rule)
            .Seed(3).Threads(1).Build();

        [Theory]
        [InlineData(3)]
        [InlineData(4)]
        public void Resumed_Shampoo_matches_the_unbroken_run_bit_for_bit(int saveAt)
        {
            const int steps = 7;
            var unbroken = Model();
            using var a = Build(unbroken);
            for (int step = 1; step <= steps; step++) { unbroken.SetGradients(step); a.Step(); }

            var first = Model();
            using var b = Build(first);
            for (int step = 1; step <= saveAt; step++) { first.SetGradients(step); b.Step(); }
            string path = Path.Combine(_directory, $"at{saveAt}.safetensors");
            b.Save(path);

            var resumed = Model();
            using var c = Build(resumed);
            c.Load(path);
            for (int step = saveAt + 1; step <= steps; step++) { resumed.SetGradients(step); c.Step(); }

            EngineTests.AssertBits(EngineTestModel.Snapshot(unbroken, a), EngineTestModel.Snapshot(resumed, c), $"resumed after step {saveAt}");
        }

        [Fact]
        public void A_parameter_named_like_Shampoos_statistics_is_refused_at_build()
        {
            var model = new EngineTestModel().Add("w", 4, 4).Add("w.shampoo.left", 3);
            var e = Assert.Throws<OptimizerConfigurationException>(() => model.Builder()
                .Route("m", p => p.Rank == 2, Shampoo.Rule).Route("r", p => p.Rank != 2, AdamW.Rule).Build());
            Assert.Contains("w.shampoo.left", e.Message);
        }
    }
}
