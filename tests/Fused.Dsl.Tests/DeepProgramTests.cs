using System;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Ir.Passes;
using Xunit;
using static Fused.Dsl.Tests.Programs;

namespace Fused.Dsl.Tests
{
    /// <summary>
    /// Programs as deep as a 50,000-term sum, run on a thread with a 256 KB stack: any pass that recurses per level of
    /// nesting overflows it (and kills the test run) instead of passing on a large default stack.
    /// </summary>
    public sealed class DeepProgramTests
    {
        private const int Depth = 50_000;

        private static void OnSmallStack(Action test)
        {
            Exception? failure = null;
            var thread = new Thread(() => { try { test(); } catch (Exception e) { failure = e; } }, maxStackSize: 256 * 1024);
            thread.Start();
            thread.Join();
            if (failure is not null) throw new Xunit.Sdk.XunitException("failed on the small stack: " + failure);
        }

        /// <summary>grad - lr - grad - lr - ... nested to the left, as C# parses it (Sub: the builder keeps the order).</summary>
        private static Node Chain(IrBuilder b, int terms, Node? last = null)
        {
            Node sum = b.Load(1);
            for (int k = 1; k < terms; k++) sum = b.Sub(sum, k == terms - 1 && last is not null ? last : k % 2 == 0 ? b.Load(1) : b.Hyper(0));
            return sum;
        }

        [Fact]
        public void A_deep_program_prints_without_recursion_and_is_cut_at_the_display_limit() => OnSmallStack(() =>
        {
            var b = new IrBuilder();
            string text = Chain(b, Depth).ToString();
            // Prefix form of a left-nested chain: Depth-1 "Sub(" openings, then the innermost operand b1.
            Assert.StartsWith("Sub(Sub(Sub(", text);
            Assert.EndsWith("...", text);
            Assert.Equal(Node.MaxDisplayLength + 3, text.Length);
            // A small program prints whole, operands in order.
            Assert.Equal("Sub(Mul(h0, b1), 2)", b.Sub(b.Mul(b.Hyper(0), b.Load(1)), b.Const(2f)).ToString());
        });

        [Fact]
        public void A_dag_whose_text_would_grow_exponentially_prints_a_bounded_prefix()
        {
            var b = new IrBuilder();
            Node x = b.Load(1);
            for (int k = 0; k < 60; k++) x = b.Add(x, x); // 60 nodes, 2^60 leaves as text
            string text = x.ToString();
            Assert.Equal(Node.MaxDisplayLength + 3, text.Length);
            Assert.StartsWith("Add(Add(", text);
        }

        [Fact]
        public void Deep_programs_from_two_builders_compare_by_value() => OnSmallStack(() =>
        {
            var a = Chain(new IrBuilder(), Depth);
            var b = Chain(new IrBuilder(), Depth);
            var c = Chain(new IrBuilder(), Depth, last: new IrBuilder().Const(2f));
            Assert.NotSame(a, b);
            Assert.True(a.Equals(b));
            Assert.False(a.Equals(c));
        });

        /// <summary>x ← x + x, sixty times: 2^60 paths. Without comparing each pair of nodes once, this never returns.</summary>
        [Fact]
        public void Shared_subtrees_are_compared_once()
        {
            Node Doubling(IrBuilder b, float seed)
            {
                var x = b.Add(b.Load(1), b.Const(seed));
                for (int k = 0; k < 60; k++) x = b.Mul(x, b.Add(x, x));
                return x;
            }
            Assert.True(Doubling(new IrBuilder(), 1f).Equals(Doubling(new IrBuilder(), 1f)));
            Assert.False(Doubling(new IrBuilder(), 1f).Equals(Doubling(new IrBuilder(), 3f)));
        }

        [Fact]
        public void A_deep_node_from_another_builder_is_adopted() => OnSmallStack(() =>
        {
            var foreign = Chain(new IrBuilder(), Depth);
            var b = new IrBuilder();
            var adopted = b.Import(foreign);
            Assert.Equal(Depth - 1, adopted.Depth);
            Assert.Same(adopted, b.Import(Chain(new IrBuilder(), Depth))); // one object per value in its builder
        });

        [Fact]
        public void A_deep_expression_prints_in_full() => OnSmallStack(() =>
        {
            var b = new IrBuilder();
            var p = Make("deep", new string[0], new[] { ("lr", 0.1) }, new[] { Out(0, b.Sub(b.Load(0), Chain(b, Depth))) });
            string expected = string.Join(" - ", Enumerable.Range(0, Depth).Select(k => k % 2 == 0 ? "grad" : "lr"));
            Assert.Equal(expected, NodePrinter.Print(Chain(b, Depth), p));
            Assert.Equal("param - (" + expected + ")", NodePrinter.Print(p.Outputs[0].Value, p));
        });

        /// <summary>v' = v + g·g + g·g + ... is non-negative (a state plus squares); one −g term more and it is not.</summary>
        [Fact]
        public void Sign_analysis_of_a_deep_state_update() => OnSmallStack(() =>
        {
            RuleProgram Program(bool withNegativeTerm)
            {
                var b = new IrBuilder();
                Node g = b.Load(1), v = b.Load(2);
                Node sum = v;
                for (int k = 0; k < Depth; k++) sum = b.Add(sum, k == Depth / 2 && withNegativeTerm ? b.Neg(g) : b.Mul(g, g));
                return Make("deep", new[] { "v" }, new[] { ("lr", 0.1) },
                    new[] { Out(0, b.Sub(b.Load(0), b.Mul(b.Hyper(0), b.Make(Op.Sqrt, sum)))), Out(2, sum) });
            }
            var plain = Program(false);
            Assert.True(new SignAnalysis(plain).IsNonNegative(plain.Outputs[1].Value));
            var negative = Program(true);
            Assert.False(new SignAnalysis(negative).IsNonNegative(negative.Outputs[1].Value));
        });

        [Fact]
        public void Simplifier_and_verifier_take_a_deep_program() => OnSmallStack(() =>
        {
            var b = new IrBuilder();
            var sum = Chain(b, Depth);
            var p = Make("deep", new string[0], new[] { ("lr", 0.1) }, new[] { Out(0, b.Sub(b.Load(0), b.Div(sum, b.Const(1f)))) });
            var simplified = Simplifier.Run(p);
            Assert.Empty(Verifier.Check(simplified));
            Assert.True(simplified.Outputs[0].Value.Equals(b.Sub(b.Load(0), sum))); // the division by 1 is gone
        });
    }
}
