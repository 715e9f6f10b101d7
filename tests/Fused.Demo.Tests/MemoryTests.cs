using System.Linq;
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

        [Fact]
        public void Every_catalog_rule_is_listed_and_shape_dependent_state_is_costed_per_matrix()
        {
            Assert.Equal(CatalogRule.All.Select(r => r.Name), MemoryFootprint.All.Select(f => f.Name));
            // Adafactor: one fp32 row mean per row and one column mean per column.
            var adafactor = MemoryFootprint.Named("Adafactor");
            Assert.Equal(0, adafactor.StateBytesPerParameter(StatePrecision.Fp32));
            Assert.Equal(4L * (4096 + 14336), adafactor.PerTensorStateBytes(4096, 14336));
            Assert.Contains("per row", adafactor.ShapeDependentNote);
            // Shampoo: m and v per element, and per matrix L (rows²), R (cols²) and their inverse roots, fp32.
            var shampoo = MemoryFootprint.Named("Shampoo");
            Assert.Equal(8, shampoo.StateBytesPerParameter(StatePrecision.Fp32));
            Assert.Equal(2L * 4 * (784L * 784 + 256L * 256), shampoo.PerTensorStateBytes(784, 256));
            Assert.Contains("L (rows×rows)", shampoo.ShapeDependentNote);
            // HyperBall keeps its radius: one float per tensor.
            Assert.Equal(4, MemoryFootprint.Named("HyperBall-AdamW").PerTensorStateBytes(64, 32));
            Assert.False(MemoryFootprint.Named("AdamW").HasShapeDependentState);
            Assert.Equal(0, MemoryFootprint.Named("AdamW").PerTensorStateBytes(4096, 4096));
        }
    }
}
