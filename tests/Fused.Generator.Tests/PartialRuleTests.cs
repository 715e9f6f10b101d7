using System.Linq;
using Fused.Generator.Tests.Infrastructure;
using Xunit;

namespace Fused.Generator.Tests
{
    /// <summary>
    /// A rule class is partial: its [Optimizer] declaration, its Update and its helpers may sit in different files. The
    /// generator reads Update through the symbol, so the kernels are the same as from one file, and diagnostics inside
    /// Update point into the file that holds it.
    /// </summary>
    public sealed class PartialRuleTests
    {
        private const string Declaration = "using Fused;\nnamespace Split\n{\n    [Optimizer(Name = \"Split momentum\")]\n    public static partial class SplitMomentum\n    {\n    }\n}\n";

        private const string UpdateBody =
            "        static void Update(ref float param, float grad, [State] ref float m, [Hyper(0.01)] float lr, [Hyper(0.9)] float beta)\n" +
            "        {\n            m = beta * m + grad;\n            param -= lr * m;\n        }\n";

        private const string UpdateFile = "using Fused;\nnamespace Split\n{\n    public static partial class SplitMomentum\n    {\n" + UpdateBody + "    }\n}\n";

        private const string OneFile = "using Fused;\nnamespace Split\n{\n    [Optimizer(Name = \"Split momentum\")]\n    public static partial class SplitMomentum\n    {\n" + UpdateBody + "    }\n}\n";

        [Fact]
        public void Update_in_another_file_generates_the_same_kernels_as_one_file()
        {
            var split = GeneratorHarness.Run(GeneratorHarness.Compile(new SourceFile("Rule.cs", Declaration), new SourceFile("Update.cs", UpdateFile)));
            var whole = GeneratorHarness.Run(GeneratorHarness.Compile(new SourceFile("Update.cs", OneFile)));
            Assert.True(split.Diagnostics.IsEmpty, GeneratorHarness.Describe(split.Diagnostics));
            Assert.True(split.OutputErrors.IsEmpty, GeneratorHarness.Describe(split.OutputErrors));
            Assert.True(whole.Diagnostics.IsEmpty, GeneratorHarness.Describe(whole.Diagnostics));
            var splitSource = split.Sources.Single(s => s.HintName == "Split.SplitMomentum.g.cs").Text;
            var wholeSource = whole.Sources.Single(s => s.HintName == "Split.SplitMomentum.g.cs").Text;
            Assert.Contains("m = beta * m + grad", splitSource); // the comments quote the DSL lines from Update.cs
            // Line numbers of the quoted DSL lines differ by the files' layouts only; the code is the same.
            Assert.Equal(Code(wholeSource), Code(splitSource));
        }

        [Fact]
        public void Editing_only_the_file_that_holds_Update_regenerates_the_rule()
        {
            var compilation = GeneratorHarness.Compile(new SourceFile("Rule.cs", Declaration), new SourceFile("Update.cs", UpdateFile));
            var first = GeneratorHarness.Run(compilation);
            var oldTree = compilation.SyntaxTrees.Single(t => t.FilePath == "Update.cs");
            var newTree = GeneratorHarness.Parse(new SourceFile("Update.cs", UpdateFile.Replace("param -= lr * m;", "param -= lr * (m + grad);")));
            var second = GeneratorHarness.Run(compilation.ReplaceSyntaxTree(oldTree, newTree), first.Driver);
            Assert.True(second.Diagnostics.IsEmpty, GeneratorHarness.Describe(second.Diagnostics));
            Assert.DoesNotContain("lr * (m + grad)", first.Source("Split.SplitMomentum.g.cs"));
            Assert.Contains("lr * (m + grad)", second.Source("Split.SplitMomentum.g.cs"));
        }

        [Fact]
        public void A_diagnostic_inside_Update_points_into_the_file_that_holds_it()
        {
            string badUpdate = UpdateFile.Replace("param -= lr * m;", "param -= lr * System.Math.Tanh(m);");
            var split = GeneratorHarness.Run(GeneratorHarness.Compile(new SourceFile("Rule.cs", Declaration), new SourceFile("Update.cs", badUpdate)));
            var error = Assert.Single(split.Diagnostics);
            Assert.Equal("Update.cs", error.Location.GetLineSpan().Path);
            var tree = split.Input.SyntaxTrees.Single(t => t.FilePath == "Update.cs");
            Assert.Contains("Tanh", tree.GetText().ToString(error.Location.SourceSpan));
        }

        private static string[] Code(string generated) =>
            generated.Split('\n').Select(l => { int c = l.IndexOf("//", System.StringComparison.Ordinal); return c < 0 ? l : l.Substring(0, c); })
                .Where(l => l.Trim().Length > 0).ToArray();
    }
}
