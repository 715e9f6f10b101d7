using System;
using System.Linq;
using Fused.Demo.Report;
using Fused.Demo.Training;

namespace Fused.Demo.Tests
{
    /// <summary>Synthetic runs for report tests: no training data needed. Curves differ per optimizer and seed.</summary>
    internal static class FakeRuns
    {
        public static readonly string[] Optimizers = { "AdamW", "Lion", "Muon+AdamW" };

        public static RunResult Run(string name, double accuracy, ulong seed, string model = "MLP")
        {
            double jitter = (seed % 7) * 0.003;
            return new RunResult(
                name, name + " on every tensor", 20,
                Enumerable.Range(0, 20).Select(i => (float)(2.3 * Math.Exp(-i / (8.0 + seed % 3)) + 0.3 + jitter)).ToArray(),
                new[] { new EvaluationPoint(10, 0.5, 0.9 + jitter, accuracy - 0.05 + jitter), new EvaluationPoint(20, 1, 0.7 + jitter, accuracy + jitter) },
                0.35 + jitter, accuracy + jitter, 0.7 + jitter, 12.5, 1.5, 1_880_000, 235_146, 1.2) { Model = model, Seed = seed };
        }

        /// <summary>Every optimizer on <paramref name="seeds"/> seeds of one model.</summary>
        public static RunResult[] Runs(int seeds, string model = "MLP")
            => Optimizers.SelectMany((name, i) => Enumerable.Range(0, seeds).Select(k => Run(name, 0.83 + 0.01 * i, 42 + (ulong)k, model))).ToArray();

        public static string Report(int seeds = 3)
        {
            var setup = new RunSetup(2000, 10000, new TrainingOptions { Seeds = seeds }, 2, "OpenBLAS", "", 0.5);
            return HtmlReport.Build(new ReportInput(setup, Runs(seeds)));
        }
    }
}
