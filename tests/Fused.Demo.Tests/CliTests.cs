using System;
using System.IO;
using System.Linq;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>
    /// Issue 17, item 9: no command prints a stack trace for anything a user typed or pointed at. Parse and range
    /// errors are one line plus usage (exit 2), failures at run time one line (exit 1); every command runs with
    /// defaults or tiny arguments, and `fused bench` runs (it crashed on Adafactor's row and column states).
    /// </summary>
    [Collection(CliCollection.Name)]
    public sealed class CliTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-cli-" + Guid.NewGuid().ToString("N"));

        public CliTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static (int Code, string Error) Run(params string[] args)
        {
            var error = new StringWriter();
            int code = Program.Run(args, error);
            string text = error.ToString();
            Assert.DoesNotContain("   at ", text);           // no stack trace
            Assert.DoesNotContain("Unhandled exception", text);
            return (code, text);
        }

        [Theory]
        [InlineData("train", "--epochs", "abc")]
        [InlineData("train", "--epochs", "999999999999")]
        [InlineData("train", "--epochs", "0")]
        [InlineData("train", "--subset", "1e3")]
        [InlineData("train", "--subset", "-5")]
        [InlineData("train", "--threads", "two")]
        [InlineData("train", "--batch-size", "9000")]
        [InlineData("train", "--seed", "-1")]
        [InlineData("bench", "--size", "abc")]
        [InlineData("bench", "--size", "0")]
        [InlineData("bench", "--size", "99999999999")]
        [InlineData("bench", "--repeats", "x")]
        [InlineData("bench", "--threads", "100000")]
        [InlineData("search", "--minutes", "abc")]
        [InlineData("search", "--minutes", "0")]
        [InlineData("search", "--minutes", "NaN")]
        [InlineData("search", "--minutes", "1e300")]
        [InlineData("search", "--population", "3")]
        [InlineData("search", "--threads", "0")]
        [InlineData("search", "--race-top", "0")]
        [InlineData("search", "--max-seeds", "99")]
        [InlineData("search", "--validation-gate", "abc")]
        [InlineData("search", "--baseline-grid", "wide")]
        [InlineData("search", "validate", "--scale", "Huge")]
        [InlineData("search", "validate", "--threads", "0")]
        [InlineData("search", "validate", "--mutants", "0")]
        [InlineData("memory", "--state", "fp8")]
        [InlineData("landscape", "--out")]
        [InlineData("nosuch")]
        [InlineData("train", "--no-such-option")]
        [InlineData("train", "--seeds", "0")]
        [InlineData("train", "--seeds", "many")]
        [InlineData("--epochs", "0")]
        [InlineData("--seeds", "101")]
        public void Bad_arguments_are_one_line_and_usage_with_exit_code_2(params string[] args)
        {
            var (code, error) = Run(args);
            Assert.Equal(Program.UsageError, code);
            var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("fused: ", lines[0]);
            Assert.StartsWith("usage: fused", lines[^1]);
            Assert.True(lines.Length <= 3, error);
        }

        [Fact]
        public void Bad_database_paths_are_one_line_with_exit_code_1()
        {
            string text = Path.Combine(_dir, "notes.txt");
            File.WriteAllText(text, "hello");
            foreach (string db in new[] { _dir, text, Path.Combine(_dir, "missing", "x.db") })
            {
                var (code, error) = Run("search", "--db", db, "--minutes", "0.01", "--population", "4", "--threads", "1");
                Assert.Equal(Program.RuntimeFailure, code);
                Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Contains(db, error);
            }
            Assert.Equal("hello", File.ReadAllText(text));
        }

        [Fact]
        public void Validate_refuses_a_bad_database_or_program_in_one_line_and_changes_nothing()
        {
            string db = Path.Combine(_dir, "tiny.db");
            Assert.Equal(0, Run("search", "--db", db, "--minutes", "0.01", "--population", "4", "--threads", "1", "--proxies", "Tiny").Code);
            string text = Path.Combine(_dir, "notes.txt");
            File.WriteAllText(text, "hello");
            string garbage = Path.Combine(_dir, "garbage.ir");
            File.WriteAllText(garbage, "rule x\n%0 = Frobnicate 3\n");
            string otherScale = Path.Combine(_dir, "full.cache");
            File.WriteAllText(otherScale, "adamw_tuned:fashion-mlp(196-128-64-10,b128,T800):1\t0.01,0,0.95\n");
            byte[] before = File.ReadAllBytes(db);
            var cases = new[]
            {
                (new[] { "--db", Path.Combine(_dir, "missing.db") }, "missing.db"),
                (new[] { "--db", text }, text),
                (new[] { "--db", db, "--program", "#99999" }, "#99999"),
                (new[] { "--db", db, "--program", Path.Combine(_dir, "nosuch.ir") }, "nosuch.ir"),
                (new[] { "--db", db, "--program", garbage }, garbage),
                (new[] { "--db", db, "--adamw-cache", Path.Combine(_dir, "nosuch.cache") }, "nosuch.cache"),
                (new[] { "--db", db, "--adamw-cache", text }, text),
                (new[] { "--db", db, "--adamw-cache", otherScale }, otherScale),
            };
            foreach (var (args, named) in cases)
            {
                var (code, error) = Run(new[] { "search", "validate", "--scale", "Smoke", "--threads", "1" }.Concat(args).ToArray());
                Assert.Equal(Program.RuntimeFailure, code);
                Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Contains(named, error);
            }
            Assert.Equal("hello", File.ReadAllText(text));
            Assert.Equal(before, File.ReadAllBytes(db));
        }

        [Fact]
        public void Search_takes_the_racing_and_validation_gate_options_and_stores_them()
        {
            string db = Path.Combine(_dir, "gated.db");
            Assert.Equal(0, Run("search", "--db", db, "--minutes", "0.01", "--population", "4", "--threads", "1", "--proxies", "TinyRanked",
                "--race-top", "3", "--race-seeds", "2", "--max-seeds", "7", "--validation-gate", "-0.2").Code);
            using (var d = new Fused.Search.Storage.SearchDatabase(db))
                Assert.Equal(new[] { "3", "2", "7", "-0.2" }, new[] { "race_top", "race_seeds", "max_seeds", "validation_gate" }.Select(k => d.GetMeta(k)));
            string off = Path.Combine(_dir, "ungated.db");
            Assert.Equal(0, Run("search", "--db", off, "--minutes", "0.01", "--population", "4", "--threads", "1", "--proxies", "TinyRanked", "--no-validation-gate").Code);
            using (var d = new Fused.Search.Storage.SearchDatabase(off)) Assert.Equal("", d.GetMeta("validation_gate"));
        }

        [Fact]
        public void An_unknown_optimizer_name_is_a_usage_error()
            => Assert.Equal(Program.UsageError, Run("train", "--optimizers", "NoSuchRule", "--epochs", "1").Code);

        [Fact]
        public void Runtime_failures_exit_with_code_1()
        {
            Assert.Equal(Program.RuntimeFailure, Run("landscape", "--out", Path.Combine(_dir, "missing", "x.csv")).Code);
            Assert.Equal(Program.RuntimeFailure, Run("train", "--data", Path.Combine(_dir, "missing"), "--epochs", "1").Code);
        }

        [Fact]
        public void Every_command_runs_with_defaults_or_tiny_arguments()
        {
            Assert.Equal(0, Run().Code);                                  // help
            Assert.Equal(0, Run("--help").Code);
            Assert.Equal(0, Run("memory").Code);
            Assert.Equal(0, Run("memory", "--state", "8bit").Code);
            Assert.Equal(0, Run("bench", "--size", "4096", "--repeats", "1", "--threads", "1").Code);
            Assert.Equal(0, Run("bench", "--size", "1", "--repeats", "1", "--threads", "1").Code);
            Assert.Equal(0, Run("landscape", "--out", Path.Combine(_dir, "trajectories.csv")).Code);
            Assert.Equal(0, Run("search", "--db", Path.Combine(_dir, "search.db"), "--minutes", "0.02", "--population", "4", "--threads", "1").Code);
            if (Directory.Exists("/usr/share/datasets/fashion-mnist"))
                Assert.Equal(0, Run("train", "--epochs", "1", "--subset", "256", "--optimizers", "AdamW", "--threads", "1",
                    "--report", Path.Combine(_dir, "report.html")).Code);
        }

        [Theory]
        [InlineData(new[] { "--epochs", "1" }, new[] { "train", "--epochs", "1" })]
        [InlineData(new[] { "--seeds", "2", "--optimizers", "AdamW" }, new[] { "train", "--seeds", "2", "--optimizers", "AdamW" })]
        [InlineData(new[] { "memory" }, new[] { "memory" })]
        [InlineData(new[] { "--help" }, new[] { "--help" })]
        [InlineData(new string[0], new string[0])]
        public void Options_alone_are_trains(string[] args, string[] expected)
            => Assert.Equal(expected, Commands.Cli.WithDefaultCommand(args));

        [Fact]
        public void Options_alone_run_train_and_its_errors_say_so()
        {
            var (code, error) = Run("--epochs", "0");
            Assert.Equal(Program.UsageError, code);
            Assert.Contains("--epochs", error);
            Assert.Contains("usage: fused train", error);
        }
    }

    /// <summary>The CLI tests share the process-wide console; run them one at a time.</summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class CliCollection
    {
        public const string Name = "CLI";
    }
}
