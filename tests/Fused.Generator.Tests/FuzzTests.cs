using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using Fused.Generator.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Generator.Tests
{
    /// <summary>
    /// Thousands of random and mutated rules through the generator. Whatever the input, the generator
    /// must not throw and must not report FUSED099: user errors get user diagnostics. Seeded, so a
    /// failure names the seed and case that reproduce it.
    /// </summary>
    public sealed class FuzzTests
    {
        private const int Seed = 20250611;
        private const int GrammarCases = 1300;
        private const int MutationCases = 750;
        // Valid generated rules whose output we also compile (binding the SIMD code is the slow part).
        private const int MaxCompiledOutputs = 30;

        private readonly ITestOutputHelper _output;

        public FuzzTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public void Random_and_mutated_rules_never_crash_the_generator()
        {
            var watch = Stopwatch.StartNew();
            var random = new Random(Seed);
            var grammar = new RuleGrammar(random);
            var catalog = GeneratorHarness.CatalogRules().Select(f => f.Text).ToArray();

            // Each case is its own file with its own namespace (Fuzz{n}), so cases can share a compilation.
            var cases = new List<string>();
            for (int i = 0; i < GrammarCases; i++) cases.Add(grammar.RuleFile("Fuzz" + cases.Count));
            for (int i = 0; i < MutationCases; i++)
                cases.Add(Mutator.Mutate(catalog[random.Next(catalog.Length)], random).Replace("namespace Fused.Catalog", "namespace Fuzz" + cases.Count));

            var failures = new List<string>();
            int generated = 0, compiledOutputs = 0, withDiagnostics = 0;
            for (int start = 0; start < cases.Count && failures.Count < 5; start += BatchSize)
            {
                var batch = Enumerable.Range(start, Math.Min(BatchSize, cases.Count - start)).ToList();
                var problems = Check(batch, cases, ref generated, ref compiledOutputs, ref withDiagnostics);
                if (problems.Count == 0) continue;
                // Pin each problem on its case by rerunning the batch one case at a time.
                int ignored = 0;
                foreach (int index in batch)
                    failures.AddRange(Check(new List<int> { index }, cases, ref ignored, ref ignored, ref ignored));
                if (failures.Count == 0) failures.AddRange(problems.Select(p => "(only together) " + p));
            }

            _output.WriteLine($"{cases.Count} cases in {watch.Elapsed.TotalSeconds:F1} s: {generated} generated a file ({compiledOutputs} compiled), {withDiagnostics} had diagnostics; compiling outputs took {CompileTime.TotalSeconds:F1} s");
            Assert.True(failures.Count == 0, $"seed {Seed}:\n\n" + string.Join("\n\n----\n\n", failures));
            // The fuzz must exercise both sides: rules that are accepted, and rules that are rejected.
            Assert.True(generated > 400, $"only {generated} cases generated a file: the grammar is too hostile");
            Assert.True(withDiagnostics > 800, $"only {withDiagnostics} cases had diagnostics");
        }

        private const int BatchSize = 25;
        private static TimeSpan CompileTime;

        /// <summary>Runs the generator once over the given cases (one file each) and lists what went wrong.</summary>
        private static List<string> Check(List<int> batch, List<string> cases, ref int generated, ref int compiledOutputs, ref int withDiagnostics)
        {
            var failures = new List<string>();
            string Case(int index) => $"case #{index}:\n{cases[index]}";
            var files = batch.Select(i => new SourceFile($"Fuzz{i}.cs", cases[i])).ToArray();
            GeneratorRun run;
            try
            {
                run = GeneratorHarness.Run(GeneratorHarness.Compile(files), trackSteps: false);
            }
            catch (Exception e)
            {
                failures.Add($"driver threw {e.GetType().Name}: {e.Message}\n" + string.Join("\n", batch.Select(Case)));
                return failures;
            }
            if (run.Result.Exception is { } ex)
                failures.Add($"generator threw {ex.GetType().Name}: {ex.Message}\n" + string.Join("\n", batch.Select(Case)));
            foreach (var d in run.Diagnostics.Where(d => d.Id is "FUSED099" or "CS8785"))
                failures.Add($"{GeneratorHarness.Describe(d)}\n{CaseOf(d.Location.GetLineSpan().Path)}");
            withDiagnostics += run.Diagnostics.Select(d => d.Location.GetLineSpan().Path).Distinct().Count();
            generated += run.Sources.Count;

            // A rule the generator accepted, in a file the compiler accepts, must give code that compiles.
            if (compiledOutputs < MaxCompiledOutputs && run.Sources.Count > 0)
            {
                var compileWatch = Stopwatch.StartNew();
                var filesWithErrors = run.InputErrors.Select(d => d.Location.GetLineSpan().Path).ToHashSet();
                var clean = run.Sources.Select(s => s.HintName).Where(h => !filesWithErrors.Contains(h.Substring(0, h.IndexOf('.')) + ".cs")).ToHashSet();
                compiledOutputs += clean.Count;
                foreach (var error in run.OutputErrors)
                {
                    string? hint = error.Location.SourceTree?.FilePath;
                    var source = run.Result.GeneratedSources.FirstOrDefault(s => s.SyntaxTree == error.Location.SourceTree);
                    if (source.HintName != null && clean.Contains(source.HintName))
                        failures.Add($"generated code does not compile: {GeneratorHarness.Describe(error)}\n{CaseOf(source.HintName.Substring(0, source.HintName.IndexOf('.')) + ".cs")}");
                }
                CompileTime += compileWatch.Elapsed;
            }
            return failures;

            string CaseOf(string path) =>
                path.StartsWith("Fuzz", StringComparison.Ordinal) && int.TryParse(path.Substring(4, path.Length - 7), out int i) ? Case(i) : "(file " + path + ")";
        }

        [Theory]
        [InlineData(200)]
        [InlineData(1000)]
        public void Deeply_nested_expressions_do_not_crash_the_generator(int depth)
        {
            var expression = new StringBuilder();
            for (int i = 0; i < depth; i++) expression.Append(i % 3 == 0 ? "Abs(" : i % 3 == 1 ? "(grad + " : "-(");
            expression.Append("grad");
            for (int i = depth - 1; i >= 0; i--) expression.Append(i % 3 == 1 ? " * lr)" : ")");
            var run = GeneratorHarness.Run(RuleSource.Rule($"param -= lr * {expression};"), "Deep.cs");
            Assert.Null(run.Result.Exception);
            Assert.DoesNotContain(run.Diagnostics, d => d.Id == "FUSED099");
        }
    }

    /// <summary>Random rule files from a small grammar: mostly the Fused language, salted with everything else.</summary>
    internal sealed class RuleGrammar
    {
        private static readonly string[] Names =
        {
            "param", "grad", "m", "v", "lr", "beta", "t", "x", "y", "tmp", "β", "ŝ", "i", "length", "done", "uniforms",
            "paramIn", "mOut", "t2", "u6", "Vector128", "@float", "_", "unknown", "Layout", "Count", "values", "Math", "undefined",
        };
        private static readonly string[] Locals = { "x", "y", "tmp", "β", "i", "length", "done", "uniforms", "paramIn", "mOut", "t2", "u6", "@float", "Count", "values", "step" };
        private static readonly string[] Intrinsics = { "Sign", "Abs", "Sqrt", "Rsqrt", "Exp", "Log", "Pow", "Square", "Min", "Max", "Clamp", "Lerp", "Where" };
        private static readonly string[] Literals =
        {
            "0f", "1f", "0.5f", "-0f", "1e-8f", "3.4028235E+38f", "1e39f", "1e300", "float.NaN", "float.PositiveInfinity", "0f / 0f", "1f / 0f",
            "2", "7 / 2", "0x1F", "1_000f", "'a'", "\"s\"", "true", "false", "null", "default", "1m", "(float)Math.PI", "Math.E", "int.MaxValue", "1e-45f",
        };
        private static readonly string[] BinaryOps = { "+", "-", "*", "/", "+", "-", "*", "/", "<", ">", "<=", ">=", "==", "!=", "&&", "||", "%", "&", "^", "<<", "??" };
        private static readonly string[] AssignOps = { "=", "=", "=", "+=", "-=", "*=", "/=", "%=", "??=" };
        private static readonly string[] Types = { "float", "float", "var", "bool", "double", "int", "float[]", "Func<float>" };

        private readonly Random _r;

        public RuleGrammar(Random random) => _r = random;

        private T Pick<T>(T[] items) => items[_r.Next(items.Length)];
        private bool Chance(int percent) => _r.Next(100) < percent;

        public string RuleFile(string ns) => Chance(45) ? CleanRuleFile(ns) : WildRuleFile(ns);

        // ---------------- clean: valid rules, with names chosen to collide with the emitter's ----------------

        private static readonly string[] CleanLocals = { "x", "y", "i", "length", "done", "uniforms", "paramIn", "paramOut", "mOut", "mIn", "t", "t2", "u6", "step", "Count", "values", "@float", "@class", "β", "paramRef", "mRef", "lr2", "Vector256", "MemoryMarshal", "Layout", "Span" };

        private string CleanRuleFile(string ns)
        {
            var declared = new List<string> { "param", "grad", "m", "lr", "beta" };
            var sb = new StringBuilder();
            sb.Append("using System;\nusing Fused;\nusing static Fused.Intrinsics;\n\nnamespace ").Append(ns).Append("\n{\n    [Optimizer]\n    public static partial class FuzzRule\n    {\n");
            string hyper = Chance(20) ? Pick(new[] { "count", "Count", "values", "i", "uniforms", "_beta2", "Beta2" }) : "beta2";
            sb.Append($"        static void Update(ref float param, float grad, [State] ref float m, [Hyper(0.01)] float lr, [Hyper(0.9)] float beta, [Hyper(0.5)] float {hyper}, [Step] int step_)\n        {{\n");
            declared.Add(hyper);
            declared.Add("step_");
            sb.Append("            m = beta * m + (1 - beta) * grad;\n");
            int statements = _r.Next(0, 6);
            var locals = new HashSet<string>();
            for (int k = 0; k < statements; k++)
            {
                string name = Pick(CleanLocals);
                if (!locals.Add(name)) { sb.Append($"            {name} {Pick(new[] { "=", "+=", "-=", "*=", "/=" })} {CleanExpression(declared, 0)};\n"); continue; }
                sb.Append($"            {(Chance(50) ? "var" : "float")} {name} = {CleanExpression(declared, 0)};\n");
                declared.Add(name);
            }
            sb.Append($"            param {Pick(new[] { "=", "-=", "+=" })} lr * {CleanExpression(declared, 0)} + {declared[_r.Next(declared.Count)]} * m;\n");
            sb.Append("        }\n    }\n}\n");
            return sb.ToString();
        }

        private string CleanExpression(List<string> names, int depth)
        {
            if (depth > 4 || Chance(30 + depth * 15)) return Chance(70) ? names[_r.Next(names.Count)] : Pick(new[] { "0.5f", "2f", "1e-8f", "1", "(float)Math.PI", "-0f", "3.4028235E+38f" });
            string a = CleanExpression(names, depth + 1), b = CleanExpression(names, depth + 1);
            return _r.Next(12) switch
            {
                0 or 1 or 2 => $"{a} {Pick(new[] { "+", "-", "*", "/" })} {b}",
                3 => $"({a})",
                4 => $"-{a}",
                5 => $"{Pick(new[] { "Abs", "Sign", "Exp", "Square" })}({a})",
                6 => $"{Pick(new[] { "Sqrt", "Log", "Rsqrt" })}(Abs({a}))",
                7 => $"{Pick(new[] { "Min", "Max" })}({a}, {b})",
                8 => $"Clamp({a}, -1f, {b})",
                9 => $"Lerp({a}, {b}, beta)",
                10 => $"{a} {Pick(new[] { "<", ">", "<=", ">=", "==", "!=" })} {b} ? {a} : {b}",
                _ => $"Where({a} > 0f && {b} < 1f, {a}, {b})",
            };
        }

        // ---------------- wild: anything, mostly wrong ----------------

        private string WildRuleFile(string ns)
        {
            var sb = new StringBuilder();
            sb.Append("using System;\nusing Fused;\nusing static Fused.Intrinsics;\n\nnamespace ").Append(ns).Append("\n{\n");
            sb.Append(Chance(95) ? "    [Optimizer]\n" : Chance(50) ? "    [Optimizer(Name = \"fuzz \\\"rule\\\" <&>\")]\n" : "");
            sb.Append("    public ").Append(Chance(95) ? "static partial" : Pick(new[] { "static", "partial", "sealed partial" })).Append(" class FuzzRule");
            if (Chance(2)) sb.Append("<T>");
            sb.Append("\n    {\n        static ").Append(Chance(97) ? "void" : "float").Append(" Update(").Append(Parameters()).Append(")\n        {\n");
            int statements = _r.Next(1, 8);
            for (int i = 0; i < statements; i++) sb.Append("            ").Append(Statement(0)).Append('\n');
            if (Chance(80)) sb.Append("            param -= lr * ").Append(Expression(0)).Append(";\n");
            sb.Append("        }\n    }\n}\n");
            var text = sb.ToString();
            if (Chance(5)) text = Unbalance(text);
            return text;
        }

        private string Parameters()
        {
            var ps = new List<string> { Chance(95) ? "ref float param" : Pick(new[] { "ref double param", "float param", "in float param", "[Param] ref float param" }) };
            ps.Add(Chance(95) ? "float grad" : Pick(new[] { "ref float grad", "[Grad] float grad", "int grad", "in float grad" }));
            if (Chance(60)) ps.Add(Chance(92) ? "[State] ref float m" : Pick(new[] { "[State] float m", "[State(StateShape.Row)] ref float m", "[State((StateShape)7)] ref float m", "[State][Hyper(1)] ref float m" }));
            if (Chance(40)) ps.Add("[State] ref float v");
            ps.Add(Chance(92) ? "[Hyper(0.01)] float lr" : Pick(new[] { "[Hyper] float lr", "[Hyper(double.NaN)] float lr", "[Hyper(1e300)] float lr", "[Hyper(-0.0)] float lr", "float lr", "[Hyper(1)] int lr" }));
            if (Chance(50)) ps.Add($"[Hyper({Pick(new[] { "0.9", "0.999", "1e-8", "-1", "0" })})] float beta");
            if (Chance(50)) ps.Add(Chance(90) ? "[Step] int t" : Pick(new[] { "[Step] long t", "[Step] float t", "[Step] double t", "[Step] ref int t" }));
            if (Chance(10)) ps.Add(Pick(new[] { "[Hyper(1)] float count", "[Hyper(2)] float Count", "[State] ref float i", "[Hyper(1)] float values", "[Hyper(1)] float _lr", "[State] ref float done" }));
            if (Chance(5)) ps.Add("float extra");
            if (Chance(10)) Shuffle(ps, 2);
            return string.Join(", ", ps);
        }

        private void Shuffle(List<string> items, int from)
        {
            for (int i = items.Count - 1; i > from; i--)
            {
                int j = _r.Next(from, i + 1);
                (items[i], items[j]) = (items[j], items[i]);
            }
        }

        private string Statement(int depth)
        {
            int roll = _r.Next(100);
            if (roll < 30) return $"{Pick(Types)} {Pick(Locals)} = {Expression(0)};";
            if (roll < 65) return $"{Pick(Names)} {Pick(AssignOps)} {Expression(0)};";
            if (roll < 70 && depth < 3) return "{ " + Statement(depth + 1) + " " + Statement(depth + 1) + " }";
            return _r.Next(16) switch
            {
                0 => $"if ({Expression(0)}) {Statement(depth + 1)}",
                1 => "for (int k = 0; k < 3; k++) param -= grad;",
                2 => "return;",
                3 => ";",
                4 => $"{Pick(Intrinsics)}({Arguments(0)});",
                5 => "throw new Exception();",
                6 => $"float Local() => {Expression(0)};",
                7 => $"{Pick(Names)}++;",
                8 => "while (false) { }",
                9 => $"const float c = {Pick(Literals)};",
                10 => "using var d = (IDisposable)null!;",
                11 => $"var (a, b) = ({Expression(0)}, {Expression(0)});",
                12 => "goto end; end: ;",
                13 => $"float u;",
                14 => $"lock (this) {{ }}",
                _ => $"{Pick(Names)} = {Pick(Names)} = {Expression(0)};",
            };
        }

        private string Expression(int depth)
        {
            if (depth > 6 || Chance(25 + depth * 10)) return Leaf();
            int roll = _r.Next(100);
            if (roll < 35) return $"{Expression(depth + 1)} {Pick(BinaryOps)} {Expression(depth + 1)}";
            if (roll < 60) return $"{Pick(Intrinsics)}({Arguments(depth + 1)})";
            if (roll < 68) return $"({Expression(depth + 1)})";
            if (roll < 74) return $"{Expression(depth + 1)} ? {Expression(depth + 1)} : {Expression(depth + 1)}";
            if (roll < 80) return $"{Pick(new[] { "-", "+", "!", "~", "++", "--" })}{Leaf()}";
            if (roll < 85) return $"({Pick(new[] { "float", "double", "int", "bool", "long" })}){Expression(depth + 1)}";
            return _r.Next(10) switch
            {
                0 => $"Math.Sqrt({Expression(depth + 1)})",
                1 => $"MathF.Abs({Expression(depth + 1)})",
                2 => $"new float[] {{ {Expression(depth + 1)} }}[0]",
                3 => "grad.ToString().Length",
                4 => $"(() => {Expression(depth + 1)})()",
                5 => "typeof(float) == null",
                6 => $"{Leaf()} is float",
                7 => $"checked({Expression(depth + 1)})",
                8 => $"$\"{{{Leaf()}}}\".Length",
                _ => $"Undefined({Expression(depth + 1)})",
            };
        }

        private string Arguments(int depth)
        {
            // Mostly the right arity; sometimes wrong, sometimes named.
            int count = Chance(80) ? -1 : _r.Next(0, 5);
            if (count < 0) count = _r.Next(1, 4);
            var args = Enumerable.Range(0, count).Select(_ => Expression(depth)).ToList();
            if (Chance(10) && args.Count > 0)
                args[0] = Pick(new[] { "x: ", "a: ", "condition: ", "hi: ", "y: " }) + args[0];
            return string.Join(", ", args);
        }

        private string Leaf() => Chance(55) ? Pick(Names) : Pick(Literals);

        private string Unbalance(string text)
        {
            int at = _r.Next(text.Length);
            string junk = Pick(new[] { "(", ")", "{", "}", "[", "]", "\"", "/*", "#if X", "\u0000", "\uFFFF", "@", ";", "=>", "\\u0041", "\ud800" });
            return text.Insert(at, junk);
        }
    }

    /// <summary>Token-level mutations of real rules: delete, duplicate, swap, replace, truncate.</summary>
    internal static class Mutator
    {
        public static string Mutate(string source, Random r)
        {
            var tokens = SyntaxFactory.ParseTokens(source).Select(t => t.ToFullString()).ToList();
            int edits = r.Next(1, 4);
            for (int e = 0; e < edits && tokens.Count > 1; e++)
            {
                // Mutate the body and signature more than the usings and doc comments.
                int i = tokens.Count / 3 + r.Next(tokens.Count - tokens.Count / 3);
                switch (r.Next(6))
                {
                    case 0: tokens.RemoveAt(i); break;
                    case 1: tokens.Insert(i, tokens[i]); break;
                    case 2:
                        int j = tokens.Count / 3 + r.Next(tokens.Count - tokens.Count / 3);
                        (tokens[i], tokens[j]) = (tokens[j], tokens[i]);
                        break;
                    case 3: tokens[i] = tokens[r.Next(tokens.Count)]; break;
                    case 4: tokens.RemoveRange(i, tokens.Count - i); break;
                    default: tokens.Insert(i, new[] { " grad ", " + ", " Sqrt(", " ) ", " ; ", " m ", " 1e39f ", " if ", " { " }[r.Next(9)]); break;
                }
            }
            return string.Concat(tokens);
        }
    }
}
