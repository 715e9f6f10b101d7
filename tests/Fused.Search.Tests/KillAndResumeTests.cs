using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Search.Storage;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Search.Tests
{
    /// <summary>
    /// Runs the search in a child process (this assembly's <see cref="WorkerProgram"/>), kills it with
    /// SIGKILL at random moments, resumes, and checks that the result is exactly that of an
    /// uninterrupted run: no finished evaluation lost (each one seen after a kill survives unchanged),
    /// none repeated (evaluations are inserted without conflict handling, so a repeat would crash the
    /// worker), the population, RNG state and counters restored.
    /// </summary>
    public class KillAndResumeTests : IDisposable
    {
        private readonly ITestOutputHelper _log;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-search-kill-" + Guid.NewGuid().ToString("N"));

        public KillAndResumeTests(ITestOutputHelper log)
        {
            _log = log;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

        private const long Generations = 120;
        private const ulong Seed = 13;

        [Fact]
        public void Killed_search_resumes_with_nothing_lost_or_repeated()
        {
            var referenceDb = Path.Combine(_dir, "reference.db");
            using (var s = SearchSession.Open(WorkerProgram.WorkerOptions(referenceDb, Seed, Generations))) s.Run();
            var reference = SearchTests.Snapshot(referenceDb);

            var db = Path.Combine(_dir, "killed.db");
            var rng = new Random(20261122);
            var seen = new Dictionary<string, double>();
            int midRunKills = 0;
            var history = new List<string>();
            for (int attempt = 0; attempt < 12 && midRunKills < 4; attempt++)
            {
                using var child = Start(db);
                // Wait until the worker has committed a random number (1..3) of generations in this life,
                // then a random extra moment, and kill it wherever it is.
                var output = new ChildOutput(child);
                int waitFor = rng.Next(1, 4);
                var clock = Stopwatch.StartNew();
                while (output.Lines < waitFor && !child.HasExited && clock.ElapsedMilliseconds < 120000) Thread.Sleep(2);
                Thread.Sleep(rng.Next(0, 60));
                if (child.HasExited)
                {
                    child.WaitForExit();
                    output.Join();
                    // Only a finished search may end by itself; anything else is a crash worth reading.
                    Assert.True(child.ExitCode == 0, $"worker exited by itself with code {child.ExitCode}:\n{output}");
                    history.Add($"worker finished by itself after {output.Lines} progress lines (waiting for {waitFor}), {clock.ElapsedMilliseconds} ms");
                    break;
                }
                child.Kill(); // SIGKILL
                child.WaitForExit();
                long generation;
                using (var d = new SearchDatabase(db))
                {
                    generation = long.Parse(d.GetMeta("generation")!);
                    foreach (var e in d.Evaluations())
                    {
                        if (seen.TryGetValue(e.FunctionalHash, out var fitness)) Assert.Equal(fitness, e.Fitness);
                        seen[e.FunctionalHash] = e.Fitness;
                    }
                    // Everything seen before this kill is still there.
                    var now = d.Evaluations().Select(e => e.FunctionalHash).ToHashSet();
                    Assert.All(seen.Keys, h => Assert.Contains(h, now));
                }
                history.Add($"killed at generation {generation}, {seen.Count} evaluations stored");
                _log.WriteLine(history[^1]);
                if (generation > 0 && generation < Generations) midRunKills++;
            }
            Assert.True(midRunKills >= 2, $"only {midRunKills} kills landed mid-run:\n{string.Join("\n", history)}");

            // Let it finish.
            using (var child = Start(db))
            {
                var output = new ChildOutput(child);
                Assert.True(child.WaitForExit(300000), "worker did not finish");
                child.WaitForExit();
                output.Join();
                Assert.True(child.ExitCode == 0, $"worker failed with code {child.ExitCode}:\n{output}");
            }
            Assert.Equal(reference, SearchTests.Snapshot(db));
            using (var d = new SearchDatabase(db))
                foreach (var kv in seen) Assert.Equal(kv.Value, d.GetEvaluation(kv.Key)!.Fitness);
        }

        /// <summary>
        /// A child's stdout and stderr read line by line on two dedicated threads. Not the thread pool
        /// (OutputDataReceived): while other tests keep the pool busy its callbacks can lag by seconds, long
        /// enough for the whole search to finish before the first progress line is counted (how this test
        /// used to fail with "0 kills landed mid-run").
        /// </summary>
        private sealed class ChildOutput
        {
            private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
            private readonly Thread[] _readers;
            private int _progressLines;

            public ChildOutput(Process child)
            {
                _readers = new[]
                {
                    Reader(child.StandardOutput, "", counts: true),
                    Reader(child.StandardError, "stderr: ", counts: false),
                };
                foreach (var r in _readers) r.Start();
            }

            public int Lines => Volatile.Read(ref _progressLines);

            private Thread Reader(StreamReader stream, string prefix, bool counts) => new Thread(() =>
            {
                string? line;
                while ((line = stream.ReadLine()) != null)
                {
                    _lines.Enqueue(prefix + line);
                    if (counts) Interlocked.Increment(ref _progressLines);
                }
            }) { IsBackground = true };

            /// <summary>Waits for both streams to end (after the child exited).</summary>
            public void Join() { foreach (var r in _readers) r.Join(10000); }

            public override string ToString() => string.Join("\n", _lines);
        }

        private static Process Start(string db)
        {
            var dll = typeof(WorkerProgram).Assembly.Location;
            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            var psi = new ProcessStartInfo(dotnet)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(dll);
            psi.ArgumentList.Add("worker");
            psi.ArgumentList.Add(db);
            psi.ArgumentList.Add(Seed.ToString());
            psi.ArgumentList.Add(Generations.ToString());
            return Process.Start(psi)!;
        }
    }
}
