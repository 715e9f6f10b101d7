using System;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Search.Storage;
using Xunit;

namespace Fused.Search.Tests
{
    public class SearchTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-search-tests-" + Guid.NewGuid().ToString("N"));

        public SearchTests() => Directory.CreateDirectory(_dir);
        public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

        internal static string Snapshot(string db)
        {
            using var d = new SearchDatabase(db);
            var evals = string.Join("\n", d.Evaluations().Select(e => $"{e.FunctionalHash} {e.Fitness:R} {e.Generation} {e.StagesReached}"));
            var population = string.Join("\n", d.Population().Select(p => $"{p.Id} {p.Parent} {p.FunctionalHash} {p.Fitness:R} {p.Mutation} {p.Equivalent}\n{p.Ir}"));
            var meta = string.Join(" ", new[] { "generation", "rng", "next_id", "children", "equivalent", "best_fitness", "last_improvement" }.Select(k => k + "=" + d.GetMeta(k)));
            return $"{meta}\nprograms {d.ProgramCount()}\n{evals}\n---\n{population}";
        }

        private string Run(string name, ulong seed, long generations)
        {
            var db = Path.Combine(_dir, name);
            using var s = SearchSession.Open(WorkerProgram.WorkerOptions(db, seed, generations));
            var r = s.Run();
            Assert.False(r.Cancelled);
            Assert.Equal(generations, r.Generations);
            return db;
        }

        [Fact]
        public void Seeded_runs_are_reproducible_and_seeds_matter()
        {
            var a = Snapshot(Run("a.db", 5, 12));
            var b = Snapshot(Run("b.db", 5, 12));
            var c = Snapshot(Run("c.db", 6, 12));
            Assert.Equal(a, b);
            Assert.NotEqual(a, c);
        }

        [Fact]
        public void Resuming_in_process_continues_exactly()
        {
            var whole = Snapshot(Run("whole.db", 9, 20));
            var db = Path.Combine(_dir, "split.db");
            using (var s = SearchSession.Open(WorkerProgram.WorkerOptions(db, 9, 8))) s.Run();
            using (var s = SearchSession.Resume(db, maxGenerations: 20, threads: 1)) s.Run();
            Assert.Equal(whole, Snapshot(db));
        }

        [Fact]
        public void Population_evaluations_and_lineage_are_consistent()
        {
            var db = Run("lineage.db", 3, 15);
            using var d = new SearchDatabase(db);
            var population = d.Population();
            Assert.Equal(12, population.Count);
            var evaluations = d.Evaluations().ToDictionary(e => e.FunctionalHash);
            foreach (var p in population)
            {
                Assert.Equal(evaluations[p.FunctionalHash].Fitness, p.Fitness);
                var lineage = d.Lineage(p.Id);
                Assert.Equal("warm start", lineage[^1].Mutation);
                Assert.Null(lineage[^1].Parent);
                Assert.Equal(p.Id, lineage[0].Id);
            }
            long equivalent = long.Parse(d.GetMeta("equivalent")!);
            long children = long.Parse(d.GetMeta("children")!);
            Assert.Equal(children, d.ProgramCount());
            Assert.Equal(children - equivalent, d.EvaluationCount());
        }

        [Fact]
        public void Cancellation_stops_cleanly_and_keeps_the_database_usable()
        {
            var db = Path.Combine(_dir, "cancel.db");
            using var cts = new CancellationTokenSource();
            using (var s = SearchSession.Open(WorkerProgram.WorkerOptions(db, 4, 100000)))
            {
                s.Progress += p => { if (p.Generation >= 5) cts.Cancel(); };
                var r = s.Run(cts.Token);
                Assert.True(r.Cancelled);
                Assert.InRange(r.Generations, 5, 6);
            }
            using (var s = SearchSession.Resume(db, maxGenerations: 8)) Assert.Equal(8, s.Run().Generations);
        }

        [Fact]
        public void Command_runner_prints_progress_and_the_best_rule()
        {
            var db = Path.Combine(_dir, "cli.db");
            var output = new StringWriter();
            int code = SearchCommandRunner.Run(output, WorkerProgram.WorkerOptions(db, 2, 4), CancellationToken.None);
            Assert.Equal(0, code);
            var text = output.ToString();
            Assert.Contains("new search in", text);
            Assert.Contains("gen     4", text);
            Assert.Contains("evals/s", text);
            Assert.Contains("[Optimizer]", text);
            Assert.Contains("lineage:", text);
        }
    }
}
