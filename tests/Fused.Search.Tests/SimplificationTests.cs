using System.Linq;
using Fused.Ir;
using Fused.Ir.Passes;
using Fused.Search.Mutation;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>Simplification and normalization keep behaviour: reference-interpreter outputs before and after are equal.</summary>
    public class SimplificationTests
    {
        [Fact]
        public void Simplifier_and_normalizer_keep_behaviour_on_raw_mutation_candidates()
        {
            var mutator = new ProgramMutator();
            var rng = new SearchRandom(99);
            int simplified = 0, normalized = 0;
            foreach (var parent in TestSupport.MutatedPrograms(40, 5))
            {
                for (int attempt = 0; attempt < 6; attempt++)
                {
                    var (raw, _) = mutator.ApplyOnce(parent, rng.Fork());
                    if (raw == null || Verifier.Check(raw).Count > 0 || raw.OutputOf(0) == null) continue;
                    // Pow by 0.5, 2 and -0.5 are the Simplifier's documented inexact rewrites.
                    if (raw.Nodes().Any(n => n.Op == Op.Pow && n[1].Op == Op.Const)) continue;
                    var simple = Simplifier.Run(raw);
                    if (simple.OutputOf(0) == null) continue;
                    AssertSameTrajectory(raw, simple);
                    simplified++;
                    // The normalizer also prunes and protects; protection changes only what would be NaN,
                    // so compare where every guarded op of the raw program is already provably safe.
                    var signs = new SignAnalysis(raw);
                    if (raw.Nodes().Where(ProgramNormalizer.IsGuarded).All(n => signs.IsNonNegative(n[0])))
                    {
                        var norm = ProgramNormalizer.Run(raw);
                        if (norm.OutputOf(0) == null) continue;
                        AssertSameTrajectory(raw, norm);
                        normalized++;
                    }
                }
            }
            Assert.True(simplified > 120, $"only {simplified} candidates compared");
            Assert.True(normalized > 60, $"only {normalized} normalized candidates compared");
        }

        private static void AssertSameTrajectory(RuleProgram a, RuleProgram b)
        {
            // Normalization may remove states, so states start at zero (their real initial value) and
            // only the parameter's trajectory is compared.
            const int n = 24;
            var ta = Trajectory(a, n);
            var tb = Trajectory(b, n);
            for (int s = 0; s < ta.Count; s++)
                for (int i = 0; i < n; i++)
                    Assert.True(TestSupport.SameBits(ta[s][i], tb[s][i]), $"step {s + 1} element {i}: {ta[s][i]} vs {tb[s][i]}\n{IrText.Write(a)}\n---\n{IrText.Write(b)}");
        }

        private static System.Collections.Generic.List<float[]> Trajectory(RuleProgram p, int n)
        {
            var interpreter = new Interpreter(Planner.Plan(p));
            var rng = new SearchRandom(1234);
            var buffers = p.Buffers.Select(_ => new float[n]).ToArray();
            for (int i = 0; i < n; i++) buffers[0][i] = (float)rng.NextGaussian();
            var hypers = p.Hypers.Select(h => (float)h.Default).ToArray();
            var result = new System.Collections.Generic.List<float[]>();
            for (int t = 1; t <= 5; t++)
            {
                for (int i = 0; i < n; i++) buffers[1][i] = (float)rng.NextGaussian();
                interpreter.Step(hypers, t, ShapeInfo.Vector(n), buffers);
                result.Add((float[])buffers[0].Clone());
            }
            return result;
        }
    }
}
