using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Passes;
using Fused.Search.Mutation;
using Xunit;

namespace Fused.Search.Tests
{
    public class MutationTests
    {
        [Fact]
        public void Thousands_of_mutations_all_yield_valid_plannable_protected_programs()
        {
            var mutator = new ProgramMutator();
            var rng = new SearchRandom(2024);
            var kinds = new Dictionary<string, int>();
            int total = 0, maxStates = 0;
            foreach (var start in new[] { WarmStarts.AdamW(), WarmStarts.Lion() })
            {
                var p = ProgramNormalizer.Run(start);
                for (int i = 0; i < 1500; i++)
                {
                    var child = mutator.Mutate(p, rng.Fork());
                    var c = child.Program;
                    Assert.Null(ProgramValidity.Check(c, mutator.Limits));
                    Assert.Empty(Verifier.Check(c));
                    Planner.Plan(c);
                    Assert.NotEqual(ProgramIdentity.Structure(p), ProgramIdentity.Structure(c));
                    // Guarded ops are provably safe, so the generator's FUSED008 check would pass.
                    var signs = new SignAnalysis(c);
                    foreach (var n in c.Nodes().Where(ProgramNormalizer.IsGuarded)) Assert.True(signs.IsNonNegative(n[0]), IrText.Write(c));
                    // Normalization is idempotent: the stored form is a fixed point.
                    Assert.Equal(IrText.Write(c), IrText.Write(ProgramNormalizer.Run(c)));
                    string kind = child.Description.Split(' ')[0];
                    kinds[kind] = kinds.TryGetValue(kind, out var k) ? k + 1 : 1;
                    maxStates = Math.Max(maxStates, c.StateCount);
                    total++;
                    // A random walk with occasional returns, so programs both grow and stay near the start.
                    p = rng.Chance(0.05) ? ProgramNormalizer.Run(start) : c;
                }
            }
            Assert.Equal(3000, total);
            foreach (var kind in new[] { "insert", "delete", "swap", "perturb", "change", "add", "remove" })
                Assert.True(kinds.ContainsKey(kind), $"no '{kind}' mutation in {string.Join(", ", kinds)}");
            Assert.True(maxStates >= 3, "states never grew to 3");
        }

        [Fact]
        public void Invalid_programs_are_rejected()
        {
            var b = new IrBuilder();
            var adam = ProgramNormalizer.Run(WarmStarts.AdamW());
            // Sqrt of a value that may be negative.
            var bad = Mutation.ProgramEdits.SetOutput(adam, 0, b.Sub(b.Load(0), b.Make(Op.Sqrt, b.Load(1))));
            Assert.NotNull(ProgramValidity.Check(Simplifier.Run(bad), SearchLimits.Default));
            // ...which normalization repairs by protecting the argument.
            Assert.Null(ProgramValidity.Check(ProgramNormalizer.Run(bad), SearchLimits.Default));
            Assert.Contains(ProgramNormalizer.Run(bad).Nodes(), n => n.Op == Op.Sqrt && n[0].Op == Op.Abs);
            // An update that ignores the gradient.
            var blind = Mutation.ProgramEdits.SetOutput(adam, 0, b.Mul(b.Load(0), b.Const(0.5f)));
            Assert.NotNull(ProgramValidity.Check(ProgramNormalizer.Run(blind), SearchLimits.Default));
        }

        [Fact]
        public void Normalization_prunes_states_the_parameter_never_sees()
        {
            var b = new IrBuilder();
            var lion = ProgramNormalizer.Run(WarmStarts.Lion());
            var withDead = Mutation.ProgramEdits.AddState(lion, out int k);
            withDead = Mutation.ProgramEdits.SetOutput(withDead, k, b.Add(b.Load(k), b.Load(1)));
            Assert.Equal(2, withDead.StateCount);
            var normalized = ProgramNormalizer.Run(withDead);
            Assert.Equal(1, normalized.StateCount);
            Assert.Equal(StructuralHash.Compute(lion), StructuralHash.Compute(normalized));
        }
    }
}
