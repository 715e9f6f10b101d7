using System;
using System.IO;
using System.Linq;
using Fused.Ir;
using Fused.Search.Export;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>The recorded runs' programs (Runtime/Fused.Search/Runs) are valid IR, and the winner's file is the rule EXPERIMENTS.md shows.</summary>
    public class RecordedRunsTests
    {
        private static string Root()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Fused.sln"))) return dir.FullName;
            throw new InvalidOperationException($"no Fused.sln above {AppContext.BaseDirectory}");
        }

        private static string Runs => Path.Combine(Root(), "Runtime", "Fused.Search", "Runs");

        [Fact]
        public void Every_recorded_program_parses_and_verifies()
        {
            var files = Directory.GetFiles(Runs, "*.ir");
            Assert.True(files.Length >= 6, $"{files.Length} programs in {Runs}");
            foreach (var file in files)
            {
                var program = IrText.Parse(File.ReadAllText(file));
                Verifier.ThrowIfInvalid(program);
                Assert.Contains(program.Buffers, b => b.Role == BufferRole.Param);
            }
        }

        [Theory]
        [InlineData("The winner as the search exports it:", "run8-found635.ir")]
        [InlineData("The winner as run 10 exports it:", "run10-found166.ir")]
        public void A_recorded_winner_exports_to_the_rule_in_the_record(string caption, string file)
        {
            string record = File.ReadAllText(Path.Combine(Root(), "Runtime", "Fused.Search", "EXPERIMENTS.md"));
            int start = record.IndexOf(caption, StringComparison.Ordinal);
            Assert.True(start >= 0, $"'{caption}' is missing from EXPERIMENTS.md");
            int open = record.IndexOf("```csharp\n", start, StringComparison.Ordinal) + "```csharp\n".Length;
            string shown = record.Substring(open, record.IndexOf("```", open, StringComparison.Ordinal) - open);
            string exported = RuleExporter.ToCSharp(IrText.Parse(File.ReadAllText(Path.Combine(Runs, file))), "FoundRule");
            static string[] Lines(string text) => text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            var body = Lines(shown);
            // The record shows the Update method; the export wraps it in a class.
            int at = Array.IndexOf(Lines(exported), body[0]);
            Assert.True(at >= 0, "the record's Update signature is not the export's:\n" + exported);
            Assert.Equal(body, Lines(exported).Skip(at).Take(body.Length).ToArray());
        }
    }
}
