using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fused.Generator.Tests.Infrastructure;
using Xunit;

namespace Fused.Generator.Tests
{
    /// <summary>The generated file of every catalog rule, against a reviewed snapshot.</summary>
    public sealed class CatalogSnapshotTests
    {
        // One generator run over the whole catalog, shared by every case (each rule is one file).
        private static readonly Lazy<GeneratorRun> CatalogRun = new(() => GeneratorHarness.Run(GeneratorHarness.Compile(GeneratorHarness.CatalogRules().ToArray())));

        public static IEnumerable<object[]> RuleFiles() =>
            GeneratorHarness.CatalogRules().Select(f => new object[] { Path.GetFileNameWithoutExtension(f.Path) });

        [Theory]
        [MemberData(nameof(RuleFiles))]
        public void Generated_file_matches_snapshot(string rule)
        {
            var run = CatalogRun.Value;
            var generated = run.Sources.Where(s => s.HintName == $"Fused.Catalog.{rule}.g.cs").ToList();
            Assert.True(generated.Count == 1, $"expected one generated file for {rule}; got: {string.Join(", ", run.Sources.Select(s => s.HintName))}");
            Snapshot.Match(generated[0].Text, "Catalog." + rule);
        }

        [Fact]
        public void Catalog_generates_one_file_per_rule_without_diagnostics()
        {
            var run = CatalogRun.Value;
            Assert.Null(run.Result.Exception);
            Assert.Empty(run.Diagnostics);
            Assert.Equal(GeneratorHarness.CatalogRules().Count, run.Sources.Count);
        }

        [Fact]
        public void Catalog_with_generated_code_compiles_without_errors()
        {
            var run = CatalogRun.Value;
            Assert.True(run.OutputErrors.IsEmpty, GeneratorHarness.Describe(run.OutputErrors));
        }

        [Fact]
        public void Every_catalog_rule_has_a_snapshot_and_no_snapshot_is_orphaned()
        {
            var rules = GeneratorHarness.CatalogRules().Select(f => "Catalog." + Path.GetFileNameWithoutExtension(f.Path)).ToHashSet();
            var snapshots = Directory.Exists(TestPaths.SnapshotDirectory)
                ? Directory.GetFiles(TestPaths.SnapshotDirectory, "Catalog.*.verified.cs").Select(p => Path.GetFileName(p).Replace(".verified.cs", "")).ToHashSet()
                : new HashSet<string>();
            if (Snapshot.Accepting) return; // the theory above is writing them right now
            Assert.Empty(snapshots.Except(rules));
        }

        [Fact]
        public void Generation_is_deterministic_across_fresh_runs()
        {
            var first = GeneratorHarness.Run(GeneratorHarness.Compile(GeneratorHarness.CatalogRules().ToArray()), trackSteps: false);
            var second = GeneratorHarness.Run(GeneratorHarness.Compile(GeneratorHarness.CatalogRules().Reverse().ToArray()), trackSteps: false);
            var a = first.Sources.OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();
            var b = second.Sources.OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();
            Assert.Equal(a.Select(s => s.HintName), b.Select(s => s.HintName));
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Text, b[i].Text);
        }
    }
}
