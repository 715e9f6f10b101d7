using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.IO;
using System.Linq;
using Fused.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Fused.Testing
{
    /// <summary>What the Fused generator made of some rule sources: one generated file per rule class, and its diagnostics.</summary>
    public sealed class RuleGeneration
    {
        // C# 12 is the newest language the compiler the generator is built against (Roslyn 4.8) knows.
        private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.CSharp12);

        private static readonly CSharpCompilationOptions CompilationOptions = new(
            OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
            allowUnsafe: true, deterministic: true);

        private static readonly Lazy<ImmutableArray<MetadataReference>> LazyDefaultReferences = new(LoadDefaultReferences);

        private RuleGeneration(IReadOnlyList<(string HintName, string Text)> sources, ImmutableArray<Diagnostic> diagnostics)
        {
            Sources = sources;
            Diagnostics = diagnostics;
        }

        /// <summary>Generated files by hint name (<c>Namespace.Class.g.cs</c>), in the order the generator added them.</summary>
        public IReadOnlyList<(string HintName, string Text)> Sources { get; }

        /// <summary>The generator's own diagnostics (FUSED001...), not the compiler's.</summary>
        public ImmutableArray<Diagnostic> Diagnostics { get; }

        /// <summary>
        /// The references a rule file compiles against when none are given: the running .NET's framework assemblies, Fused.Dsl
        /// and Fused.Runtime.
        /// </summary>
        public static ImmutableArray<MetadataReference> DefaultReferences => LazyDefaultReferences.Value;

        /// <summary>Runs the generator on source files, each given as (path, text); the path names the file in diagnostics and headers.</summary>
        /// <param name="files">The rule sources.</param>
        /// <param name="references">References to compile against; <see cref="DefaultReferences"/> when null.</param>
        public static RuleGeneration Run(IEnumerable<(string Path, string Text)> files, IEnumerable<MetadataReference>? references = null)
        {
            if (files == null) throw new ArgumentNullException(nameof(files));
            var trees = files.Select(f => CSharpSyntaxTree.ParseText(f.Text, ParseOptions, f.Path)).ToList();
            var compilation = CSharpCompilation.Create("RuleUnderTest", trees, references ?? DefaultReferences, CompilationOptions);
            GeneratorDriver driver = CSharpGeneratorDriver.Create(new[] { new FusedGenerator().AsSourceGenerator() }, parseOptions: ParseOptions);
            driver = driver.RunGenerators(compilation);
            var result = driver.GetRunResult().Results.Single();
            if (result.Exception != null)
                throw new FusedAssertionException($"the Fused generator failed on {string.Join(", ", trees.Select(t => t.FilePath))}: {result.Exception.Message}");
            return new RuleGeneration(
                result.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())).ToList(),
                result.Diagnostics);
        }

        /// <summary>The generated source of the rule class <paramref name="rule"/> (its class name, or namespace-qualified).</summary>
        /// <exception cref="FusedAssertionException">The generator reported errors, or made no file (or several) for that name.</exception>
        public string SourceOf(string rule)
        {
            ThrowOnErrors();
            var matches = Sources.Where(s => s.HintName == rule + ".g.cs" || s.HintName.EndsWith("." + rule + ".g.cs", StringComparison.Ordinal)).ToList();
            if (matches.Count != 1)
                throw new FusedAssertionException(matches.Count == 0
                    ? $"the generator made no source for rule '{rule}'; it made: {Describe(Sources.Select(s => s.HintName))}"
                    : $"rule '{rule}' is ambiguous: {Describe(matches.Select(s => s.HintName))}; pass the namespace-qualified class name");
            return matches[0].Text;
        }

        /// <summary>The one rule class the sources declare: its class name and generated source.</summary>
        /// <exception cref="FusedAssertionException">Errors, no rule, or more than one rule (then name the rule).</exception>
        public (string Rule, string Text) Single()
        {
            ThrowOnErrors();
            if (Sources.Count != 1)
                throw new FusedAssertionException($"expected one [Optimizer] class, the generator made {Sources.Count} file(s): {Describe(Sources.Select(s => s.HintName))}; name the rule to snapshot");
            string hint = Sources[0].HintName;
            string qualified = hint.Substring(0, hint.Length - ".g.cs".Length);
            return (qualified.Substring(qualified.LastIndexOf('.') + 1), Sources[0].Text);
        }

        /// <summary>Throws when the generator reported an error, listing every error with its position.</summary>
        /// <exception cref="FusedAssertionException">The generator reported at least one error.</exception>
        public void ThrowOnErrors()
        {
            var errors = Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (errors.Count > 0)
                throw new FusedAssertionException("the Fused generator reported errors:\n" + string.Join("\n", errors.Select(Describe)));
        }

        /// <summary>One line per diagnostic: <c>FUSED001 Error Rule.cs(12,9): message</c>, 1-based as an IDE shows.</summary>
        public static string Describe(Diagnostic d)
        {
            var span = d.Location.GetLineSpan();
            string where = d.Location == Location.None
                ? "(no location)"
                : $"{Path.GetFileName(span.Path)}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1})";
            return $"{d.Id} {d.Severity} {where}: {d.GetMessage(CultureInfo.InvariantCulture)}";
        }

        private static string Describe(IEnumerable<string> names)
        {
            var list = names.ToList();
            return list.Count == 0 ? "(none)" : string.Join(", ", list);
        }

        // The framework's own assemblies (the trusted list also names the test's dependencies: keep only the framework
        // directory), then the two Fused assemblies a rule project references.
        private static ImmutableArray<MetadataReference> LoadDefaultReferences()
        {
            var tpa = (string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "";
            string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
            var paths = tpa.Split(Path.PathSeparator)
                .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
                    && string.Equals(Path.GetDirectoryName(p), frameworkDir, StringComparison.Ordinal))
                .ToList();
            paths.Add(typeof(OptimizerAttribute).Assembly.Location);
            paths.Add(typeof(Fused.Runtime.Kernels.FusedRule).Assembly.Location);
            return paths.Distinct(StringComparer.Ordinal).OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
        }
    }
}
