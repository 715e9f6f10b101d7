using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Schedules;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>
    /// A small deterministic "model": named tensors with values and gradients that are pure functions of
    /// (parameter, element, step), so any process can rebuild the same run.
    /// </summary>
    internal sealed class EngineTestModel
    {
        public readonly List<(string Name, int[] Shape, float[] Param, float[] Grad)> Tensors = new();

        public EngineTestModel Add(string name, params int[] shape)
        {
            int n = shape.Aggregate(1, (a, b) => a * b);
            var p = new float[n];
            int id = Tensors.Count;
            for (int i = 0; i < n; i++) p[i] = (float)(0.5 * Math.Sin(0.731 * i + 1.7 * id + 0.3));
            Tensors.Add((name, shape, p, new float[n]));
            return this;
        }

        /// <summary>Gradients of <paramref name="step"/> (1-based), deterministic.</summary>
        public void SetGradients(long step, float scale = 0.1f)
        {
            for (int t = 0; t < Tensors.Count; t++)
            {
                var g = Tensors[t].Grad;
                for (int i = 0; i < g.Length; i++) g[i] = scale * (float)Math.Sin(0.013 * i * (t + 1) + 0.917 * step + 0.21 * t) + 0.01f * (float)Math.Cos(i);
            }
        }

        public OptimizerBuilder Builder()
        {
            var b = new OptimizerBuilder();
            foreach (var (name, shape, p, g) in Tensors) b.AddParameter(name, shape, p, g);
            return b;
        }

        /// <summary>The model used by the resume tests: matrices to a bf16/fp32 AdamW group with a scheduled lr, the rest to Lion; clipping on.</summary>
        public static EngineTestModel ResumeModel() => new EngineTestModel()
            .Add("embed.weight", 64, 48).Add("layer0.weight", 96, 64).Add("layer0.bias", 96).Add("head.weight", 10, 96).Add("norm.scale", 3, 4, 5);

        public static FusedOptimizer BuildResumeOptimizer(EngineTestModel model, StatePrecision precision, int threads)
            => model.Builder()
                .Route("matrices", p => p.Rank >= 2 && !p.Name.StartsWith("embed", StringComparison.Ordinal), AdamW.Rule,
                    g => g.Set(("lr", 3e-3f), ("weightDecay", 0.05f)).ScheduleFactor("lr", Schedule.WarmupCosine(3, 20, 0.1)).State(precision))
                .Route("rest", p => p.Rank < 2 || p.Name.StartsWith("embed", StringComparison.Ordinal), Lion.Rule,
                    g => g.Set("lr", 1e-3f).State(precision))
                .ClipGlobalNorm(2.0).Seed(1234).Threads(threads).Build();

        public static long[] Bits(float[] values) => values.Select(v => (long)BitConverter.SingleToInt32Bits(v)).ToArray();

        /// <summary>Parameters then every state widened, as one float array (for bit comparisons).</summary>
        public static float[] Snapshot(EngineTestModel model, FusedOptimizer optimizer)
        {
            var all = new List<float>();
            foreach (var t in model.Tensors)
            {
                all.AddRange(t.Param);
                foreach (var s in optimizer.StateNames(t.Name))
                {
                    var buffer = new float[t.Param.Length];
                    optimizer.ReadState(t.Name, s, buffer);
                    all.AddRange(buffer);
                }
            }
            all.Add(optimizer.StepCount);
            all.Add(optimizer.SkippedSteps);
            return all.ToArray();
        }
    }
}
