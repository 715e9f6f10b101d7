using Fused.Generator.Tests.Infrastructure;
using Xunit;
using static Fused.Generator.Tests.Infrastructure.RuleSource;

namespace Fused.Generator.Tests
{
    /// <summary>
    /// The full diagnostic output (ID, severity, span, message) for a few broken rules, as a reviewer
    /// reads it: one snapshot per rule, so message wording changes show up in review.
    /// </summary>
    public sealed class DiagnosticSnapshotTests
    {
        private static void MatchDiagnostics(string source, string name)
        {
            var run = GeneratorHarness.Run(source, name + ".cs");
            Assert.Null(run.Result.Exception);
            Assert.Empty(run.Sources);
            Snapshot.Match("// Diagnostics of " + name + ".cs\n" + GeneratorHarness.Describe(run.Diagnostics), "Diagnostics." + name);
        }

        [Fact]
        public void Body_with_several_unsupported_constructs() => MatchDiagnostics(Rule(
            "if (grad > 0f) param -= grad;\n" +
            "var a = new float[1];\n" +
            "var b = (float)Math.Sqrt(grad);\n" +
            "var c = grad % 2f;\n" +
            "lr = 1f;\n" +
            "param -= lr * Sqrt(grad) + Log(a[0]);"), "BrokenBody");

        [Fact]
        public void Wrong_parameters() => MatchDiagnostics(Rule(
            "param -= lr * grad;",
            "ref double param, float grad, [State] float s, [Hyper] float lr, [Hyper(1)] int n, float extra, [Step] string t"), "WrongParameters");

        [Fact]
        public void States_read_but_never_written_and_parameter_never_updated() => MatchDiagnostics(Rule(
            "var x = m * v + grad;\nw = x;",
            "ref float param, float grad, [State] ref float m, [State] ref float v, [State] ref float w, [State] ref float unused"), "StateMisuse");

        [Fact]
        public void Class_shape_errors() => MatchDiagnostics(
            "using Fused;\n\n[Optimizer]\npublic class NotStaticNorPartial<T>\n{\n    static void Update(ref float param, float grad) { param -= grad; }\n}\n\n" +
            "[Optimizer(Name = \"No update\")]\npublic static partial class NoUpdate\n{\n}\n", "ClassShape");
    }
}
