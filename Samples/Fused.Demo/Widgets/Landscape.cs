using System;
using System.Collections.Generic;

namespace Fused.Demo.Widgets
{
    /// <summary>A 2-D loss surface with its analytic gradient, a start point and a plotting window (seed 003's widgets).</summary>
    public sealed record Landscape(
        string Name,
        string Formula,
        Func<double, double, double> Loss,
        Func<double, double, (double X, double Y)> Gradient,
        (double X, double Y) Start,
        (double X, double Y) Minimum,
        (double XMin, double XMax, double YMin, double YMax) Window,
        int Steps,
        IReadOnlyDictionary<string, double> LearningRates)
    {
        /// <summary>Seed 003 ch. 2: steep walls across (∂/∂y up to ~150), a gentle slope along (∂/∂x ~3).</summary>
        public static Landscape AnisotropicValley { get; } = new(
            "Anisotropic valley", "f(x, y) = ½·(x² + 100·y²)",
            (x, y) => 0.5 * (x * x + 100 * y * y),
            (x, y) => (x, 100 * y),
            (-3.5, 1.2), (0, 0), (-4, 1, -1.6, 1.6), 150,
            Rates(sgd: 0.019, momentum: 0.004, adaptive: 0.06, adagrad: 0.8, rmsprop: 0.02));

        /// <summary>The banana valley: easy to find, slow to follow to (1, 1).</summary>
        public static Landscape Rosenbrock { get; } = new(
            "Rosenbrock", "f(x, y) = (1 − x)² + 100·(y − x²)²",
            (x, y) => (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x),
            (x, y) => (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)),
            (-1.5, 2.0), (1, 1), (-2, 2, -1, 3), 1500,
            Rates(sgd: 0.001, momentum: 0.0002, adaptive: 0.03, adagrad: 0.5, rmsprop: 0.005));

        /// <summary>A saddle at the origin between two minima at (0, ±1): starting almost on the ridge, who escapes?</summary>
        public static Landscape Saddle { get; } = new(
            "Saddle", "f(x, y) = ½x² − ½y² + ¼y⁴",
            (x, y) => 0.5 * x * x - 0.5 * y * y + 0.25 * y * y * y * y,
            (x, y) => (x, -y + y * y * y),
            (-2.2, 0.01), (0, 1), (-2.5, 1, -1.6, 1.6), 150,
            Rates(sgd: 0.1, momentum: 0.03, adaptive: 0.05, adagrad: 0.5, rmsprop: 0.02));

        public static IReadOnlyList<Landscape> All { get; } = new[] { AnisotropicValley, Rosenbrock, Saddle };

        public double LearningRateFor(string rule) => LearningRates.TryGetValue(rule, out double lr) ? lr : LearningRates["*"];

        // Per-rule step sizes: gradient-proportional rules need an lr under 2/curvature, sign-like ones move ~lr per step.
        private static IReadOnlyDictionary<string, double> Rates(double sgd, double momentum, double adaptive, double adagrad, double rmsprop)
            => new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase)
            {
                ["SGD"] = sgd,
                ["SGD-Momentum"] = momentum,
                ["Nesterov"] = momentum,
                ["AdaGrad"] = adagrad,
                ["RMSprop"] = rmsprop,
                ["*"] = adaptive,
            };
    }
}
