using Fused.Execution;
using System;
using System.Globalization;
using System.Linq;
using System.Text;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// What a program does, as a 64-bit hash: it runs a few steps on fixed random parameters and
    /// gradients (hyperparameters at their defaults, states from zero) and hashes the parameter after
    /// each step rounded to <see cref="SignificantDigits"/> significant digits. Programs that differ
    /// only in ways the rounding cannot see are scored once (the Lion search's functional cache).
    /// The run's learning rate is normalised by the program's first step, so a program whose whole
    /// update is c > 0 times another's (a rescaling the tuned learning rate absorbs) hashes the same:
    /// the search does not spend evaluations on it.
    /// </summary>
    public static class FunctionalHash
    {
        public const int SignificantDigits = 5;
        public const int Elements = 16;
        public const int Steps = 10;

        private static readonly float[] InitialParam;
        private static readonly float[][] Gradients;

        static FunctionalHash()
        {
            var rng = new SearchRandom(0xF00D);
            InitialParam = Enumerable.Range(0, Elements).Select(_ => (float)rng.NextGaussian()).ToArray();
            Gradients = Enumerable.Range(0, Steps).Select(_ => Enumerable.Range(0, Elements).Select(_ => (float)rng.NextGaussian()).ToArray()).ToArray();
        }

        public static ulong Compute(FusedRule rule)
        {
            var program = rule.Program;
            var hypers = rule.DefaultHyperparameters();
            var shape = ShapeInfo.Vector(Elements);
            // The lr is set so the first step moves the parameter by 1 at most (one probe step at lr = 1 measures
            // it): a program whose whole update is c·(another's) then runs the very same trajectory as the other,
            // exactly when c is a power of two and up to float rounding otherwise.
            int lrIndex = LearningRateSchedule.IndexIn(program);
            if (lrIndex >= 0)
            {
                // The probe starts from θ = 0, where θ − c·x is exactly −c·x: its scale is exactly c times the other's.
                hypers[lrIndex] = 1f;
                var probe = Fresh(program);
                Array.Clear(probe[RuleProgram.ParamBuffer]);
                Gradients[0].CopyTo(probe[RuleProgram.GradBuffer], 0);
                new TensorStepper(rule.Schedule, rule).Step(hypers, 1, shape, probe);
                float moved = 0;
                for (int i = 0; i < Elements; i++) moved = Math.Max(moved, Math.Abs(probe[RuleProgram.ParamBuffer][i]));
                hypers[lrIndex] = float.IsFinite(moved) && moved > 0 && float.IsFinite(1f / moved) ? 1f / moved : 1f;
            }
            var buffers = Fresh(program);
            var stepper = new TensorStepper(rule.Schedule, rule);
            var sb = new StringBuilder();
            for (int t = 1; t <= Steps; t++)
            {
                Gradients[t - 1].CopyTo(buffers[RuleProgram.GradBuffer], 0);
                stepper.Step(hypers, t, shape, buffers);
                foreach (var v in buffers[RuleProgram.ParamBuffer]) sb.Append(Round(v)).Append(',');
            }
            ulong h = 14695981039346656037UL;
            foreach (byte b in Encoding.ASCII.GetBytes(sb.ToString()))
            {
                h ^= b;
                h *= 1099511628211UL;
            }
            return h;
        }

        private static float[][] Fresh(RuleProgram program)
        {
            var buffers = program.Buffers.Select(b => new float[b.Shape == StateShape.Scalar ? 1 : Elements]).ToArray();
            InitialParam.CopyTo(buffers[RuleProgram.ParamBuffer], 0);
            return buffers;
        }

        public static string Round(float v)
        {
            if (float.IsNaN(v)) return "nan";
            if (float.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
            if (v == 0f) return "0";
            return ((double)v).ToString("E" + (SignificantDigits - 1), CultureInfo.InvariantCulture);
        }

        public static string ToText(ulong hash) => hash.ToString("X16", CultureInfo.InvariantCulture);
    }
}
