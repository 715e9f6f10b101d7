using System;
using System.Linq;
using Fused.Generator.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Fused.Generator.Tests.Infrastructure.RuleSource;

namespace Fused.Generator.Tests
{
    /// <summary>
    /// The ILGPU output: present only when the compilation has ILGPU (here a stand-in declaring the few ILGPU types the
    /// kernels name, so the generated code binds without the package), leaving every other file as it was; cached like
    /// the rest; an impossible one is a FUSED017 warning, never a crash.
    /// </summary>
    public sealed class IlgpuGeneratorTests
    {
        /// <summary>The ILGPU types the generated kernels use, declared as the package declares them (enough to bind).</summary>
        private static SourceFile IlgpuStandIn => new("IlgpuStandIn.cs",
            "namespace ILGPU\n{\n" +
            "    public readonly struct Index1D { public static implicit operator int(Index1D index) => 0; public static implicit operator Index1D(int index) => default; }\n" +
            "    public readonly struct ArrayView<T> where T : unmanaged { public T this[int index] { get => default; set { } } }\n" +
            "}\n" +
            "namespace ILGPU.Runtime { public class AcceleratorStream { } }\n");

        private static readonly Lazy<GeneratorRun> CatalogWithIlgpu = new(() =>
            GeneratorHarness.Run(GeneratorHarness.Compile(GeneratorHarness.CatalogRules().Append(IlgpuStandIn).ToArray())));

        private static readonly Lazy<GeneratorRun> CatalogWithoutIlgpu = new(() =>
            GeneratorHarness.Run(GeneratorHarness.Compile(GeneratorHarness.CatalogRules().ToArray())));

        [Fact]
        public void Without_ILGPU_no_rule_gets_an_ILGPU_file()
        {
            Assert.DoesNotContain(CatalogWithoutIlgpu.Value.Sources, s => s.HintName.Contains("Ilgpu", StringComparison.Ordinal));
        }

        [Fact]
        public void With_ILGPU_every_rule_gets_one_more_file_and_the_others_are_unchanged()
        {
            var with = CatalogWithIlgpu.Value;
            var without = CatalogWithoutIlgpu.Value;
            Assert.Null(with.Result.Exception);
            Assert.Empty(with.Diagnostics);
            Assert.Equal(2 * without.Sources.Count + 1, with.Sources.Count); // and the one file that opens internals to ILGPU
            Assert.Contains("InternalsVisibleTo(\"ILGPURuntime\")", with.Source(FusedGenerator.IlgpuAccessHintName));
            foreach (var (hint, text) in without.Sources)
            {
                Assert.Equal(text, with.Source(hint));
                Assert.Contains(with.Sources, s => s.HintName == FusedGenerator.IlgpuHintName(hint));
            }
        }

        [Fact]
        public void The_ILGPU_kernels_compile()
        {
            var run = CatalogWithIlgpu.Value;
            Assert.True(run.OutputErrors.IsEmpty, GeneratorHarness.Describe(run.OutputErrors));
        }

        [Fact]
        public void AdamW_ILGPU_kernels_match_snapshot()
        {
            Snapshot.Match(CatalogWithIlgpu.Value.Source("Fused.Catalog.AdamW.Ilgpu.g.cs"), "Ilgpu.AdamW");
        }

        [Fact]
        public void Lamb_ILGPU_kernels_match_snapshot()
        {
            // Two reductions stored as operands, a temporary carried to the next pass, a boolean uniform.
            Snapshot.Match(CatalogWithIlgpu.Value.Source("Fused.Catalog.Lamb.Ilgpu.g.cs"), "Ilgpu.Lamb");
        }

        [Fact]
        public void Adafactor_row_wise_ILGPU_kernels_match_snapshot()
        {
            // Per-row values packed in rowValues, column values indexed by column, ColSum operands, the row and column of a thread.
            Snapshot.Match(CatalogWithIlgpu.Value.Source("Fused.Catalog.Adafactor.Ilgpu.g.cs"), "Ilgpu.Adafactor");
        }

        [Fact]
        public void A_rule_class_named_Ilgpu_gets_no_ILGPU_kernels_and_a_warning()
        {
            var run = GeneratorHarness.Run(GeneratorHarness.Compile(new SourceFile("Ilgpu.cs", Rule("param -= lr * grad;", className: "Ilgpu")), IlgpuStandIn));
            Assert.Null(run.Result.Exception);
            var d = Assert.Single(run.Diagnostics);
            Assert.Equal("FUSED017", d.Id);
            Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
            Assert.Contains("Ilgpu", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(2, run.Sources.Count); // its C# kernels as always, and the access file
            Assert.True(run.OutputErrors.IsEmpty, GeneratorHarness.Describe(run.OutputErrors));
        }

        [Fact]
        public void An_unrelated_edit_leaves_the_detection_and_the_ILGPU_files_cached()
        {
            var compilation = GeneratorHarness.Compile(new SourceFile("RuleA.cs", Rule("param -= lr * grad;", className: "RuleA")), IlgpuStandIn);
            var first = GeneratorHarness.Run(compilation);
            var edited = compilation.AddSyntaxTrees(GeneratorHarness.Parse(new SourceFile("Other.cs",
                "namespace Fused.Tests { public static class Helpers { public static float Twice(float x) => 2 * x; } }")));
            var second = GeneratorHarness.Run(edited, first.Driver);
            foreach (var step in new[] { TrackingNames.UsesIlgpu, TrackingNames.IlgpuSpecs })
            {
                var reasons = second.Result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
                Assert.NotEmpty(reasons);
                Assert.True(reasons.All(r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged), step + ": " + string.Join(", ", reasons));
            }
            var outputs = second.Result.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs).ToList();
            Assert.True(outputs.All(o => o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged), string.Join(", ", outputs.Select(o => o.Reason)));
            Assert.Equal(first.Sources, second.Sources);
            Assert.Contains(second.Sources, s => s.HintName == "Fused.Tests.RuleA.Ilgpu.g.cs");
        }
    }
}
