using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search;
using Fused.Search.Mutation;

namespace Fused.Search.Tests
{
    /// <summary>Shared helpers: random buffers, trajectories through the reference interpreter, program corpora.</summary>
    internal static class TestSupport
    {
        /// <summary>Every generated catalog rule (Fused.Catalog's classes with a static Rule).</summary>
        public static IEnumerable<FusedRule> CatalogRules() =>
            typeof(Fused.Catalog.AdamW).Assembly.GetTypes()
                .Select(t => t.GetProperty("Rule", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
                .Where(p => p != null && p.PropertyType == typeof(FusedRule))
                .Select(p => (FusedRule)p!.GetValue(null)!)
                // The search's programs are element-wise (and reductions): matrix passes are outside its space.
                .Where(r => r.Schedule.Matrices.Count == 0)
                .OrderBy(r => r.Name);

        /// <summary>Buffers for a program: random parameter and gradient, non-negative random states.</summary>
        public static float[][] RandomBuffers(RuleProgram p, int n, ulong seed)
        {
            var rng = new SearchRandom(seed);
            return p.Buffers.Select(b =>
            {
                var a = new float[b.Shape == StateShape.Scalar ? 1 : n];
                for (int i = 0; i < a.Length; i++)
                    a[i] = b.Role == BufferRole.State ? (float)Math.Abs(rng.NextGaussian()) : (float)rng.NextGaussian();
                return a;
            }).ToArray();
        }

        public static float[][] Clone(float[][] buffers) => buffers.Select(b => (float[])b.Clone()).ToArray();

        /// <summary>The parameter after each of <paramref name="steps"/> steps, by the Dsl's reference Interpreter (fresh gradients per step).</summary>
        public static List<float[]> InterpreterTrajectory(RuleProgram p, int n, int steps, ulong seed, float[]? hypers = null)
        {
            var interpreter = new Interpreter(Planner.Plan(p));
            var buffers = RandomBuffers(p, n, seed);
            var rng = new SearchRandom(seed ^ 0x5555);
            hypers ??= p.Hypers.Select(h => (float)h.Default).ToArray();
            var result = new List<float[]>();
            for (int t = 1; t <= steps; t++)
            {
                for (int i = 0; i < n; i++) buffers[RuleProgram.GradBuffer][i] = (float)rng.NextGaussian();
                interpreter.Step(hypers, t, ShapeInfo.Vector(n), buffers);
                result.Add((float[])buffers[RuleProgram.ParamBuffer].Clone());
            }
            return result;
        }

        public static bool SameBits(float a, float b) => ScalarMath.ToBits(a) == ScalarMath.ToBits(b) || (float.IsNaN(a) && float.IsNaN(b));

        /// <summary>Valid programs reached by random walks of mutations from AdamW and Lion.</summary>
        public static List<RuleProgram> MutatedPrograms(int count, ulong seed, int walk = 8)
        {
            var mutator = new ProgramMutator();
            var rng = new SearchRandom(seed);
            var starts = new[] { ProgramNormalizer.Run(WarmStarts.AdamW()), ProgramNormalizer.Run(WarmStarts.Lion()) };
            var result = new List<RuleProgram>();
            while (result.Count < count)
            {
                var p = starts[result.Count % 2];
                int length = 1 + rng.Next(walk);
                for (int i = 0; i < length && result.Count < count; i++)
                {
                    p = mutator.Mutate(p, rng.Fork()).Program;
                    result.Add(p);
                }
            }
            return result;
        }
    }
}
