using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fused.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using static Fused.Benchmarks.Harness;

namespace Fused.Generator.Benchmarks
{
    /// <summary>
    /// Generator time per rule (not a test): every catalog rule, a flat sum of N terms and a body of N statements.
    /// The ceiling in the same run is the compiler binding the same file (parse + semantic diagnostics), the work a
    /// build does on the file anyway; the generator's share is reported as a ratio to it.
    /// Usage: <c>dotnet run -c Release --project tests/Fused.Generator.Benchmarks -- [catalog] [sum N]... [statements N]...</c>
    /// </summary>
    public static class Program
    {
        private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.CSharp12);

        public static int Main(string[] args)
        {
            var cases = ParseCases(args);
            Console.WriteLine($"CPU: {Cpu()}; {Environment.ProcessorCount} logical cores; .NET {Environment.Version}");
            var rows = new List<string[]>();
            foreach (var (name, files) in cases)
            {
                var gen = TimeGenerator(files);
                var bind = Time(name, () => Bind(files), budgetSeconds: 2, warmup: 1, minRuns: 3);
                int lines = files.Sum(f => f.Text.Count(c => c == '\n'));
                rows.Add(new[] { name, lines.ToString(), F(gen.MedianSeconds * 1e3, 1), F(gen.MinSeconds * 1e3, 1), F(bind.MedianSeconds * 1e3, 1), F(gen.MedianSeconds / bind.MedianSeconds, 2), gen.Runs.ToString() });
            }
            Table(new[] { "rule", "lines", "generator ms (median)", "min", "compiler bind ms", "generator / bind", "runs" }, rows);
            return 0;
        }

        private static List<(string Name, SourceText[] Files)> ParseCases(string[] args)
        {
            var cases = new List<(string, SourceText[])>();
            if (args.Length == 0) args = new[] { "catalog", "sum", "1000", "sum", "10000", "statements", "2000" };
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "catalog":
                        foreach (var path in Directory.GetFiles(CatalogDirectory(), "*.cs").OrderBy(p => p, StringComparer.Ordinal))
                            cases.Add((Path.GetFileNameWithoutExtension(path), new[] { new SourceText(path, File.ReadAllText(path)) }));
                        break;
                    case "sum":
                        int terms = int.Parse(args[++i]);
                        cases.Add(($"sum of {terms} terms", new[] { new SourceText("Sum.cs", Rule("param -= lr * (" + string.Join(" + ", Enumerable.Range(0, terms).Select(k => k % 2 == 0 ? "grad" : "lr")) + ");")) }));
                        break;
                    case "statements":
                        int count = int.Parse(args[++i]);
                        cases.Add(($"{count} statements", new[] { new SourceText("Statements.cs", Rule(Statements(count))) }));
                        break;
                    default:
                        throw new ArgumentException($"unknown case '{args[i]}': use catalog, sum N, statements N");
                }
            }
            return cases;
        }

        /// <summary>A chain of locals, each reading the two before it, then one update: every statement is live.</summary>
        private static string Statements(int count)
        {
            var sb = new System.Text.StringBuilder("float t0 = grad * lr;\nfloat t1 = t0 + grad;\n");
            for (int k = 2; k < count; k++) sb.Append($"float t{k} = t{k - 1} * 0.5f + t{k - 2} * lr;\n");
            sb.Append($"param -= lr * t{count - 1};\n");
            return sb.ToString();
        }

        private static string Rule(string body) =>
            "using Fused;\nusing static Fused.Intrinsics;\nnamespace Bench\n{\n    [Optimizer]\n    public static partial class BenchRule\n    {\n" +
            "        static void Update(ref float param, float grad, [Hyper(0.01)] float lr)\n        {\n" + body + "\n        }\n    }\n}\n";

        private static string CatalogDirectory()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "Samples", "Fused.Catalog", "Rules");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException("Samples/Fused.Catalog/Rules not found above " + AppContext.BaseDirectory);
        }

        private sealed record SourceText(string Path, string Text);

        private static readonly Lazy<MetadataReference[]> References = new(() =>
        {
            string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
            return Directory.GetFiles(frameworkDir, "System*.dll").Append(Path.Combine(frameworkDir, "netstandard.dll"))
                .Append(typeof(Fused.OptimizerAttribute).Assembly.Location)
                .Where(p => { try { System.Reflection.AssemblyName.GetAssemblyName(p); return true; } catch { return false; } })
                .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
        });

        private static CSharpCompilation Compile(SourceText[] files) =>
            CSharpCompilation.Create("Bench", files.Select(f => CSharpSyntaxTree.ParseText(f.Text, ParseOptions, f.Path)), References.Value,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));

        /// <summary>
        /// The generator alone on a fresh compilation each run (a build runs it once per compilation): the compilation is
        /// created and bound off the clock, so the figure is the generator's own parse, plan and emit.
        /// </summary>
        private static Measurement TimeGenerator(SourceText[] files)
        {
            var samples = new List<double>();
            var total = System.Diagnostics.Stopwatch.StartNew();
            for (int run = -1; run < 3 || (total.Elapsed.TotalSeconds < 2 && run < 50); run++)
            {
                var compilation = Compile(files);
                compilation.GetDiagnostics();
                var driver = CSharpGeneratorDriver.Create(new[] { new FusedGenerator().AsSourceGenerator() }, parseOptions: ParseOptions);
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                var result = driver.RunGenerators(compilation).GetRunResult();
                double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (result.Results[0].Exception is { } e) throw e;
                if (result.Results[0].GeneratedSources.IsEmpty)
                    throw new InvalidOperationException("no source generated: " + string.Join("; ", result.Diagnostics));
                if (run >= 0) samples.Add(seconds); // run -1 warms the JIT
            }
            samples.Sort();
            return new Measurement("generator", samples[samples.Count / 2], samples[0], samples[^1], samples.Count);
        }

        private static void Bind(SourceText[] files) => Compile(files).GetDiagnostics();

        private static string Cpu()
        {
            try
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                return line is null ? "unknown" : line.Substring(line.IndexOf(':') + 1).Trim();
            }
            catch (IOException) { return "unknown"; }
        }
    }
}
