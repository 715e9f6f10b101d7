using System;
using System.IO;
using Fused.Testing;
using Xunit;

namespace Fused.Generator.Tests
{
    /// <summary>Fused.Testing's snapshot helpers (ours and users'), in a scratch directory: they must fail when they should.</summary>
    public sealed class SnapshotHelperTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-snapshot-tests-" + Guid.NewGuid().ToString("N"));

        // A user's rule, not in the catalog (Signum: momentum, then its sign).
        private const string Signum = """
            using Fused;
            using static Fused.Intrinsics;

            namespace User
            {
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

        public void Dispose()
        {
            if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        }

        [Fact]
        public void Missing_verified_file_fails_and_writes_the_received_file()
        {
            var e = Assert.Throws<FusedAssertionException>(() => Snapshot.Match("a\n", "S", _dir, accept: false));
            Assert.Equal("a\n", File.ReadAllText(Path.Combine(_dir, "S.received.cs")));
            Assert.Contains("FUSED_ACCEPT_SNAPSHOTS=1", e.Message);
        }

        [Fact]
        public void Mismatch_fails_with_a_numbered_line_diff()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "S.verified.cs"), "one\ntwo\nthree\n");
            var e = Assert.Throws<FusedAssertionException>(() => Snapshot.Match("one\nTWO\nthree\n", "S", _dir, accept: false));
            Assert.Contains("-     2: two", e.Message);
            Assert.Contains("+     2: TWO", e.Message);
            Assert.True(File.Exists(Path.Combine(_dir, "S.received.cs")));
        }

        [Fact]
        public void Line_endings_and_bom_do_not_matter_and_a_match_removes_a_stale_received_file()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "S.verified.cs"), "\uFEFFone\r\ntwo\r\n");
            File.WriteAllText(Path.Combine(_dir, "S.received.cs"), "stale");
            Snapshot.Match("one\ntwo", "S", _dir, accept: false);
            Assert.False(File.Exists(Path.Combine(_dir, "S.received.cs")));
        }

        [Fact]
        public void Accepting_overwrites_the_verified_file()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "S.verified.cs"), "old\n");
            Snapshot.Match("new\r\n", "S", _dir, accept: true);
            Assert.Equal("new\n", File.ReadAllText(Path.Combine(_dir, "S.verified.cs")));
        }

        [Fact]
        public void A_user_rule_snapshot_is_written_on_accept_then_matches_and_an_edited_rule_fails_with_a_diff()
        {
            var files = new[] { ("Signum.cs", Signum) };
            // First run: no verified file yet.
            var first = Assert.Throws<FusedAssertionException>(() => RuleSnapshot.VerifyIn(_dir, files, null, null, accept: false));
            Assert.Contains("Snapshot 'Signum' has no verified file", first.Message);
            Assert.Contains("partial class Signum", File.ReadAllText(Path.Combine(_dir, "Signum.received.cs")));

            RuleSnapshot.VerifyIn(_dir, files, null, null, accept: true);
            string verified = File.ReadAllText(Path.Combine(_dir, "Signum.verified.cs"));
            Assert.Contains("Pass0Vector512", verified);
            Assert.False(File.Exists(Path.Combine(_dir, "Signum.received.cs")));
            RuleSnapshot.VerifyIn(_dir, files, "Signum", null, accept: false);

            // The rule changes (a new default): the generated file no longer matches.
            var edited = new[] { ("Signum.cs", Signum.Replace("[Hyper(0.9)]", "[Hyper(0.95)]")) };
            var e = Assert.Throws<FusedAssertionException>(() => RuleSnapshot.VerifyIn(_dir, edited, null, null, accept: false));
            Assert.Contains("--- verified", e.Message);
            Assert.Contains("0.95f", e.Message);
            Assert.Contains("0.9f", e.Message);
            Assert.True(File.Exists(Path.Combine(_dir, "Signum.received.cs")));
        }

        [Fact]
        public void A_rule_with_errors_fails_with_the_generator_diagnostics_and_writes_nothing()
        {
            var broken = new[] { ("Signum.cs", Signum.Replace("param -= lr * Sign(m);", "param -= lr * Sign(m); for (;;) { }")) };
            var e = Assert.Throws<FusedAssertionException>(() => RuleSnapshot.VerifyIn(_dir, broken, null, null, accept: true));
            Assert.Contains("FUSED", e.Message);
            Assert.Contains("Signum.cs(", e.Message);
            Assert.False(File.Exists(Path.Combine(_dir, "Signum.verified.cs")));
        }

        [Fact]
        public void Verify_finds_the_rule_file_and_the_snapshot_folder_beside_the_calling_test()
        {
            // The caller's file decides both folders: a test file "in" the scratch directory.
            string testFile = Path.Combine(_dir, "MyRuleTests.cs");
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "Signum.cs"), Signum);
            var e = Assert.Throws<FusedAssertionException>(() => RuleSnapshot.Verify("Signum.cs", testFile: testFile));
            Assert.Contains(Path.Combine(_dir, RuleSnapshot.FolderName, "Signum.received.cs"), e.Message);
            var missing = Assert.Throws<FusedAssertionException>(() => RuleSnapshot.Verify("Nope.cs", testFile: testFile));
            Assert.Contains("does not exist", missing.Message);
        }
    }
}
