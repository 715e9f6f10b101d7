using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fused.Search.Evaluation;
using Fused.Search.Storage;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>One running search per database (a second refuses in one line) and settings changed on resume are reported.</summary>
    public class ClaimTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-search-claim-" + Guid.NewGuid().ToString("N"));

        public ClaimTests() => Directory.CreateDirectory(_dir);
        public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

        [Fact]
        public async Task A_second_search_on_a_running_database_refuses_clearly_and_runs_once_the_first_stops()
        {
            var db = Path.Combine(_dir, "claimed.db");
            using var cancel = new CancellationTokenSource();
            using var first = SearchSession.Open(WorkerProgram.WorkerOptions(db, 3, 1_000_000));
            var running = Task.Run(() => first.Run(cancel.Token));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (first.Generation < 2 && clock.Elapsed.TotalSeconds < 120) Thread.Sleep(10);
            Assert.True(first.Generation >= 2, "the first search did not start");

            using (var second = SearchSession.Resume(db, maxGenerations: 1_000_000))
            {
                var e = Assert.Throws<SearchDatabaseException>(() => second.Run());
                Assert.Contains("another search is running on it", e.Message);
                Assert.Contains($"pid {Environment.ProcessId}", e.Message);
                Assert.DoesNotContain("\n", e.Message);
            }
            long before = first.Generation;
            Assert.True(before >= 2);

            cancel.Cancel();
            var stopped = await running.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(stopped.Cancelled);
            using var third = SearchSession.Resume(db, maxGenerations: stopped.Generations + 2);
            var result = third.Run();
            Assert.False(result.Cancelled);
            Assert.Equal(stopped.Generations + 2, result.Generations);
        }

        [Fact]
        public void A_claim_left_by_a_dead_process_on_this_host_is_taken_over()
        {
            var db = Path.Combine(_dir, "stale.db");
            using (var s = SearchSession.Open(WorkerProgram.WorkerOptions(db, 3, 1))) s.Run();
            // A holder whose process does not exist (pid beyond the kernel's maximum), lease far in the future.
            using (var d = new SearchDatabase(db))
                Assert.Null(d.TryClaim($"pid 2147483646 on {Environment.MachineName} (session dead)", TimeSpan.FromHours(1), _ => false));
            using var again = SearchSession.Resume(db, maxGenerations: 3);
            Assert.Equal(3, again.Run().Generations);
            // A live holder elsewhere is respected.
            using (var d = new SearchDatabase(db))
                Assert.Null(d.TryClaim("pid 1 on some-other-host (session x)", TimeSpan.FromHours(1), _ => false));
            using var refused = SearchSession.Resume(db, maxGenerations: 5);
            Assert.Contains("some-other-host", Assert.Throws<SearchDatabaseException>(() => refused.Run()).Message);
        }

        [Fact]
        public void Changed_population_and_seed_on_resume_are_reported()
        {
            var db = Path.Combine(_dir, "resume.db");
            var options = WorkerProgram.WorkerOptions(db, 3, 2);
            SearchCommandRunner.Run(TextWriter.Null, options, CancellationToken.None);
            var output = new StringWriter();
            SearchCommandRunner.Run(output, options with { PopulationSize = 20, Seed = 4, MaxGenerations = 3 }, CancellationToken.None);
            var text = output.ToString();
            Assert.Contains("note: --population 20 differs from the stored 12", text);
            Assert.Contains("note: --seed 4 differs from the stored 3", text);
            Assert.DoesNotContain("--tournament", text);
            var quiet = new StringWriter();
            SearchCommandRunner.Run(quiet, options with { MaxGenerations = 4 }, CancellationToken.None);
            Assert.DoesNotContain("note:", quiet.ToString());
        }
    }
}

namespace Fused.Search.Tests
{
    /// <summary>The ranked suite inside a search: AdamW's tuning cached in the database, new bests confirmed on fresh seeds.</summary>
    public class RankedSearchTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-search-ranked-" + Guid.NewGuid().ToString("N"));

        public RankedSearchTests() => Directory.CreateDirectory(_dir);
        public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

        [Fact]
        public void Ranked_search_caches_the_reference_and_confirms_every_new_best_on_fresh_seeds()
        {
            var db = Path.Combine(_dir, "ranked.db");
            var options = WorkerProgram.WorkerOptions(db, 7, 3) with { Proxies = ProxySuiteKind.TinyRanked, PopulationSize = 6, BatchSize = 4, TournamentSize = 3 };
            using (var s = SearchSession.Open(options)) s.Run();
            using var d = new SearchDatabase(db);
            // A new search tunes its baseline past the grid's edges (meta baseline_grid = extended): those keys end in ":edges".
            Assert.Equal("extended", d.GetMeta("baseline_grid"));
            Assert.NotNull(d.GetMeta("adamw_tuned:zipf-token(V32,d4,b16,T40):1:edges"));
            foreach (var seed in new[] { 1, 2, 3 }) Assert.NotNull(d.GetMeta($"adamw_curve:zipf-token(V32,d4,b16,T40):1:edges:{seed}"));
            var evaluations = d.Evaluations();
            // Every ranked evaluation holds the gate score, the ranked fitness and, if it was a would-be best, the confirmed one.
            var confirmed = evaluations.Where(e => e.StageScores.Split(';').Length == 3).ToList();
            Assert.NotEmpty(confirmed);
            Assert.All(confirmed, e => Assert.Equal(double.Parse(e.StageScores.Split(';')[2], System.Globalization.CultureInfo.InvariantCulture), e.Fitness));
            var best = d.Best()!;
            Assert.Contains(confirmed, e => e.FunctionalHash == best.FunctionalHash);
            Assert.InRange(best.Fitness, ReferenceCurve.MinSpeedup, ReferenceCurve.MaxSpeedup);
        }
    }
}
