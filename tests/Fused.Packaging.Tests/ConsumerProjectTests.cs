using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Packaging.Tests
{
    /// <summary>
    /// A user's first hour with the package: `dotnet new console`, `dotnet add package Fused`, write a rule the
    /// catalog does not have (AdaBelief), build, run. Checks that the packaged generator ran, that the compiler loaded
    /// it without CS8785/CS9057, and that the packaged runtime's CPU kernel matches a float64 AdaBelief written here.
    /// </summary>
    [Collection(PackageCollection.Name)]
    public sealed class ConsumerProjectTests
    {
        private const int Numel = 67; // not a multiple of any vector width: the scalar tail runs too
        private const int Steps = 5;
        private static readonly float[] Hypers = { 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f }; // lr, beta1, beta2, eps, weightDecay

        private readonly PackageFixture _package;
        private readonly ITestOutputHelper _log;

        public ConsumerProjectTests(PackageFixture package, ITestOutputHelper log)
        {
            _package = package;
            _log = log;
        }

        // AdaBelief (Zhuang et al., 2020) in the Fused language: the "belief" s tracks (g - m)², not g².
        private const string RuleSource = """
            using Fused;
            using static Fused.Intrinsics;

            namespace PackageUser
            {
                /// <summary>AdaBelief: Adam whose second moment is the variance of the gradient around its EMA.</summary>
                [Optimizer]
                public static partial class AdaBelief
                {
                    static void Update(ref float param, float grad, [State] ref float m, [State] ref float s,
                        [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta1, [Hyper(0.999)] float beta2,
                        [Hyper(1e-8)] float eps, [Hyper(0.01)] float weightDecay, [Step] int t)
                    {
                        m = beta1 * m + (1 - beta1) * grad;
                        s = beta2 * s + (1 - beta2) * Square(grad - m) + eps;
                        var mHat = m / (1 - Pow(beta1, t));
                        var sHat = s / (1 - Pow(beta2, t));
                        param -= lr * (mHat / (Sqrt(sHat) + eps) + weightDecay * param);
                    }
                }
            }
            """;

        // Inputs are exact functions of the index and step (computed in double, rounded once to float), so the
        // reference below sees bit-identical inputs.
        private const string ProgramSource = """
            using System;
            using System.Globalization;
            using System.Linq;
            using Fused;
            using Fused.Runtime.Cpu;
            using PackageUser;

            const int n = 67;
            var rule = AdaBelief.Rule;
            Console.WriteLine("rule " + rule.Name);
            Console.WriteLine("hypers " + string.Join(",", rule.Hyperparameters.Select(h => h.Name)));
            Console.WriteLine("defaults " + string.Join(",", rule.DefaultHyperparameters().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            Console.WriteLine("buffers " + string.Join(",", rule.Program.Buffers.Select(b => b.Name)));
            // The catalog ships in the package: its rules are ready to use, no declaration needed.
            Console.WriteLine("catalog " + string.Join(",", new[] { Fused.Catalog.AdamW.Rule, Fused.Catalog.Lion.Rule, Fused.Catalog.Muon.Rule }.Select(r => r.Name))
                + " of " + Fused.Catalog.CatalogRules.All.Count);

            float[] hypers = { 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f };
            var param = new float[n];
            var grad = new float[n];
            var m = new float[n];
            var s = new float[n];
            for (int i = 0; i < n; i++) param[i] = (float)(0.3 + 0.01 * i);
            using var runner = new CpuRuleRunner(rule);
            for (int t = 1; t <= 5; t++)
            {
                for (int i = 0; i < n; i++) grad[i] = (float)(((i * 7 + t * 13) % 17 - 8) / 10.0);
                runner.Step(hypers, t, ShapeInfo.Vector(n), param, grad, m, s);
            }

            for (int i = 0; i < n; i++) Console.WriteLine("param " + i + " " + param[i].ToString("R", CultureInfo.InvariantCulture));
            Console.WriteLine("done");
            """;

        [Fact]
        public void A_fresh_console_project_installs_Fused_and_runs_a_rule_of_its_own()
        {
            _log.WriteLine($"package: {_package.Origin} ({new FileInfo(_package.Nupkg).Length:N0} bytes, {_package.PackTime.TotalSeconds:F1} s)");
            string work = Directory.CreateDirectory(Path.Combine(_package.Root, "user")).FullName;
            string packages = Directory.CreateDirectory(Path.Combine(_package.Root, "packages")).FullName;
            string app = Path.Combine(work, "App");

            // The machine's own sources (nuget.org or a mirror) stay, but Fused may come only from the local feed,
            // and an isolated global packages folder means no Fused 0.1.0 cached by an earlier run can be used.
            var machineSources = MachineSources(work);
            File.WriteAllText(Path.Combine(work, "nuget.config"), NuGetConfig(_package.Feed, packages, machineSources));
            var env = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = packages };

            Step(DotNet.Check(work, new[] { "new", "console", "-n", "App", "-o", app, "--framework", "net10.0", "--no-restore" }, env));
            Step(DotNet.Check(app, new[] { "add", "package", "Fused", "--version", PackageFixture.Version }, env));
            File.WriteAllText(Path.Combine(app, "AdaBelief.cs"), RuleSource);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ProgramSource);

            // Restored from the local feed, not from a cache or another source.
            string metadata = Path.Combine(packages, "fused", PackageFixture.Version, ".nupkg.metadata");
            Assert.True(File.Exists(metadata), $"Fused {PackageFixture.Version} was not restored into the isolated folder {packages}");
            string source = JsonDocument.Parse(File.ReadAllText(metadata)).RootElement.GetProperty("source").GetString() ?? "";
            Assert.Equal(Path.TrimEndingDirectorySeparator(_package.Feed), Path.TrimEndingDirectorySeparator(source));

            var build = Step(DotNet.Run(app, new[] { "build", "-c", "Release", "-nodeReuse:false", "-p:EmitCompilerGeneratedFiles=true", "-p:UseSharedCompilation=false" }, env));
            Assert.True(build.ExitCode == 0, "the user's project does not build:\n" + build);
            foreach (string code in new[] { "CS8785", "CS9057", "CS8032", "AD0001" })
                Assert.False(build.Output.Contains(code, StringComparison.Ordinal), $"{code} in the user's build (the packaged generator did not load or failed):\n{build.Output}");
            Assert.DoesNotMatch(new Regex(@"warning FUSED\d+"), build.Output);

            // The generator ran: its output for AdaBelief is on disk (and Program.cs, which uses AdaBelief.Rule, compiled).
            string generated = Path.Combine(app, "obj", "Release", "net10.0", "generated", "Fused.Generator");
            Assert.True(Directory.Exists(generated), $"no generator output under {generated}");
            var sources = Directory.GetFiles(generated, "*.cs", SearchOption.AllDirectories);
            Assert.Contains(sources, f => File.ReadAllText(f).Contains("AdaBelief", StringComparison.Ordinal));

            var run = Step(DotNet.Run(app, new[] { "run", "--no-build", "-c", "Release" }, env));
            Assert.True(run.ExitCode == 0, "the user's program failed:\n" + run);
            var lines = run.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            Assert.Contains("rule AdaBelief", lines);
            Assert.Contains("hypers lr,beta1,beta2,eps,weightDecay", lines);
            Assert.Contains("defaults 0.001,0.9,0.999,1E-08,0.01", lines);
            Assert.Contains("buffers param,grad,m,s", lines);
            Assert.Contains("catalog AdamW,Lion,Muon of 20", lines);
            Assert.Contains("done", lines);

            var got = lines.Where(l => l.StartsWith("param ", StringComparison.Ordinal))
                .Select(l => l.Split(' ')).ToDictionary(p => int.Parse(p[1], CultureInfo.InvariantCulture), p => double.Parse(p[2], CultureInfo.InvariantCulture));
            Assert.Equal(Enumerable.Range(0, Numel), got.Keys.OrderBy(k => k));
            double[] expected = Reference();
            var wrong = new List<string>();
            double worst = 0;
            for (int i = 0; i < Numel; i++)
            {
                double error = Math.Abs(got[i] - expected[i]), allowed = 1e-5 * (Math.Abs(expected[i]) + 1e-3);
                worst = Math.Max(worst, error / allowed);
                if (!(error <= allowed)) wrong.Add($"param[{i}] = {got[i]:R}, reference {expected[i]:R} (|diff| {error:G3} > {allowed:G3})");
            }

            _log.WriteLine($"worst |got - ref| / tolerance = {worst:G3}");
            Assert.True(wrong.Count == 0, $"{wrong.Count} of {Numel} parameters differ from the float64 AdaBelief:\n{string.Join("\n", wrong.Take(10))}");
            // The rule really moved the parameters (a no-op kernel would also 'match' a broken reference).
            Assert.True(Enumerable.Range(0, Numel).Count(i => Math.Abs(got[i] - (float)(0.3 + 0.01 * i)) > 1e-3) > Numel / 2, "AdaBelief barely moved the parameters");
        }

        /// <summary>AdaBelief in float64 on the same (float-rounded) inputs and hyperparameters, 5 steps.</summary>
        private static double[] Reference()
        {
            double lr = Hypers[0], beta1 = Hypers[1], beta2 = Hypers[2], eps = Hypers[3], wd = Hypers[4];
            var param = new double[Numel];
            var m = new double[Numel];
            var s = new double[Numel];
            for (int i = 0; i < Numel; i++) param[i] = (float)(0.3 + 0.01 * i);
            for (int t = 1; t <= Steps; t++)
                for (int i = 0; i < Numel; i++)
                {
                    double g = (float)(((i * 7 + t * 13) % 17 - 8) / 10.0);
                    m[i] = beta1 * m[i] + (1 - beta1) * g;
                    s[i] = beta2 * s[i] + (1 - beta2) * (g - m[i]) * (g - m[i]) + eps;
                    double mHat = m[i] / (1 - Math.Pow(beta1, t));
                    double sHat = s[i] / (1 - Math.Pow(beta2, t));
                    param[i] -= lr * (mHat / (Math.Sqrt(sHat) + eps) + wd * param[i]);
                }

            return param;
        }

        private ProcessResult Step(ProcessResult result)
        {
            _log.WriteLine($"{result.CommandLine}: exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F1} s");
            return result;
        }

        /// <summary>The enabled package sources as configured on this machine (name, URL), read before our nuget.config exists.</summary>
        internal static IReadOnlyList<(string Name, string Url)> MachineSources(string directory)
        {
            var list = DotNet.Check(directory, new[] { "nuget", "list", "source" }).Output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            var sources = new List<(string, string)>();
            for (int i = 0; i + 1 < list.Length; i++)
            {
                var match = Regex.Match(list[i], @"^\s*\d+\.\s+(.+?)\s+\[Enabled\]\s*$");
                if (match.Success) sources.Add((match.Groups[1].Value, list[i + 1].Trim()));
            }

            return sources;
        }

        /// <summary>A nuget.config taking <paramref name="localPackages"/> (default: Fused and Fused.Testing) only from <paramref name="feed"/>, everything else from the machine's sources.</summary>
        internal static string NuGetConfig(string feed, string packages, IReadOnlyList<(string Name, string Url)> machineSources, params string[] localPackages)
        {
            var xml = new StringBuilder();
            xml.AppendLine("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            xml.AppendLine("<configuration>");
            xml.AppendLine("  <config>");
            xml.AppendLine($"    <add key=\"globalPackagesFolder\" value=\"{packages}\" />");
            xml.AppendLine("  </config>");
            xml.AppendLine("  <packageSources>");
            xml.AppendLine($"    <add key=\"fused-local\" value=\"{feed}\" />"); // the machine's sources are inherited from its own config
            xml.AppendLine("  </packageSources>");
            xml.AppendLine("  <packageSourceMapping>");
            xml.AppendLine("    <packageSource key=\"fused-local\">" + string.Concat((localPackages.Length == 0 ? new[] { "Fused", "Fused.Testing" } : localPackages).Select(p => $"<package pattern=\"{p}\" />")) + "</packageSource>");
            foreach (var (name, _) in machineSources.Where(s => s.Name != "fused-local"))
                xml.AppendLine($"    <packageSource key=\"{System.Security.SecurityElement.Escape(name)}\"><package pattern=\"*\" /></packageSource>");
            xml.AppendLine("  </packageSourceMapping>");
            xml.AppendLine("</configuration>");
            return xml.ToString();
        }
    }
}
