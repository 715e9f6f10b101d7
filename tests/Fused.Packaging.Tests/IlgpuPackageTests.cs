using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Packaging.Tests
{
    /// <summary>
    /// The Fused.Ilgpu package as a GPU user takes it: packed next to Fused into the local feed, installed with ILGPU in a
    /// fresh console project that declares a rule of its own (normalised momentum: a reduction, so a level boundary and
    /// the device reduction kernels), built — the packaged generator sees ILGPU and emits the rule's ILGPU kernels — and
    /// trained through <c>UseIlgpu</c> on ILGPU's CPU accelerator; the parameters are checked against a float64 reference
    /// written here from the formula.
    /// </summary>
    [Collection(PackageCollection.Name)]
    public sealed class IlgpuPackageTests
    {
        private const int Numel = 1031; // more than one reduction block of 1024, and odd
        private const int Steps = 5;
        private const double Lr = 0.05f, Beta = 0.9f, Eps = 1e-8f; // the rule's defaults, as the float32 kernels see them

        private readonly PackageFixture _package;
        private readonly ITestOutputHelper _log;

        public IlgpuPackageTests(PackageFixture package, ITestOutputHelper log)
        {
            _package = package;
            _log = log;
        }

        private const string RuleSource = """
            using Fused;
            using static Fused.Intrinsics;

            namespace GpuUser
            {
                /// <summary>Momentum whose step is the momentum normalised to unit norm over the tensor.</summary>
                [Optimizer]
                public static partial class NormalizedMomentum
                {
                    static void Update(ref float param, float grad, [State] ref float m,
                        [Hyper(0.05)] float lr, [Hyper(0.9)] float beta, [Hyper(1e-8)] float eps)
                    {
                        m = beta * m + (1 - beta) * grad;
                        param -= lr * m / (Norm(m) + eps);
                    }
                }
            }
            """;

        private const string ProgramSource = """
            using System;
            using System.Globalization;
            using Fused.Ilgpu;
            using Fused.Runtime.Engine;
            using GpuUser;
            using ILGPU;
            using ILGPU.Runtime.CPU;

            const int n = 1031;
            var param = new float[n];
            var grad = new float[n];
            for (int i = 0; i < n; i++) param[i] = (float)(0.3 + 0.001 * i);
            using var context = Context.Create(b => b.CPU());
            using var accelerator = context.CreateCPUAccelerator(0);
            Console.WriteLine("kernels " + typeof(NormalizedMomentum.Ilgpu).FullName + " " + NormalizedMomentum.Ilgpu.PassCount);
            using var optimizer = new OptimizerBuilder()
                .AddParameter("w", new[] { n }, param, grad)
                .Route("all", p => true, NormalizedMomentum.Rule)
                .UseIlgpu(accelerator)
                .Build();
            Console.WriteLine("backend " + optimizer.Backend);
            for (int t = 1; t <= 5; t++)
            {
                for (int i = 0; i < n; i++) grad[i] = (float)(((i * 7 + t * 13) % 17 - 8) / 10.0);
                optimizer.Step();
            }
            for (int i = 0; i < n; i++) Console.WriteLine("param " + i + " " + param[i].ToString("R", CultureInfo.InvariantCulture));
            Console.WriteLine("done");
            """;

        [Fact]
        public void A_console_project_with_ILGPU_installs_Fused_Ilgpu_and_trains_its_own_rule_on_the_CPU_accelerator()
        {
            var pack = DotNet.Check(_package.Root, new[] { "pack", Path.Combine(DotNet.RepositoryRoot(), "Runtime", "Fused.Ilgpu", "Fused.Ilgpu.csproj"),
                "-c", PackageFixture.Configuration, "-o", _package.Feed, "-nodeReuse:false" });
            Step(pack);
            Assert.True(File.Exists(Path.Combine(_package.Feed, $"Fused.Ilgpu.{PackageFixture.Version}.nupkg")), "no Fused.Ilgpu package:\n" + pack);

            string work = Directory.CreateDirectory(Path.Combine(_package.Root, "gpu-user")).FullName;
            string packages = Directory.CreateDirectory(Path.Combine(_package.Root, "gpu-packages")).FullName;
            string app = Path.Combine(work, "App");
            var machineSources = ConsumerProjectTests.MachineSources(work);
            File.WriteAllText(Path.Combine(work, "nuget.config"), ConsumerProjectTests.NuGetConfig(_package.Feed, packages, machineSources, "Fused", "Fused.Ilgpu"));
            var env = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = packages };

            Step(DotNet.Check(work, new[] { "new", "console", "-n", "App", "-o", app, "--framework", "net10.0", "--no-restore" }, env));
            Step(DotNet.Check(app, new[] { "add", "package", "ILGPU", "--version", "1.5.3" }, env));
            Step(DotNet.Check(app, new[] { "add", "package", "Fused.Ilgpu", "--version", PackageFixture.Version }, env));
            File.WriteAllText(Path.Combine(app, "NormalizedMomentum.cs"), RuleSource);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ProgramSource);
            // Fused came with Fused.Ilgpu, from the local feed.
            Assert.True(File.Exists(Path.Combine(packages, "fused", PackageFixture.Version, ".nupkg.metadata")), "Fused was not restored as Fused.Ilgpu's dependency");

            var build = Step(DotNet.Run(app, new[] { "build", "-c", "Release", "-nodeReuse:false", "-p:UseSharedCompilation=false" }, env));
            Assert.True(build.ExitCode == 0, "the user's project does not build:\n" + build);
            Assert.DoesNotContain("FUSED017", build.Output, StringComparison.Ordinal); // the rule got its ILGPU kernels

            var run = Step(DotNet.Run(app, new[] { "run", "--no-build", "-c", "Release" }, env));
            Assert.True(run.ExitCode == 0, "the user's program failed:\n" + run);
            var lines = run.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            Assert.Contains("kernels GpuUser.NormalizedMomentum+Ilgpu 2", lines);
            Assert.Contains(lines, l => l.StartsWith("backend ILGPU: ", StringComparison.Ordinal));
            Assert.Contains("done", lines);

            var got = lines.Where(l => l.StartsWith("param ", StringComparison.Ordinal)).Select(l => l.Split(' '))
                .ToDictionary(p => int.Parse(p[1], CultureInfo.InvariantCulture), p => double.Parse(p[2], CultureInfo.InvariantCulture));
            Assert.Equal(Enumerable.Range(0, Numel), got.Keys.OrderBy(k => k));
            var expected = Reference();
            double worst = 0;
            var wrong = new List<string>();
            for (int i = 0; i < Numel; i++)
            {
                // float32 kernels against float64: a few float32 roundings per step on values near 1.
                double error = Math.Abs(got[i] - expected[i]), allowed = 1e-6 * (Math.Abs(expected[i]) + 1e-2);
                worst = Math.Max(worst, error / allowed);
                if (!(error <= allowed)) wrong.Add($"param[{i}] = {got[i]:R}, reference {expected[i]:R}");
            }
            _log.WriteLine($"worst |got - ref| / tolerance = {worst:G3}");
            Assert.True(wrong.Count == 0, $"{wrong.Count} of {Numel} parameters differ from the float64 reference:\n{string.Join("\n", wrong.Take(10))}");
            Assert.True(Enumerable.Range(0, Numel).Count(i => Math.Abs(got[i] - (float)(0.3 + 0.001 * i)) > 1e-4) > Numel / 2, "the rule barely moved the parameters");
        }

        /// <summary>Normalised momentum in float64 on the same float inputs: m ← βm + (1−β)g; θ ← θ − lr·m / (‖m‖ + ε).</summary>
        private static double[] Reference()
        {
            var param = new double[Numel];
            var m = new double[Numel];
            for (int i = 0; i < Numel; i++) param[i] = (float)(0.3 + 0.001 * i);
            for (int t = 1; t <= Steps; t++)
            {
                for (int i = 0; i < Numel; i++) m[i] = Beta * m[i] + (1 - Beta) * (float)(((i * 7 + t * 13) % 17 - 8) / 10.0);
                double norm = Math.Sqrt(m.Sum(x => x * x));
                for (int i = 0; i < Numel; i++) param[i] -= Lr * m[i] / (norm + Eps);
            }
            return param;
        }

        private ProcessResult Step(ProcessResult result)
        {
            _log.WriteLine($"{result.CommandLine}: exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F1} s");
            return result;
        }
    }
}
