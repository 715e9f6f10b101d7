using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Packaging.Tests
{
    /// <summary>
    /// README's C# blocks compiled against the packed Fused and Fused.Testing packages, in one fresh library project (so
    /// blocks may use each other's types, as a reader would put them in one project). Implicit usings are off: a block
    /// must bring its own. A block is a whole file unless an HTML comment on the line before it says otherwise:
    /// <c>&lt;!-- doc-test: statements(int n, float[] param) --&gt;</c> compiles it as a method body with those parameters
    /// (its leading <c>using X;</c> lines stay file usings; more usings may follow the parameter list, separated by ';'),
    /// <c>&lt;!-- doc-test: skip - reason --&gt;</c> does not compile it and must say why.
    /// </summary>
    [Collection(PackageCollection.Name)]
    public sealed class ReadmeTests
    {
        private static readonly Regex Marker = new(@"^<!--\s*doc-test:\s*(?<kind>statements|skip)(?<rest>.*?)\s*-->\s*$");

        private readonly PackageFixture _package;
        private readonly ITestOutputHelper _log;

        public ReadmeTests(PackageFixture package, ITestOutputHelper log)
        {
            _package = package;
            _log = log;
        }

        /// <summary>One ```csharp block: the README line its code starts on, how it is compiled, its text.</summary>
        public sealed record Block(int Line, string Kind, string Argument, string Code);

        public static IReadOnlyList<Block> Blocks(string readme)
        {
            var lines = readme.Replace("\r\n", "\n").Split('\n');
            var blocks = new List<Block>();
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != "```csharp") continue;
                int previous = i - 1;
                while (previous >= 0 && lines[previous].Trim().Length == 0) previous--;
                var marker = previous >= 0 ? Marker.Match(lines[previous].Trim()) : Match.Empty;
                int end = i + 1;
                while (end < lines.Length && lines[end].Trim() != "```") end++;
                if (end == lines.Length) throw new InvalidOperationException($"README line {i + 1}: the ```csharp block is never closed");
                string code = string.Join("\n", lines.Skip(i + 1).Take(end - i - 1));
                blocks.Add(marker.Success
                    ? new Block(i + 2, marker.Groups["kind"].Value, marker.Groups["rest"].Value.Trim(), code)
                    : new Block(i + 2, "file", "", code));
                i = end;
            }
            return blocks;
        }

        [Fact]
        public void Every_csharp_block_is_compiled_or_skipped_with_a_reason()
        {
            var blocks = Blocks(File.ReadAllText(Path.Combine(DotNet.RepositoryRoot(), "README.md")));
            Assert.True(blocks.Count >= 5, $"found only {blocks.Count} C# blocks in README.md");
            foreach (var b in blocks.Where(b => b.Kind == "skip"))
                Assert.True(Regex.IsMatch(b.Argument, @"^[-—:]\s*\S.{9,}"), $"README line {b.Line}: a skipped block needs a reason ('<!-- doc-test: skip - why -->'), got '{b.Argument}'");
            Assert.True(blocks.Count(b => b.Kind != "skip") > blocks.Count / 2, "most README blocks must compile");
        }

        [Fact]
        public void README_blocks_compile_against_the_packed_packages()
        {
            var blocks = Blocks(File.ReadAllText(Path.Combine(DotNet.RepositoryRoot(), "README.md")));
            string work = Directory.CreateDirectory(Path.Combine(_package.Root, "readme")).FullName;
            string packages = Directory.CreateDirectory(Path.Combine(_package.Root, "readme-packages")).FullName;
            string project = Path.Combine(work, "ReadmeBlocks");
            File.WriteAllText(Path.Combine(work, "nuget.config"), ConsumerProjectTests.NuGetConfig(_package.Feed, packages, ConsumerProjectTests.MachineSources(work)));
            var env = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = packages };

            Log(DotNet.Check(work, new[] { "new", "classlib", "-n", "ReadmeBlocks", "-o", project, "--framework", "net10.0", "--no-restore" }, env));
            File.Delete(Path.Combine(project, "Class1.cs"));
            Log(DotNet.Check(project, new[] { "add", "package", "Fused", "--version", PackageFixture.Version }, env));
            Log(DotNet.Check(project, new[] { "add", "package", "Fused.Testing", "--version", PackageFixture.Version }, env));
            foreach (var block in blocks.Where(b => b.Kind != "skip"))
                File.WriteAllText(Path.Combine(project, $"ReadmeLine{block.Line}.cs"), Source(block));

            var build = Log(DotNet.Run(project, new[] { "build", "-c", "Release", "-nodeReuse:false", "-p:UseSharedCompilation=false", "-p:ImplicitUsings=disable" }, env));
            var errors = build.Output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal)).Distinct().ToList();
            Assert.True(build.ExitCode == 0 && errors.Count == 0,
                "README blocks do not compile (ReadmeLineN.cs holds the block whose code starts on README line N):\n" +
                string.Join("\n", errors.DefaultIfEmpty(build.Output)));
            Assert.DoesNotMatch(new Regex(@"warning FUSED\d+"), build.Output);
        }

        /// <summary>The compiled form of a block: as is, or wrapped in a method with the marker's parameters.</summary>
        public static string Source(Block block)
        {
            if (block.Kind == "file") return block.Code + "\n";
            var argument = Regex.Match(block.Argument, @"^\((?<parameters>[^)]*)\)\s*;?\s*(?<usings>.*)$");
            if (!argument.Success) throw new InvalidOperationException($"README line {block.Line}: write statements(type name, ...), got '{block.Argument}'");
            var usings = new StringBuilder();
            foreach (var u in argument.Groups["usings"].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                usings.Append(u).Append(";\n");
            var lines = block.Code.Split('\n');
            int k = 0;
            while (k < lines.Length && Regex.IsMatch(lines[k], @"^using (static )?[A-Za-z_][\w.]*\s*;")) usings.Append(lines[k++]).Append('\n');
            return usings + $"\ninternal static class ReadmeLine{block.Line}\n{{\n    internal static void Run({argument.Groups["parameters"].Value})\n    {{\n" +
                   string.Join("\n", lines.Skip(k)) + "\n    }\n}\n";
        }

        private ProcessResult Log(ProcessResult result)
        {
            _log.WriteLine($"{result.CommandLine}: exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F1} s");
            return result;
        }
    }
}
