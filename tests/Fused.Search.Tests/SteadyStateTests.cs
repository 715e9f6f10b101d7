using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;
using Fused.Search.Storage;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Search.Tests
{
    /// <summary>
    /// Asynchronous steady-state evolution: threads and processes as workers on one database, leases that a killed
    /// worker's child is retaken under, one evaluation per functional hash, and lineage that replays from stored seeds.
    /// </summary>
    public class SteadyStateTests : IDisposable
    {
        private readonly ITestOutputHelper _log;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-search-steady-" + Guid.NewGuid().ToString("N"));

        public SteadyStateTests(ITestOutputHelper log)
        {
            _log = log;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

        /// <summary>The invariants every steady-state database keeps, whoever worked on it.</summary>
        private static void AssertConsistent(string db, int populationSize)
        {
            using var d = new SearchDatabase(db);
            var evaluations = d.Evaluations();
            var programs = Enumerable.Range(1, (int)d.ProgramCount() + 64).Select(i => d.GetProgram(i)).Where(p => p != null).Select(p => p!).ToList();
            Assert.Equal(d.ProgramCount(), programs.Count);
            // Every program's score is its hash's one evaluation; a hash is evaluated (non-equivalent) once.
            var byHash = evaluations.ToDictionary(e => e.FunctionalHash);
            Assert.All(programs, p => Assert.Equal(byHash[p.FunctionalHash].Fitness, p.Fitness));
            var fresh = programs.Where(p => !p.Equivalent).GroupBy(p => p.FunctionalHash).ToList();
            Assert.All(fresh, g => Assert.Single(g));
            Assert.Equal(evaluations.Count, fresh.Count);
            var members = d.Population();
            Assert.Equal(populationSize, members.Count);
            Assert.Equal(members.Count, members.Select(m => m.FunctionalHash).Distinct().Count()); // one member per functional hash
            // The warm start is #1; every other program (but an island's immigrants) replays from its parent and stored mutation seed.
            var warm = d.GetProgram(SteadyStateEvolution.WarmStartId)!;
            Assert.Null(warm.Parent);
            Assert.Equal("warm start", warm.Mutation);
            var mutator = new ProgramMutator();
            Assert.All(programs.Where(p => p.Parent == null && p.Id != SteadyStateEvolution.WarmStartId), p => Assert.StartsWith("immigrant from ", p.Mutation));
            foreach (var p in programs.Where(p => p.Parent != null))
            {
                var origin = d.Origin(p.Id);
                Assert.NotNull(origin);
                var parent = d.GetProgram(p.Parent!.Value)!;
                var replay = mutator.Mutate(IrText.Parse(parent.Ir), new SearchRandom(Convert.ToUInt64(origin!.Value.seed, 16)));
                Assert.Equal(p.Ir, IrText.Write(replay.Program));
                Assert.Equal(p.Mutation, replay.Description);
            }
        }

        [Fact]
        public void Threads_as_workers_keep_one_evaluation_per_hash_and_a_replayable_lineage()
        {
            var db = Path.Combine(_dir, "threads.db");
            var options = WorkerProgram.WorkerOptions(db, 21, 8) with { Mode = SearchMode.SteadyState, Threads = 2 };
            SearchResult result;
            using (var s = SearchSession.Open(options)) result = s.Run();
            Assert.False(result.Cancelled);
            Assert.Equal(8, result.Generations);
            using (var d = new SearchDatabase(db))
            {
                Assert.Empty(d.Claims());
                Assert.True(d.ProgramCount() >= 8 * options.PopulationSize, $"{d.ProgramCount()} programs");
                // Both threads evaluated children.
                var workers = Enumerable.Range(1, (int)d.ProgramCount()).Select(i => d.Origin(i)?.worker).Where(w => w != null).Distinct().ToList();
                Assert.Contains(workers, w => w!.EndsWith("worker 0", StringComparison.Ordinal));
                Assert.Contains(workers, w => w!.EndsWith("worker 1", StringComparison.Ordinal));
            }
            AssertConsistent(db, options.PopulationSize);
            // Resume: more children, the same invariants.
            using (var s = SearchSession.Resume(db, maxGenerations: 10, threads: 2)) Assert.Equal(10, s.Run().Generations);
            AssertConsistent(db, options.PopulationSize);
        }

        [Fact]
        public void A_lease_that_expires_is_retaken_and_its_child_admitted_with_its_stored_id_parent_and_seed()
        {
            var db = Path.Combine(_dir, "lease.db");
            var options = WorkerProgram.WorkerOptions(db, 5, 3) with { Mode = SearchMode.SteadyState, Threads = 1, ChildLease = TimeSpan.FromSeconds(1) };
            using (var s = SearchSession.Open(options)) s.Run();
            // A worker on another host (never declared dead) claims a child of #1 and vanishes.
            PendingChild claimed;
            using (var d = new SearchDatabase(db))
            {
                var warm = IrText.Parse(d.GetProgram(SteadyStateEvolution.WarmStartId)!.Ir);
                RuleProgram child;
                ulong seed = 1000;
                do child = new ProgramMutator().Mutate(warm, new SearchRandom(++seed)).Program;
                while (d.GetEvaluation(SearchSession.Hashes(child).functional) != null);
                var (f, st) = SearchSession.Hashes(child);
                var offered = new PendingChild(0, SteadyStateEvolution.WarmStartId, "by the vanished worker", seed.ToString("x16"), f, st, IrText.Write(child), "pid 7 on far-away-host (session x) worker 0");
                var (outcome, c) = d.ClaimChild(offered, TimeSpan.FromSeconds(1), options.PopulationSize, _ => false);
                Assert.Equal(SearchDatabase.ChildClaim.Claimed, outcome);
                claimed = c;
                // While the lease is live another worker leaves it alone.
                Assert.Null(d.TakeAbandonedClaim("someone else", TimeSpan.FromSeconds(1), _ => false));
                Assert.Equal(SearchDatabase.ChildClaim.InFlight, d.ClaimChild(offered with { Id = 0, Owner = "someone else" }, TimeSpan.FromSeconds(1), options.PopulationSize, _ => false).outcome);
            }
            Thread.Sleep(1200);
            using (var s = SearchSession.Resume(db, maxGenerations: 4, threads: 1, childLease: TimeSpan.FromSeconds(1))) s.Run();
            using (var d = new SearchDatabase(db))
            {
                Assert.Empty(d.Claims());
                var p = d.GetProgram(claimed.Id)!;
                Assert.Equal(claimed.FunctionalHash, p.FunctionalHash);
                Assert.Equal("by the vanished worker", p.Mutation);
                Assert.Equal(claimed.Seed, d.Origin(claimed.Id)!.Value.seed);
                Assert.NotNull(d.GetEvaluation(claimed.FunctionalHash));
            }
        }

        [Fact]
        public void Two_worker_processes_share_a_database_and_a_killed_ones_child_is_retaken()
        {
            var db = Path.Combine(_dir, "processes.db");
            const long generations = 4;
            // Two processes on a new database at once: both make children, none evaluated twice.
            var a = Start(db, generations);
            var b = Start(db, generations);
            foreach (var p in new[] { a, b })
            {
                Assert.True(p.WaitForExit(300_000), "worker did not finish");
                Assert.True(p.ExitCode == 0, $"worker failed: {p.StandardError.ReadToEnd()}");
            }
            var pids = new[] { a.Id, b.Id };
            using (var d = new SearchDatabase(db))
            {
                var workers = Enumerable.Range(1, (int)d.ProgramCount()).Select(i => d.Origin(i)?.worker).Where(w => w != null).ToList();
                foreach (var pid in pids) Assert.Contains(workers, w => w!.StartsWith($"pid {pid} ", StringComparison.Ordinal));
                Assert.Empty(d.Claims());
            }
            AssertConsistent(db, WorkerProgram.SteadyOptions(db, 1, 1, TimeSpan.Zero).PopulationSize);

            // Kill a worker while it evaluates (it holds a lease), then resume with another: the child is retaken.
            PendingChild? orphan = null;
            for (int attempt = 0; attempt < 10 && orphan == null; attempt++)
            {
                long before;
                using (var d = new SearchDatabase(db)) before = long.Parse(d.GetMeta("children")!);
                var victim = Start(db, 1000);
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < 120 && !victim.HasExited)
                {
                    using (var d = new SearchDatabase(db))
                        if (long.Parse(d.GetMeta("children")!) > before + attempt && d.Claims().Any(c => c.Owner.StartsWith($"pid {victim.Id} ", StringComparison.Ordinal))) break;
                    Thread.Sleep(20);
                }
                victim.Kill();
                victim.WaitForExit();
                using (var d = new SearchDatabase(db)) orphan = d.Claims().FirstOrDefault(c => c.Owner.StartsWith($"pid {victim.Id} ", StringComparison.Ordinal));
                _log.WriteLine(orphan == null ? "the kill landed between evaluations" : $"killed pid {victim.Id} holding #{orphan.Id}");
            }
            Assert.NotNull(orphan);
            long target;
            using (var d = new SearchDatabase(db)) target = long.Parse(d.GetMeta("generation")!) + 1;
            var resumed = Start(db, target);
            Assert.True(resumed.WaitForExit(300_000), "resumed worker did not finish");
            Assert.True(resumed.ExitCode == 0, $"resumed worker failed: {resumed.StandardError.ReadToEnd()}");
            using (var d = new SearchDatabase(db))
            {
                Assert.Empty(d.Claims());
                Assert.True(long.Parse(d.GetMeta("generation")!) >= target);
                var retaken = d.GetProgram(orphan!.Id)!;
                Assert.Equal(orphan.FunctionalHash, retaken.FunctionalHash);
                Assert.StartsWith($"pid {resumed.Id} ", d.Origin(orphan.Id)!.Value.worker);
            }
            AssertConsistent(db, WorkerProgram.SteadyOptions(db, 1, 1, TimeSpan.Zero).PopulationSize);
        }

        [Fact]
        public void Islands_exchange_their_top_programs_through_a_directory_and_score_immigrants_locally()
        {
            var exchange = Path.Combine(_dir, "exchange");
            SearchOptions Island(string name, ulong seed, long generations) => WorkerProgram.WorkerOptions(Path.Combine(_dir, name + ".db"), seed, generations) with
            {
                Mode = SearchMode.SteadyState, Threads = 1, IslandDirectory = exchange, IslandName = name, Migrants = 3,
            };
            var a = Island("A", 31, 3);
            using (var s = SearchSession.Open(a)) s.Run();
            // A's file: its top 3 distinct programs by fitness.
            var exported = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(exchange, "A.top.json"))).RootElement
                .EnumerateArray().Select(e => (hash: e.GetProperty("FunctionalHash").GetString()!, fitness: e.GetProperty("Fitness").GetDouble())).ToList();
            Assert.Equal(3, exported.Count);
            Assert.Equal(3, exported.Select(e => e.hash).Distinct().Count());
            using (var d = new SearchDatabase(a.DatabasePath))
            {
                var best = d.Evaluations().Select(e => e.Fitness).OrderByDescending(f => f).ToList();
                Assert.Equal(best[0], exported[0].fitness);
                Assert.True(exported.Zip(exported.Skip(1), (x, y) => x.fitness >= y.fitness).All(ok => ok));
            }

            var b = Island("B", 32, 3);
            using (var s = SearchSession.Open(b)) s.Run();
            using (var d = new SearchDatabase(b.DatabasePath))
            {
                // Every program A exported is known to B now: scored on B (immigrants) unless B had found it itself.
                foreach (var (hash, _) in exported) Assert.NotNull(d.GetEvaluation(hash));
                var immigrants = Enumerable.Range(1, (int)d.ProgramCount() + 64).Select(i => d.GetProgram(i)).Where(p => p != null && p.Mutation.StartsWith("immigrant from A ", StringComparison.Ordinal)).ToList();
                Assert.NotEmpty(immigrants);
                Assert.All(immigrants, p => Assert.Null(p!.Parent));
                Assert.All(immigrants, p => Assert.Contains(exported, e => e.hash == p!.FunctionalHash));
                Assert.Empty(d.Claims());
            }
            AssertConsistent(b.DatabasePath, b.PopulationSize);
            Assert.True(File.Exists(Path.Combine(exchange, "B.top.json")));

            // A resumed as an island takes B's file and never its own.
            using (var s = SearchSession.Resume(a.DatabasePath, maxGenerations: 5, threads: 1, islands: (exchange, "A"))) s.Run();
            using (var d = new SearchDatabase(a.DatabasePath))
                Assert.DoesNotContain(Enumerable.Range(1, (int)d.ProgramCount() + 64).Select(i => d.GetProgram(i)), p => p != null && p.Mutation.StartsWith("immigrant from A ", StringComparison.Ordinal));
            AssertConsistent(a.DatabasePath, a.PopulationSize);
        }

        [Fact]
        public void A_killed_island_resumes_and_still_exchanges()
        {
            var exchange = Path.Combine(_dir, "exchange");
            var a = Path.Combine(_dir, "island-a.db");
            var b = Path.Combine(_dir, "island-b.db");
            // Island B runs to the end and exports; island A is killed mid-run, then resumed.
            var bProcess = Process.Start(Worker(b, 3, exchange, "B"))!;
            Assert.True(bProcess.WaitForExit(300_000));
            Assert.Equal(0, bProcess.ExitCode);
            var victim = Process.Start(Worker(a, 1000, exchange, "A"))!;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < 120 && !File.Exists(Path.Combine(exchange, "A.top.json"))) Thread.Sleep(20);
            Thread.Sleep(1500);
            victim.Kill();
            victim.WaitForExit();
            long target;
            using (var d = new SearchDatabase(a)) target = long.Parse(d.GetMeta("generation")!) + 2;
            var resumed = Process.Start(Worker(a, target, exchange, "A"))!;
            Assert.True(resumed.WaitForExit(300_000));
            Assert.True(resumed.ExitCode == 0, resumed.StandardError.ReadToEnd());
            using (var d = new SearchDatabase(a))
            {
                Assert.Empty(d.Claims());
                Assert.True(long.Parse(d.GetMeta("generation")!) >= target);
                // B's exported programs are all known to A (immigrants scored on A, or found by A itself).
                var fromB = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(exchange, "B.top.json"))).RootElement.EnumerateArray()
                    .Select(e => e.GetProperty("FunctionalHash").GetString()!).ToList();
                Assert.NotEmpty(fromB);
                Assert.All(fromB, h => Assert.NotNull(d.GetEvaluation(h)));
            }
            AssertConsistent(a, WorkerProgram.SteadyOptions(a, 1, 1, TimeSpan.Zero).PopulationSize);
            // The file the resumed island left is whole.
            Assert.Equal(3, System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(exchange, "A.top.json"))).RootElement.GetArrayLength());
        }

        [Fact]
        public void Workers_command_prepares_the_reference_once_then_runs_the_processes_and_prints_the_best()
        {
            var db = Path.Combine(_dir, "workers.db");
            var options = WorkerProgram.SteadyOptions(db, 17, 3, TimeSpan.FromSeconds(30));
            var output = new StringWriter();
            Assert.Equal(0, SearchCommandRunner.RunWorkers(output, options, 2, _ => Worker(db, 3), CancellationToken.None));
            var text = output.ToString();
            _log.WriteLine(text);
            Assert.Contains("preparing the reference", text);
            Assert.Contains("[worker 1, pid ", text);
            Assert.Contains("[worker 2, pid ", text);
            Assert.Contains("best program #", text);
            Assert.Contains("(read relative to tuned AdamW)", text);
            AssertConsistent(db, options.PopulationSize);

            var generational = options with { DatabasePath = Path.Combine(_dir, "generational.db"), Mode = SearchMode.Generational };
            var e = Assert.Throws<ArgumentException>(() => SearchCommandRunner.RunWorkers(TextWriter.Null, generational, 2, _ => Worker(db, 3), CancellationToken.None));
            Assert.DoesNotContain("\n", e.Message);
            Assert.False(File.Exists(generational.DatabasePath), "a refused --workers must not create the database");
        }

        private static ProcessStartInfo Worker(string db, long generations, string? islands = null, string? island = null)
        {
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = false,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { typeof(WorkerProgram).Assembly.Location, "steady", db, "17", generations.ToString(), "30" }) psi.ArgumentList.Add(arg);
            if (islands != null) { psi.ArgumentList.Add(islands); psi.ArgumentList.Add(island!); }
            return psi;
        }

        private static Process Start(string db, long generations) => Process.Start(Worker(db, generations))!;
    }
}
