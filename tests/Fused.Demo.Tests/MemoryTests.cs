using Fused.Demo.Optimizers;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>The `memory` figures against the seeds' arithmetic.</summary>
    public sealed class MemoryTests
    {
        [Fact]
        public void AdamW_fp32_with_master_weights_is_12_bytes_and_840_GB_at_70B()
        {
            var adamW = MemoryFootprint.Named("AdamW");
            Assert.Equal(Catalog.AdamW.Layout.StateBytesPerParameter, adamW.Fp32StateBytesPerParameter);
            Assert.Equal(12, adamW.BytesPerParameterWithMaster(StatePrecision.Fp32));
            Assert.Equal(840e9, adamW.TotalBytesWithMaster(70e9, StatePrecision.Fp32));
            Assert.Equal(560e9, adamW.StateBytes(70e9, StatePrecision.Fp32));
            Assert.Equal(84e9, adamW.TotalBytesWithMaster(7e9, StatePrecision.Fp32));
        }

        [Fact]
        public void Bf16_state_with_fp32_master_is_8_bytes_and_560_GB_at_70B()
        {
            Assert.Equal(560e9, MemoryFootprint.Named("AdamW").TotalBytesWithMaster(70e9, StatePrecision.Bf16));
            Assert.Equal(280e9, MemoryFootprint.Named("AdamW").StateBytes(70e9, StatePrecision.Bf16));
        }

        [Fact]
        public void Lion_and_Muon_keep_half_of_AdamWs_state()
        {
            double adamW = MemoryFootprint.Named("AdamW").StateBytes(70e9, StatePrecision.Fp32);
            Assert.Equal(adamW / 2, MemoryFootprint.Named("Lion").StateBytes(70e9, StatePrecision.Fp32));
            Assert.Equal(adamW / 2, MemoryFootprint.Named("Muon").StateBytes(70e9, StatePrecision.Fp32));
            Assert.Equal(56e9, MemoryFootprint.Named("Muon").TotalBytesWithMaster(7e9, StatePrecision.Fp32));
            Assert.Equal(0, MemoryFootprint.Named("SGD").StateBytes(70e9, StatePrecision.Fp32));
        }

        [Fact]
        public void Eight_bit_state_counts_the_block_scales()
        {
            Assert.Equal(2 * (1 + 4.0 / 256), MemoryFootprint.Named("AdamW").StateBytesPerParameter(StatePrecision.Int8), 10);
        }

        [Fact]
        public void Memory_and_help_commands_succeed()
        {
            Assert.Equal(0, Commands.Cli.Build().Parse(new[] { "memory" }).Invoke());
            Assert.Equal(0, Commands.Cli.Build().Parse(new[] { "memory", "--state", "bf16" }).Invoke());
            Assert.Equal(0, Commands.Cli.Build().Parse(System.Array.Empty<string>()).Invoke());
            Assert.NotEqual(0, Commands.Cli.Build().Parse(new[] { "train", "--epochs", "0" }).Invoke());
            Assert.NotEqual(0, Commands.Cli.Build().Parse(new[] { "train", "--optimizers", "Nope" }).Invoke());
        }
    }
}
