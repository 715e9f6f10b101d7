using System.Collections.Generic;
using Fused;
using Fused.Demo.Optimizers;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;

namespace Fused.Demo.Widgets
{
    /// <summary>One parameter's value over the steps of the decay picture.</summary>
    public sealed record DecayCurve(string Rule, string Parameter, double SecondMoment, IReadOnlyList<double> Values);

    /// <summary>
    /// Seed 003 ch. 5: two parameters, A with a large second moment v (loud gradients) and B with a small one,
    /// both at 1.0 with zero gradient, so only weight decay moves them. Run through the real AdamW rule
    /// (decoupled decay) and the real Adam rule (L2 decay folded into the gradient, hence divided by √v).
    /// </summary>
    public static class DecayComparison
    {
        public const double LoudV = 100;      // |g| ~ 10
        public const double QuietV = 1e-4;    // |g| ~ 0.01
        public const double LearningRate = 0.01;
        public const double WeightDecay = 0.1;
        public const int Steps = 300;

        /// <summary>Steps are numbered from here so bias correction is ≈ 1, as for a parameter deep in training.</summary>
        public const long FirstStep = 10_000;

        public static IReadOnlyList<DecayCurve> Compute()
        {
            using var pool = new WorkerPool(1, pinThreads: false);
            var curves = new List<DecayCurve>();
            foreach (string name in new[] { "AdamW", "Adam" })
            {
                var rule = CatalogRule.Named(name);
                using var runner = new CpuRuleRunner(rule.Rule, pool);
                var hypers = rule.Rule.DefaultHyperparameters();
                hypers[rule.HyperIndex("lr")] = (float)LearningRate;
                hypers[rule.HyperIndex("weightDecay")] = (float)WeightDecay;
                var param = new float[] { 1, 1 };
                var grad = new float[2];
                var m = new float[2];
                var v = new float[] { (float)LoudV, (float)QuietV };
                var a = new List<double> { 1 };
                var b = new List<double> { 1 };
                for (int step = 0; step < Steps; step++)
                {
                    runner.Step(hypers, FirstStep + step, ShapeInfo.Vector(2), param, grad, m, v);
                    a.Add(param[0]);
                    b.Add(param[1]);
                }

                curves.Add(new DecayCurve(name, "A (large v)", LoudV, a));
                curves.Add(new DecayCurve(name, "B (small v)", QuietV, b));
            }

            return curves;
        }
    }
}
