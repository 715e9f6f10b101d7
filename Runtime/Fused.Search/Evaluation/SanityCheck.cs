using Fused.Execution;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// The first gate of the funnel: a few steps on hostile inputs — exactly zero gradients (dead
    /// inputs of a network), tiny and huge ones — at the default hyperparameters. A program whose
    /// parameter or state becomes NaN or infinite here is rejected before any proxy runs. (A search
    /// without it found rules that divide by √v with no ε: good on the selection network, NaN on the
    /// held-out one, whose dead pixels give zero gradients.)
    /// </summary>
    public static class SanityCheck
    {
        public const int Elements = 64;
        public const int Steps = 12;

        private static readonly float[] InitialParam;
        private static readonly float[][] Gradients;

        static SanityCheck()
        {
            var rng = new SearchRandom(0x5A11);
            InitialParam = Enumerable.Range(0, Elements).Select(i => i % 8 == 0 ? 0f : (float)rng.NextGaussian()).ToArray();
            Gradients = Enumerable.Range(0, Steps).Select(_ => Enumerable.Range(0, Elements).Select(i => (i % 4) switch
            {
                0 => 0f,                                              // dead inputs: always exactly zero
                1 => (float)(rng.NextGaussian() * 1e-20),
                2 => (float)(rng.NextGaussian() * (rng.Chance(0.2) ? 1e4 : 1)),
                _ => (float)rng.NextGaussian(),
            }).ToArray()).ToArray();
        }

        public static bool Passes(FusedRule rule)
        {
            var program = rule.Program;
            var buffers = program.Buffers.Select(b => new float[b.Shape == StateShape.Scalar ? 1 : Elements]).ToArray();
            InitialParam.CopyTo(buffers[RuleProgram.ParamBuffer], 0);
            var hypers = rule.DefaultHyperparameters();
            var stepper = new TensorStepper(rule.Schedule, rule);
            for (int t = 1; t <= Steps; t++)
            {
                Gradients[t - 1].CopyTo(buffers[RuleProgram.GradBuffer], 0);
                stepper.Step(hypers, t, ShapeInfo.Vector(Elements), buffers);
                foreach (var b in buffers)
                    foreach (var v in b)
                        if (!float.IsFinite(v)) return false;
            }
            return true;
        }
    }
}
