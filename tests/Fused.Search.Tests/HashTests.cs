using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;
using Xunit;

namespace Fused.Search.Tests
{
    public class HashTests
    {
        private static ulong Functional(RuleProgram p) => FunctionalHash.Compute(new InterpretedRule(p));

        /// <summary>Lion written another way: operands swapped, a dead local, renamed buffers, x·1 and a dead state.</summary>
        private static RuleProgram LionRewritten()
        {
            var b = new IrBuilder();
            var lion = WarmStarts.Lion();
            // buffers: 0 param, 1 grad, 2 momentum; hypers: 0 lr, 1 beta1, 2 beta2, 3 weightDecay
            Node g = b.Load(1), m = b.Load(2), one = b.Const(1f);
            var update = b.Make(Op.Sign, b.Add(b.Mul(g, b.Sub(one, b.Hyper(1))), b.Mul(m, b.Hyper(1))));
            var param = b.Sub(b.Load(0), b.Mul(b.Add(update, b.Mul(b.Load(0), b.Hyper(3))), b.Mul(b.Hyper(0), one)));
            var momentum = b.Add(b.Mul(b.Sub(one, b.Hyper(2)), g), b.Mul(m, b.Hyper(2)));
            var renamed = lion with
            {
                Name = "Other",
                Buffers = new[] { new BufferDecl("w", BufferRole.Param), new BufferDecl("dw", BufferRole.Grad), new BufferDecl("ema", BufferRole.State), new BufferDecl("unused", BufferRole.State) }.ToEquatableArray(),
            };
            return renamed.WithOutputs(new[] { new Output(0, param), new Output(2, momentum), new Output(3, b.Add(b.Load(3), g)) },
                new[] { new Statement("dead", -1, b.Make(Op.Exp, g), "var dead = Exp(grad);") });
        }

        [Fact]
        public void Equal_programs_written_differently_hash_equal()
        {
            var lion = ProgramNormalizer.Run(WarmStarts.Lion());
            var other = ProgramNormalizer.Run(LionRewritten());
            Assert.Equal(StructuralHash.Compute(lion), StructuralHash.Compute(other));
            Assert.Equal(Functional(lion), Functional(other));
        }

        [Fact]
        public void Functionally_equal_but_structurally_different_programs_share_the_functional_hash_only()
        {
            var b = new IrBuilder();
            var lion = ProgramNormalizer.Run(WarmStarts.Lion());
            // lr·2·(u + wd·p) instead of lr·(u + wd·p) + lr·(u + wd·p): same values, another DAG.
            var param = lion.OutputOf(0)!;
            var step = param[1];
            var doubledA = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(lion, 0, b.Sub(b.Load(0), b.Mul(step, b.Const(2f)))));
            var doubledB = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(lion, 0, b.Sub(b.Load(0), b.Add(step, step))));
            Assert.NotEqual(StructuralHash.Compute(doubledA), StructuralHash.Compute(doubledB));
            Assert.Equal(Functional(doubledA), Functional(doubledB));
            // Twice Lion's update is a rescaling the tuned lr absorbs: the same function to the search.
            Assert.Equal(Functional(lion), Functional(doubledA));
        }

        [Theory]
        [InlineData(0.25f)]
        [InlineData(4f)]
        [InlineData(32f)]
        public void Rescaling_the_whole_update_by_a_power_of_two_keeps_the_functional_hash_and_negating_it_does_not(float c)
        {
            var b = new IrBuilder();
            foreach (var rule in new[] { WarmStarts.AdamW(), WarmStarts.Lion() })
            {
                var p = ProgramNormalizer.Run(rule);
                var param = p.OutputOf(0)!; // Sub(param, update)
                var scaled = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(p, 0, b.Sub(b.Load(0), b.Mul(b.Const(c), param[1]))));
                var negated = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(p, 0, b.Sub(b.Load(0), b.Mul(b.Const(-c), param[1]))));
                var plusGradient = ProgramNormalizer.Run(Mutation.ProgramEdits.SetOutput(p, 0, b.Sub(b.Load(0), b.Add(param[1], b.Mul(b.Const(c), b.Load(1))))));
                Assert.Equal(Functional(p), Functional(scaled));
                Assert.NotEqual(Functional(p), Functional(negated));
                Assert.NotEqual(Functional(p), Functional(plusGradient));
            }
        }

        [Fact]
        public void Different_programs_hash_differently()
        {
            var adam = ProgramNormalizer.Run(WarmStarts.AdamW());
            var lion = ProgramNormalizer.Run(WarmStarts.Lion());
            Assert.NotEqual(Functional(adam), Functional(lion));
            Assert.NotEqual(StructuralHash.Compute(adam), StructuralHash.Compute(lion));
            // Across a corpus of mutants: equal structure implies equal behaviour, and most mutants behave differently.
            var programs = TestSupport.MutatedPrograms(300, 77);
            foreach (var group in programs.GroupBy(p => Mutation.ProgramIdentity.Structure(p)))
                Assert.Single(group.Select(Functional).Distinct());
            var byFunction = programs.GroupBy(Functional).ToList();
            var structural = programs.Select(p => Mutation.ProgramIdentity.Structure(p)).Distinct().Count();
            Assert.True(byFunction.Count > structural / 3, $"{byFunction.Count} behaviours among {structural} structures");
            Assert.True(byFunction.Count <= structural);
        }

        [Fact]
        public void Warm_starts_are_the_catalog_rules()
        {
            Assert.Equal(Fused.Catalog.AdamW.IrText, WarmStarts.AdamWText);
            Assert.Equal(Fused.Catalog.Lion.IrText, WarmStarts.LionText);
        }
    }
}
