using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>
    /// Groups step their tensors in waves so that plan temporaries (C-AdamW's stored update, Muon's momentum copy)
    /// need room for one wave only: the same bits at any wave size, and the scratch shrinks to the largest wave.
    /// </summary>
    public class EngineWaveTests
    {
        private static EngineTestModel Model() => new EngineTestModel()
            .Add("a", 300, 200).Add("b", 1001).Add("c", 40, 64).Add("d", 7, 13).Add("e", 64, 32).Add("f", 5000);

        private static FusedOptimizer Build(EngineTestModel model, long? waveElements, int threads, StatePrecision precision)
        {
            var b = model.Builder()
                .Route("cautious", p => p.Rank == 1 || p.Name == "a", CautiousAdamW.Rule, g => g.State(precision))
                .Route("muon", p => p.Rank == 2 && p.Name != "a", Muon.Rule, g => g.Set("lr", 0.01f).State(precision))
                .Threads(threads).Seed(5);
            if (waveElements is long w) b.WaveElements(w);
            return b.Build();
        }

        [Theory]
        [InlineData(1, StatePrecision.Float32)]
        [InlineData(2, StatePrecision.Float32)]
        [InlineData(2, StatePrecision.BFloat16)]
        public void Any_wave_size_gives_the_same_bits_and_bounds_the_scratch(int threads, StatePrecision precision)
        {
            float[] Run(long? wave, out long scratch)
            {
                var model = Model();
                using var opt = Build(model, wave, threads, precision);
                for (int step = 1; step <= 4; step++) { model.SetGradients(step); Assert.True(opt.Step().Applied); }
                scratch = opt.MemoryReport().Groups.Sum(g => g.ScratchBytes);
                return EngineTestModel.Snapshot(model, opt);
            }
            var whole = Run(null, out long wholeScratch);          // every group in one wave
            var each = Run(1, out long eachScratch);               // every tensor its own wave
            var some = Run(3000, out long someScratch);            // small tensors share, the large ones alone
            EngineTests.AssertBits(whole, each, "one tensor per wave");
            EngineTests.AssertBits(whole, some, "waves of ~3000 elements");

            // One float32 temporary per element in both rules' plans, each tensor's part rounded up to whole 64-byte lines
            // (16 floats): whole = all elements; per tensor = the largest.
            static long Lines(long n) => (n + 15) / 16 * 16;
            Assert.Equal(4L * (Lines(300 * 200) + Lines(1001) + Lines(7 * 13) + Lines(5000)) + 4L * (Lines(40 * 64) + Lines(64 * 32)), wholeScratch);
            Assert.Equal(4L * Lines(300 * 200) + 4L * Lines(40 * 64), eachScratch);
            Assert.True(someScratch <= wholeScratch && someScratch >= eachScratch);
        }
    }
}
