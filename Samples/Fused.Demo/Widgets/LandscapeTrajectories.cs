using System;
using System.Collections.Generic;
using System.Linq;
using Fused;
using Fused.Demo.Optimizers;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;

namespace Fused.Demo.Widgets
{
    /// <summary>
    /// The path one rule takes on one landscape, or why it has none (<see cref="NotDefined"/>). <see cref="Note"/> says
    /// how the two numbers were presented to the rule when that matters (a 1×2 matrix, no learning rate).
    /// </summary>
    public sealed record Trajectory(string Rule, double LearningRate, IReadOnlyList<(double X, double Y)> Points, bool Diverged,
        string? NotDefined = null, string? Note = null)
    {
        public bool Drawn => NotDefined is null && Points.Count > 1;
        public (double X, double Y) Final => Points[^1];
    }

    /// <summary>
    /// Runs each generated catalog rule on a 2-element tensor (x, y) with the landscape's analytic gradient: the same
    /// kernels that train the models, only on two numbers. Weight decay is off so the paths show the update rule alone.
    /// Rules whose update is defined on a matrix (Newton-Schulz, Shampoo's L and R) see the two numbers as a 1×2
    /// matrix; a rule whose kernels reject two numbers, or whose path is not finite from the first step, is reported
    /// as not defined there, with the reason.
    /// </summary>
    public static class LandscapeTrajectories
    {
        /// <summary>Beyond this distance from the window a path counts as diverged and stops.</summary>
        private const double EscapeFactor = 50;

        /// <summary>Every catalog rule: each is drawn, or marked not defined with the reason.</summary>
        public static IReadOnlyList<CatalogRule> PicturedRules { get; } = CatalogRule.All;

        public static IReadOnlyList<Trajectory> Compute(Landscape landscape, IEnumerable<CatalogRule>? rules = null)
        {
            using var pool = new WorkerPool(1, pinThreads: false);
            return (rules ?? PicturedRules).Select(rule => Compute(landscape, rule, pool)).ToArray();
        }

        /// <summary>Why the rule's picture on two numbers is not the rule at work, or null.</summary>
        private static string? MatrixNote(CatalogRule rule)
        {
            if (rule.Rule.Schedule.Matrices.Count == 0) return null;
            return rule.Name.StartsWith("Muon", StringComparison.OrdinalIgnoreCase)
                ? "as a 1×2 matrix: Newton-Schulz of a single row only normalises it, so this is normalised momentum, not what Muon does to a weight matrix"
                : "as a 1×2 matrix: L is 1×1, R is 2×2";
        }

        public static Trajectory Compute(Landscape landscape, CatalogRule rule, WorkerPool pool)
        {
            int lrIndex = rule.HyperIndex("lr");
            double lr = lrIndex >= 0 ? landscape.LearningRateFor(rule.Name) : double.NaN;
            string? note = MatrixNote(rule);
            if (lrIndex < 0) note = "no learning rate: its relative step scales with the parameter's RMS";
            // Hyperball rules retract θ to the radius ‖θ₀‖ of the first step: on these landscapes the start's circle.
            if (rule.Rule.Layout.StateBufferNames.Contains("radius"))
                note = (note is null ? "" : note + "; ") + "keeps ‖θ‖ at its starting norm (moves on a circle), so it cannot reach a minimum inside that circle";
            var points = new List<(double X, double Y)>(landscape.Steps + 1) { landscape.Start };
            try
            {
                using var runner = new CpuRuleRunner(rule.Rule, pool);
                var hypers = rule.Rule.DefaultHyperparameters();
                if (lrIndex >= 0) hypers[lrIndex] = (float)lr;
                int decay = rule.HyperIndex("weightDecay");
                if (decay >= 0) hypers[decay] = 0;

                var shape = rule.Rule.Schedule.Matrices.Count > 0 ? ShapeInfo.Matrix(1, 2) : ShapeInfo.Vector(2);
                var buffers = new float[rule.Rule.BufferCount][];
                for (int b = 0; b < buffers.Length; b++)
                    buffers[b] = new float[Math.Max(1, shape.LengthOf(rule.Rule.Program.Buffers[b].Shape))];
                var param = buffers[0];
                var grad = buffers[1];
                param[0] = (float)landscape.Start.X;
                param[1] = (float)landscape.Start.Y;
                var (xMin, xMax, yMin, yMax) = landscape.Window;
                double reach = EscapeFactor * Math.Max(xMax - xMin, yMax - yMin);
                for (int step = 1; step <= landscape.Steps; step++)
                {
                    var (gx, gy) = landscape.Gradient(param[0], param[1]);
                    grad[0] = (float)gx;
                    grad[1] = (float)gy;
                    runner.Step(hypers, step, shape, buffers);
                    if (!float.IsFinite(param[0]) || !float.IsFinite(param[1]))
                    {
                        if (step == 1) return new Trajectory(rule.Name, lr, points, false, $"its first step on two numbers is not finite ({param[0]}, {param[1]})", note);
                        return new Trajectory(rule.Name, lr, points, true, Note: note);
                    }

                    points.Add((param[0], param[1]));
                    if (Math.Abs(param[0]) > reach || Math.Abs(param[1]) > reach) return new Trajectory(rule.Name, lr, points, true, Note: note);
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
            {
                return new Trajectory(rule.Name, lr, points, false, $"the generated kernels reject a 2-element tensor: {e.Message}", note);
            }

            return new Trajectory(rule.Name, lr, points, false, Note: note);
        }
    }
}
