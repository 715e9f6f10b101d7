using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Fused.Generator.Tests.Infrastructure
{
    /// <summary>A source file handed to the compiler: its path matters for diagnostics and the generated header.</summary>
    public sealed record SourceFile(string Path, string Text);

    /// <summary>What one run of the generator gave: sources, its own diagnostics, and the compilation with them.</summary>
    public sealed class GeneratorRun
    {
        private readonly Lazy<ImmutableArray<Diagnostic>> _outputErrors;

        public GeneratorRun(GeneratorDriver driver, Compilation input, Compilation output)
        {
            Driver = driver;
            Input = input;
            Output = output;
            RunResult = driver.GetRunResult();
            _outputErrors = new Lazy<ImmutableArray<Diagnostic>>(() =>
                Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray());
        }

        public GeneratorDriver Driver { get; }
        public Compilation Input { get; }
        public Compilation Output { get; }
        public GeneratorDriverRunResult RunResult { get; }
        public GeneratorRunResult Result => RunResult.Results.Single();

        /// <summary>Generated files by hint name, in the order the generator added them.</summary>
        public IReadOnlyList<(string HintName, string Text)> Sources =>
            Result.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())).ToList();

        public string Source(string hintName) =>
            Result.GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();

        /// <summary>Diagnostics the generator reported (not the compiler's).</summary>
        public ImmutableArray<Diagnostic> Diagnostics => Result.Diagnostics;

        /// <summary>Errors in the compilation with the generated files added (computed on first use: it binds everything).</summary>
        public ImmutableArray<Diagnostic> OutputErrors => _outputErrors.Value;

        /// <summary>Errors of the input alone: user errors the fuzz inputs are expected to have.</summary>
        public ImmutableArray<Diagnostic> InputErrors =>
            Input.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
    }

    /// <summary>
    /// Compiles sources against the running framework plus Fused.Dsl and Fused.Runtime, and drives
    /// <see cref="FusedGenerator"/> in process with incremental step tracking on.
    /// </summary>
    public static class GeneratorHarness
    {
        // C# 12 is the newest language the 4.8.0 compiler we reference knows.
        public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.CSharp12);

        private static readonly CSharpCompilationOptions CompilationOptions = new(
            OutputKind.DynamicallyLinkedLibrary,
            nullableContextOptions: NullableContextOptions.Enable,
            allowUnsafe: true,
            deterministic: true);

        /// <summary>The framework plus Fused.Dsl and Fused.Runtime: the references Fused.Testing compiles a user's rule against.</summary>
        public static ImmutableArray<MetadataReference> References => Fused.Testing.RuleGeneration.DefaultReferences;

        public static SyntaxTree Parse(SourceFile file) =>
            CSharpSyntaxTree.ParseText(file.Text, ParseOptions, file.Path);

        public static CSharpCompilation Compile(params SourceFile[] files) =>
            CSharpCompilation.Create("RuleUnderTest", files.Select(Parse), References, CompilationOptions);

        public static CSharpCompilation Compile(string source, string path = "Rule.cs") =>
            Compile(new SourceFile(path, source));

        public static GeneratorDriver CreateDriver(bool trackSteps = true) =>
            CSharpGeneratorDriver.Create(
                new[] { new FusedGenerator().AsSourceGenerator() },
                parseOptions: ParseOptions,
                driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

        /// <summary>Runs the generator on <paramref name="compilation"/>, continuing <paramref name="driver"/> when given (for incremental runs).</summary>
        public static GeneratorRun Run(Compilation compilation, GeneratorDriver? driver = null, bool trackSteps = true)
        {
            driver ??= CreateDriver(trackSteps);
            driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
            return new GeneratorRun(driver, compilation, output);
        }

        public static GeneratorRun Run(string source, string path = "Rule.cs") => Run(Compile(source, path));

        /// <summary>Fused diagnostics as one line each: "FUSED001 (12,9)-(12,30): message", sorted by position.</summary>
        public static string Describe(IEnumerable<Diagnostic> diagnostics) =>
            string.Join("\n", diagnostics
                .OrderBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id, StringComparer.Ordinal)
                .Select(Describe));

        public static string Describe(Diagnostic d)
        {
            var span = d.Location.GetLineSpan();
            // 1-based lines and columns, as an IDE shows them.
            string where = d.Location == Location.None
                ? "(no location)"
                : $"{Path.GetFileName(span.Path)}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1})-({span.EndLinePosition.Line + 1},{span.EndLinePosition.Character + 1})";
            return $"{d.Id} {d.Severity} {where}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
        }

        /// <summary>The generator's catalog rules, as the files in Samples/Fused.Catalog/Rules.</summary>
        public static IReadOnlyList<SourceFile> CatalogRules()
        {
            string dir = Path.Combine(TestPaths.RepositoryRoot, "Samples", "Fused.Catalog", "Rules");
            return Directory.GetFiles(dir, "*.cs").OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => new SourceFile("Rules/" + Path.GetFileName(p), File.ReadAllText(p)))
                .ToList();
        }
    }
}
