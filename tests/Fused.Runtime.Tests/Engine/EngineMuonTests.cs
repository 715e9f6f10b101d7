using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Cpu;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;
using Xunit;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>Muon on 2-D hidden weights and AdamW on the rest, routed as the seeds recommend.</summary>
    public class EngineMuonTests
    {
        [Fact]
        public void Muon_hidden_AdamW_rest_equals_per_tensor_runners_bit_for_bit()
        {
            var rnd = new Random(3);
            float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rnd.NextDouble() - 0.5)).ToArray();
            var shapes = new (string name, int[] shape)[] { ("embed.weight", new[] { 50, 16 }), ("h0.weight", new[] { 32, 16 }), ("h0.bias", new[] { 32 }), ("head.weight", new[] { 10, 32 }) };
            var p1 = shapes.Select(s => R(s.shape.Aggregate(1, (a, b) => a * b))).ToArray();
            var g1 = shapes.Select(s => R(s.shape.Aggregate(1, (a, b) => a * b))).ToArray();
            var p2 = p1.Select(a => (float[])a.Clone()).ToArray();

            bool Hidden(string name, int rank) => rank == 2 && name.StartsWith("h", StringComparison.Ordinal);
            var builder = new OptimizerBuilder().Threads(2);
            for (int i = 0; i < shapes.Length; i++) builder.AddParameter(shapes[i].name, shapes[i].shape, p1[i], g1[i]);
            using var optimizer = builder
                .Route("hidden", p => Hidden(p.Name, p.Rank), Muon.Rule, g => g.Set("lr", 0.01f))
                .Route("rest", p => !Hidden(p.Name, p.Rank), AdamW.Rule)
                .Build();

            using var pool = new WorkerPool(1);
            var muonHypers = new Muon.Hyperparameters { Lr = 0.01f }.ToArray();
            var adamHypers = new AdamW.Hyperparameters().ToArray();
            var states = shapes.Select(s => Enumerable.Range(0, 2).Select(_ => new float[s.shape.Aggregate(1, (a, b) => a * b)]).ToArray()).ToArray();
            var muon = new CpuRuleRunner(Muon.Rule, pool);
            var adam = new CpuRuleRunner(AdamW.Rule, pool);
            for (int step = 1; step <= 3; step++)
            {
                optimizer.Step();
                for (int i = 0; i < shapes.Length; i++)
                {
                    var s = shapes[i].shape;
                    var shape = s.Length == 1 ? ShapeInfo.Vector(s[0]) : ShapeInfo.Matrix(s[0], s[1]);
                    if (Hidden(shapes[i].name, s.Length)) muon.Step(muonHypers, step, shape, p2[i], g1[i], states[i][0]);
                    else adam.Step(adamHypers, step, shape, p2[i], g1[i], states[i][0], states[i][1]);
                }
            }
            for (int i = 0; i < shapes.Length; i++)
                Assert.True(p1[i].Select(BitConverter.SingleToInt32Bits).SequenceEqual(p2[i].Select(BitConverter.SingleToInt32Bits)), shapes[i].name);
        }
    }
}
