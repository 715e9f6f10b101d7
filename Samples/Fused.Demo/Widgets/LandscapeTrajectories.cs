using System;
using System.Collections.Generic;
using System.Linq;
using Fused;
using Fused.Demo.Optimizers;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;

namespace Fused.Demo.Widgets
{
    /// <summary>The path one rule takes on one landscape.</summary>
    public sealed record Trajectory(string Rule, double LearningRate, IReadOnlyList<(double X, double Y)> Points, bool Diverged)
    {
        public (double X, double Y) Final => Points[^1];
    }

    /// <summary>
    /// Runs each generated catalog rule on a 2-element tensor (x, y) with the landscape's analytic gradient:
    /// the same kernels that train the MLP, only on two numbers. Weight decay is off so the paths show the
    /// update rule alone.
    /// </summary>
    public static class LandscapeTrajectories
    {
        /// <summary>Beyond this distance from the window a path counts as diverged and stops.</summary>
        private const double EscapeFactor = 50;

        /// <summary>
        /// The rules drawn on the 2-D landscapes: the one-pass element-wise ones. Matrix passes and
        /// per-tensor norms (Muon, LAMB, cautious masks, hyperball) need real matrices, not two numbers.
        /// </summary>
        public static IReadOnlyList<CatalogRule> PicturedRules { get; } = CatalogRule.All
            .Where(r => r.Rule.Schedule.Matrices.Count == 0 && r.Rule.Schedule.ScalarBuffers.Count == 0 && r.Rule.PassCount == 1)
            .ToArray();

        public static IReadOnlyList<Trajectory> Compute(Landscape landscape, IEnumerable<CatalogRule>? rules = null)
        {
            using var pool = new WorkerPool(1, pinThreads: false);
            return (rules ?? PicturedRules).Select(rule => Compute(landscape, rule, pool)).ToArray();
        }

        public static Trajectory Compute(Landscape landscape, CatalogRule rule, WorkerPool pool)
        {
            using var runner = new CpuRuleRunner(rule.Rule, pool);
            var hypers = rule.Rule.DefaultHyperparameters();
            double lr = landscape.LearningRateFor(rule.Name);
            hypers[rule.HyperIndex("lr")] = (float)lr;
            int decay = rule.HyperIndex("weightDecay");
            if (decay >= 0) hypers[decay] = 0;

            var buffers = new float[rule.Rule.BufferCount][];
            for (int b = 0; b < buffers.Length; b++) buffers[b] = new float[2];
            var param = buffers[0];
            var grad = buffers[1];
            param[0] = (float)landscape.Start.X;
            param[1] = (float)landscape.Start.Y;
            var points = new List<(double X, double Y)>(landscape.Steps + 1) { landscape.Start };
            var (xMin, xMax, yMin, yMax) = landscape.Window;
            double reach = EscapeFactor * Math.Max(xMax - xMin, yMax - yMin);
            var shape = ShapeInfo.Vector(2);
            bool diverged = false;
            for (int step = 1; step <= landscape.Steps; step++)
            {
                var (gx, gy) = landscape.Gradient(param[0], param[1]);
                grad[0] = (float)gx;
                grad[1] = (float)gy;
                runner.Step(hypers, step, shape, buffers);
                points.Add((param[0], param[1]));
                if (!float.IsFinite(param[0]) || !float.IsFinite(param[1]) || Math.Abs(param[0]) > reach || Math.Abs(param[1]) > reach)
                {
                    diverged = true;
                    break;
                }
            }

            return new Trajectory(rule.Name, lr, points, diverged);
        }
    }
}
