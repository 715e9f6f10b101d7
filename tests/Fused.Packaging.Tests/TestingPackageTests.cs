using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Packaging.Tests
{
    /// <summary>
    /// A user tests a rule of their own with the packed Fused.Testing (no test framework: it throws its own exception):
    /// a snapshot of the generated source (fails first, accepted by FUSED_ACCEPT_SNAPSHOTS=1, then passes, then fails
    /// with a diff when the verified file is edited) and the agreement assertion (passes; a wrong Update fails).
    /// </summary>
    [Collection(PackageCollection.Name)]
    public sealed class TestingPackageTests
    {
        private readonly PackageFixture _package;
        private readonly ITestOutputHelper _log;

        public TestingPackageTests(PackageFixture package, ITestOutputHelper log)
        {
            _package = package;
            _log = log;
        }

        // Signum (momentum, then its sign), not in the catalog.
        private const string RuleSource = """
            using Fused;
            using static Fused.Intrinsics;

            namespace PackageUser
            {
                /// <summary>Signum: SGD with momentum whose step is the sign of the momentum.</summary>
                [Optimizer]
                public static partial class Signum
                {
                    static void Update(ref float param, float grad, [State] ref float m, [Hyper(1e-3)] float lr, [Hyper(0.9)] float beta)
                    {
                        m = beta * m + (1 - beta) * grad;
                        param -= lr * Sign(m);
                    }
                }
            }
            """;

        private const string ProgramSource = """
            using System;
            using Fused.Testing;
            using PackageUser;

            delegate void SignumUpdate(ref float param, float grad, ref float m, float lr, float beta);

            static class Program
            {
                static int Main(string[] args)
                {
                    try
                    {
                        if (args[0] == "snapshot")
                        {
                            RuleSnapshot.Verify("Signum.cs");
                            Console.WriteLine("snapshot ok");
                        }
                        else
                        {
                            Console.WriteLine("agreement " + RuleAgreement.Assert(Signum.Rule));
                            SignumUpdate wrong = (ref float param, float grad, ref float m, float lr, float beta) =>
                            {
                                m = beta * m + (1 - beta) * grad;
                                param -= lr * MathF.Sign(grad); // the gradient's sign, not the momentum's
                            };
                            try
                            {
                                RuleAgreement.Assert(Signum.Rule, wrong);
                                Console.WriteLine("wrong update passed");
                            }
                            catch (FusedAssertionException e)
                            {
                                Console.WriteLine("wrong update caught: " + e.Message.Split('\n')[0]);
                            }
                        }
                        return 0;
                    }
                    catch (FusedAssertionException e)
                    {
                        Console.WriteLine("failed: " + e.Message);
                        return 3;
                    }
                }
            }
            """;

        [Fact]
        public void A_user_snapshot_tests_and_checks_agreement_of_their_own_rule_with_the_packed_Fused_Testing()
        {
            Assert.True(File.Exists(_package.TestingNupkg), $"no {Path.GetFileName(_package.TestingNupkg)} in the feed ({_package.Origin})");
            string work = Directory.CreateDirectory(Path.Combine(_package.Root, "testing-user")).FullName;
            string packages = Directory.CreateDirectory(Path.Combine(_package.Root, "testing-packages")).FullName;
            string app = Path.Combine(work, "RuleTests");
            var machineSources = ConsumerProjectTests.MachineSources(work);
            File.WriteAllText(Path.Combine(work, "nuget.config"), ConsumerProjectTests.NuGetConfig(_package.Feed, packages, machineSources));
            var env = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = packages, ["FUSED_ACCEPT_SNAPSHOTS"] = null };

            Step(DotNet.Check(work, new[] { "new", "console", "-n", "RuleTests", "-o", app, "--framework", "net10.0", "--no-restore" }, env));
            Step(DotNet.Check(app, new[] { "add", "package", "Fused", "--version", PackageFixture.Version }, env));
            Step(DotNet.Check(app, new[] { "add", "package", "Fused.Testing", "--version", PackageFixture.Version }, env));
            File.WriteAllText(Path.Combine(app, "Signum.cs"), RuleSource);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ProgramSource);
            var build = Step(DotNet.Run(app, new[] { "build", "-c", "Release", "-nodeReuse:false", "-p:UseSharedCompilation=false" }, env));
            Assert.True(build.ExitCode == 0, "the user's test project does not build:\n" + build);

            string snapshots = Path.Combine(app, "_snapshots");
            string[] snapshotRun = { "run", "--no-build", "-c", "Release", "--", "snapshot" };

            // First run: nothing verified yet. The received file is written and the message says how to accept.
            var first = Step(DotNet.Run(app, snapshotRun, env));
            Assert.True(first.ExitCode == 3, "expected the first snapshot run to fail:\n" + first);
            Assert.Contains("FUSED_ACCEPT_SNAPSHOTS=1", first.Output);
            Assert.True(File.Exists(Path.Combine(snapshots, "Signum.received.cs")), first.Output);

            // Accept, then it passes.
            var accept = Step(DotNet.Run(app, snapshotRun, new Dictionary<string, string?>(env) { ["FUSED_ACCEPT_SNAPSHOTS"] = "1" }));
            Assert.True(accept.ExitCode == 0, accept.ToString());
            string verified = Path.Combine(snapshots, "Signum.verified.cs");
            Assert.Contains("partial class Signum", File.ReadAllText(verified));
            var again = Step(DotNet.Run(app, snapshotRun, env));
            Assert.True(again.ExitCode == 0 && again.Output.Contains("snapshot ok", StringComparison.Ordinal), again.ToString());

            // A verified file that no longer matches fails with a diff naming the line.
            File.WriteAllText(verified, File.ReadAllText(verified).Replace("0.9f", "0.8f"));
            var stale = Step(DotNet.Run(app, snapshotRun, env));
            Assert.True(stale.ExitCode == 3, stale.ToString());
            Assert.Contains("--- verified", stale.Output);
            Assert.Matches(@"-\s+\d+: .*0\.8f", stale.Output);
            Assert.Matches(@"\+\s+\d+: .*0\.9f", stale.Output);

            // Agreement: the rule passes; an Update that uses the gradient's sign is caught.
            var agree = Step(DotNet.Run(app, new[] { "run", "--no-build", "-c", "Release", "--", "agree" }, env));
            Assert.True(agree.ExitCode == 0, agree.ToString());
            var lines = agree.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            Assert.Contains(lines, l => l.StartsWith("agreement Signum:", StringComparison.Ordinal) && l.Contains("scalar", StringComparison.Ordinal) && l.Contains("values against Signum.Update", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("wrong update caught: Signum:", StringComparison.Ordinal));
        }

        private ProcessResult Step(ProcessResult result)
        {
            _log.WriteLine($"{result.CommandLine}: exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F1} s");
            return result;
        }
    }
}
