using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Fused.Ir;
using Fused.Ir.Passes;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Export;
using Fused.Search.Mutation;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>Exported rules go through the real generator and compiler; their kernels match the search's evaluation.</summary>
    public class ExportTests
    {
        private static (Assembly assembly, IReadOnlyList<Diagnostic> diagnostics) Compile(IEnumerable<string> sources)
        {
            var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
            var references = trusted.Select(p => MetadataReference.CreateFromFile(p)).Cast<MetadataReference>().ToList();
            references.Add(MetadataReference.CreateFromFile(typeof(Node).Assembly.Location));
            references.Add(MetadataReference.CreateFromFile(typeof(FusedRule).Assembly.Location));
            var parse = new CSharpParseOptions(LanguageVersion.Latest);
            var compilation = CSharpCompilation.Create("Exported" + Guid.NewGuid().ToString("N"),
                sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, parse, path: $"Rule{i}.cs")), references,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
            var driver = CSharpGeneratorDriver.Create(new[] { new Fused.Generator.FusedGenerator().AsSourceGenerator() }, parseOptions: parse);
            driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
            var errors = generatorDiagnostics.Concat(output.GetDiagnostics()).Where(d => d.Severity == DiagnosticSeverity.Error || d.Id.StartsWith("FUSED", StringComparison.Ordinal)).ToList();
            if (errors.Any(d => d.Severity == DiagnosticSeverity.Error)) return (null!, errors);
            using var ms = new MemoryStream();
            var emit = output.Emit(ms);
            Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
            return (Assembly.Load(ms.ToArray()), errors);
        }

        private static FusedRule RuleOf(Assembly assembly, string className) =>
            (FusedRule)assembly.GetType("Fused.Search.Found." + className)!.GetProperty("Rule")!.GetValue(null)!;

        [Fact]
        public void Exported_rules_compile_through_the_generator_and_match_the_interpreted_rules()
        {
            var programs = new List<RuleProgram> { ProgramNormalizer.Run(WarmStarts.AdamW()), ProgramNormalizer.Run(WarmStarts.Lion()) };
            programs.AddRange(TestSupport.MutatedPrograms(24, 31, walk: 12));
            var sources = programs.Select((p, i) => RuleExporter.ToCSharp(p, "Found" + i)).ToList();
            var (assembly, diagnostics) = Compile(sources);
            Assert.True(assembly != null, string.Join("\n", diagnostics.Select(d => d + "\n" + sources[int.Parse(Path.GetFileNameWithoutExtension(d.Location.SourceTree?.FilePath ?? "Rule0").Replace("Rule", "")) ])));
            Assert.DoesNotContain(diagnostics, d => d.Id == "FUSED008");

            using var pool = new WorkerPool(1);
            for (int i = 0; i < programs.Count; i++)
            {
                var compiled = RuleOf(assembly, "Found" + i);
                // The generator's IR (parsed back from its embedded text) is the exported program.
                Assert.Equal(StructuralHash.Compute(programs[i]), StructuralHash.Compute(Simplifier.Run(compiled.Program)));
                var interpreted = new InterpretedRule(programs[i]);
                const int n = 3000;
                var a = TestSupport.RandomBuffers(programs[i], n, (ulong)i);
                var b = TestSupport.Clone(a);
                var hypers = interpreted.DefaultHyperparameters();
                using var runA = new CpuRuleRunner(compiled, pool);
                using var runB = new CpuRuleRunner(interpreted, pool);
                var rng = new SearchRandom(100 + (ulong)i);
                for (int t = 1; t <= 4; t++)
                {
                    for (int e = 0; e < n; e++) a[1][e] = b[1][e] = (float)rng.NextGaussian();
                    runA.Step(hypers, t, ShapeInfo.Vector(n), a);
                    runB.Step(hypers, t, ShapeInfo.Vector(n), b);
                }
                for (int k = 0; k < a.Length; k++)
                    for (int e = 0; e < n; e++)
                        Assert.True(TestSupport.SameBits(a[k][e], b[k][e]) || Math.Abs(a[k][e] - b[k][e]) <= 1e-6 * Math.Max(1, Math.Abs(a[k][e])),
                            $"Found{i} buffer {k} element {e}: {a[k][e]} vs {b[k][e]}\n{sources[i]}");
            }
        }

        [Fact]
        public void Export_reads_entry_values_before_assigning_buffers()
        {
            // Lion's parameter update reads the momentum before it is overwritten.
            var text = RuleExporter.ToCSharp(ProgramNormalizer.Run(WarmStarts.Lion()), "L");
            int firstAssignment = text.IndexOf("            param = ", StringComparison.Ordinal);
            int lastLocal = text.LastIndexOf("            float ", StringComparison.Ordinal);
            Assert.True(firstAssignment > lastLocal, text);
            Assert.Contains("[State] ref float momentum", text);
            Assert.Contains("[Hyper(0.0001)] float lr", text);
        }
    }
}
