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
            for (int attempt = 0; attempt < 12 && midRunKills < 4; attempt++)
            {
                using var child = Start(db);
                // Wait until the worker has committed at least one generation in this life, then a random extra moment.
                var lines = 0;
                child.OutputDataReceived += (_, e) => { if (e.Data != null) Interlocked.Increment(ref lines); };
                child.BeginOutputReadLine();
                var clock = Stopwatch.StartNew();
                while (Volatile.Read(ref lines) == 0 && !child.HasExited && clock.ElapsedMilliseconds < 60000) Thread.Sleep(5);
                Thread.Sleep(rng.Next(0, 150));
                if (child.HasExited) break;
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
                _log.WriteLine($"killed at generation {generation}, {seen.Count} evaluations stored");
                if (generation > 0 && generation < Generations) midRunKills++;
            }
            Assert.True(midRunKills >= 2, $"only {midRunKills} kills landed mid-run");

            // Let it finish.
            using (var child = Start(db))
            {
                child.BeginOutputReadLine();
                Assert.True(child.WaitForExit(120000), "worker did not finish");
                Assert.Equal(0, child.ExitCode);
            }
            Assert.Equal(reference, SearchTests.Snapshot(db));
            using (var d = new SearchDatabase(db))
                foreach (var kv in seen) Assert.Equal(kv.Value, d.GetEvaluation(kv.Key)!.Fitness);
        }

        private static Process Start(string db)
        {
            var dll = typeof(WorkerProgram).Assembly.Location;
            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            var psi = new ProcessStartInfo(dotnet)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = false,
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
