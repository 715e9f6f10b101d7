using System.Linq;
using System.Text.RegularExpressions;
using Fused.Generator.Tests.Infrastructure;
using Xunit;
using static Fused.Generator.Tests.Infrastructure.RuleSource;

namespace Fused.Generator.Tests
{
    /// <summary>Spellings of the same rule that must lower to the same IR.</summary>
    public sealed class LoweringTests
    {
        /// <summary>The embedded IR program of the only generated file, without its statement source lines.</summary>
        private static string IrOf(string body)
        {
            var run = GeneratorHarness.Run(Rule(body));
            Assert.True(run.Diagnostics.IsEmpty, GeneratorHarness.Describe(run.Diagnostics));
            var text = run.Sources.Single().Text;
            var ir = Regex.Match(text, "IrText = @\"(.*?)\";", RegexOptions.Singleline).Groups[1].Value;
            return string.Join("\n", ir.Split('\n').Where(l => !l.StartsWith("stmt ")));
        }

        [Fact]
        public void Named_intrinsic_arguments_bind_by_name_not_by_position() =>
            Assert.Equal(IrOf("param -= lr * Clamp(grad, -1f, 1f);"), IrOf("param -= lr * Clamp(hi: 1f, x: grad, lo: -1f);"));

        [Fact]
        public void Named_arguments_of_Where_bind_by_name() =>
            Assert.Equal(IrOf("param -= lr * Where(grad > 0f, grad, 0f);"), IrOf("param -= lr * Where(b: 0f, condition: grad > 0f, a: grad);"));

        [Fact]
        public void Compound_assignment_equals_the_spelled_out_assignment() =>
            Assert.Equal(IrOf("param = param - lr * grad;"), IrOf("param -= lr * grad;"));
    }
}
