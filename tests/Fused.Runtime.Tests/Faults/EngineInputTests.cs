using System;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Faults
{
    /// <summary>Issue 17, item 7: Build refuses memory a step would corrupt and shapes whose element count overflows; one
    /// non-finite gradient with 8-bit state harms only its own parameter, not its 256-element block.</summary>
    public class EngineInputTests
    {
        private static OptimizerBuilder Route(OptimizerBuilder b) => b.Route("all", _ => true, AdamW.Rule);

        [Fact]
        public void A_parameter_and_its_gradient_on_the_same_array_are_refused()
        {
            var shared = new float[8];
            var e = Assert.Throws<OptimizerConfigurationException>(() => Route(new OptimizerBuilder().AddParameter("w", new[] { 8 }, shared, shared)).Build());
            Assert.Contains("'w'", e.Message);
        }

        [Fact]
        public void Overlapping_slices_across_parameters_and_gradients_are_refused()
        {
            var pool = new float[64];
            var builder = new OptimizerBuilder()
                .AddParameter("a", new[] { 16 }, pool.AsMemory(0, 16), pool.AsMemory(16, 16))
                .AddParameter("b", new[] { 16 }, pool.AsMemory(40, 16), pool.AsMemory(24, 16)); // b's gradient overlaps a's
            var e = Assert.Throws<OptimizerConfigurationException>(() => Route(builder).Build());
            Assert.Contains("the gradient of 'a'", e.Message);
            Assert.Contains("the gradient of 'b'", e.Message);

            // Adjacent slices of one pool are fine.
            var ok = new OptimizerBuilder()
                .AddParameter("a", new[] { 16 }, pool.AsMemory(0, 16), pool.AsMemory(16, 16))
                .AddParameter("b", new[] { 16 }, pool.AsMemory(32, 16), pool.AsMemory(48, 16));
            Route(ok).Build().Dispose();
        }

        [Fact]
        public void A_long_buffer_overlapping_a_later_one_past_its_neighbour_is_refused()
        {
            var pool = new float[100];
            var builder = new OptimizerBuilder()
                .AddParameter("long", new[] { 60 }, pool.AsMemory(0, 60), new float[60])
                .AddParameter("short", new[] { 5 }, pool.AsMemory(10, 5), new float[5]);
            Assert.Throws<OptimizerConfigurationException>(() => Route(builder).Build());
        }

        [Theory]
        [InlineData(new[] { 65536, 65536, 65536, 65536 })] // 2^64: wraps to 0 in a long
        [InlineData(new[] { 65536, 65536 })]               // 2^32: more than one array holds
        public void Shapes_whose_element_count_overflows_are_refused(int[] shape)
        {
            var e = Assert.Throws<OptimizerConfigurationException>(() => new OptimizerBuilder().AddParameter("huge", shape, Memory<float>.Empty, Memory<float>.Empty));
            Assert.Contains("elements", e.Message);
        }
    
        [Theory]
        [InlineData(float.NaN)]
        [InlineData(3e38f)] // finite: its square overflows the second moment to +inf
        public void With_8bit_state_one_bad_gradient_harms_only_its_own_parameter(float bad)
        {
            var model = new Engine.EngineTestModel().Add("w", 600);
            using var optimizer = model.Builder()
                .Route("all", _ => true, AdamW.Rule, g => g.State(StatePrecision.Int8Blockwise))
                .SkipNonFiniteSteps(false).Threads(1).Build();
            model.SetGradients(1);
            optimizer.Step();
            model.SetGradients(2);
            model.Tensors[0].Grad[300] = bad;
            optimizer.Step();
            model.SetGradients(3);
            optimizer.Step();
            var w = model.Tensors[0].Param;
            for (int i = 0; i < w.Length; i++)
                if (i != 300) Assert.True(float.IsFinite(w[i]), $"w[{i}] = {w[i]}");
            var m = new float[600];
            optimizer.ReadState("w", "m", m);
            for (int i = 0; i < m.Length; i++)
                if (i != 300) Assert.True(float.IsFinite(m[i]), $"m[{i}] = {m[i]}");
        }
    }
}
