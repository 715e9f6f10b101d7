using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fused.Ir;
using Fused.Search.Evaluation;
using Fused.Search.Storage;

namespace Fused.Search
{
    /// <summary>
    /// Asynchronous steady-state regularized evolution: every worker (a thread here, and any number of processes on the
    /// same database) loops on its own — take a parent by tournament from the population as it is now, mutate it, claim
    /// the child's functional hash under a lease, evaluate it, admit it as the youngest member and retire the oldest.
    /// No worker waits for another (no generation barrier). Child n of the run (a counter in the database) starts from
    /// the search seed and n alone; its mutation stream's seed is stored with it, so its lineage replays exactly
    /// (<c>Mutate(parent, new SearchRandom(seed))</c>) although the order children finish in is not reproducible.
    /// Child 0 is the warm start (program id 1) and children 1 … population − 1 are mutants of it. A lease that is not
    /// renewed (its worker was killed) expires and another worker retakes that child first; a stopped worker gives its
    /// leases back at once.
    /// </summary>
    internal sealed class SteadyStateEvolution
    {
        /// <summary>Program id reserved for the warm start (child 0).</summary>
        public const long WarmStartId = 1;

        private readonly SearchSession _session;
        private readonly SearchDatabase _db;
        private readonly TimeSpan _lease;
        private readonly ulong _seed;
        private readonly object _progressGate = new object();
        private DateTime _lastProgress = DateTime.MinValue;
        private long _evaluatedThisRun;
        private readonly (IslandExchange exchange, int interval)? _islands;
        private long _admittedThisRun;

        public SteadyStateEvolution(SearchSession session, TimeSpan lease, (IslandExchange exchange, int interval)? islands = null)
        {
            _islands = islands;
            _session = session;
            _db = session.Database;
            _lease = lease;
            _seed = ulong.Parse(_db.GetMeta("seed")!, CultureInfo.InvariantCulture);
        }

        /// <summary>Runs the workers until the generation limit or cancellation; returns the evaluations this run made.</summary>
        public long Run(int workers, string owner, long? maxGenerations, Stopwatch clock, Action<SearchProgress>? progress, CancellationToken ct)
        {
            Exchange(owner);
            var tasks = Enumerable.Range(0, workers).Select(i => Task.Factory.StartNew(() =>
            {
                string me = $"{owner} worker {i}";
                try { WorkerLoop(me, maxGenerations, clock, progress, ct); }
                finally { _db.ReleaseChildClaims(me); }
            }, TaskCreationOptions.LongRunning)).ToArray();
            try { Task.WaitAll(tasks); }
            catch (AggregateException e) when (ct.IsCancellationRequested && e.Flatten().InnerExceptions.All(x => x is OperationCanceledException)) { }
            _islands?.exchange.Export();
            return Interlocked.Read(ref _evaluatedThisRun);
        }

        /// <summary>An island exports its top programs and offers the others' as immigrants (one worker at a time).</summary>
        private void Exchange(string owner)
        {
            if (_islands is not { } islands) return;
            lock (islands.exchange)
            {
                islands.exchange.Export();
                islands.exchange.Import(owner);
            }
        }

        private void WorkerLoop(string owner, long? maxGenerations, Stopwatch clock, Action<SearchProgress>? progress, CancellationToken ct)
        {
            while (!ct.IsCancellationRequested && (!maxGenerations.HasValue || _session.Generation < maxGenerations.Value))
            {
                var child = _db.TakeAbandonedClaim(owner, _lease, SearchSession.IsStale) ?? NewChild(owner);
                if (child != null) // else: admitted with a known score, or another worker is on it
                {
                    Evaluate(child, owner, ct);
                    Interlocked.Increment(ref _evaluatedThisRun);
                    Report(clock, progress, force: false);
                }
                if (_islands is { } islands && Interlocked.Increment(ref _admittedThisRun) % islands.interval == 0) Exchange(owner);
            }
        }

        /// <summary>Makes child n and offers it; the claimed child, or null when it needed no evaluation here.</summary>
        private PendingChild? NewChild(string owner)
        {
            long n = _db.NextCounter("next_child");
            int size = _session.PopulationSize;
            var rng = new SearchRandom(_seed ^ (0x9E3779B97F4A7C15UL * (ulong)(n + 1)));
            RuleProgram program;
            long? parentId;
            string mutation;
            ulong mutationSeed = rng.NextULong();
            if (n == 0)
            {
                program = _session.WarmStart;
                parentId = null;
                mutation = "warm start";
            }
            else
            {
                var population = _db.Population();
                (RuleProgram parent, long? id) from = (_session.WarmStart, WarmStartId);
                if (n >= size && population.Count > 0)
                {
                    ProgramRecord? best = null;
                    for (int k = 0; k < _session.TournamentSize; k++)
                    {
                        var candidate = population[rng.Next(population.Count)];
                        if (best == null || SearchSession.Beats(candidate, best)) best = candidate;
                    }
                    from = (IrText.Parse(best!.Ir), best.Id);
                }
                var m = _session.Mutator.Mutate(from.parent, new SearchRandom(mutationSeed));
                (program, parentId, mutation) = (m.Program, from.id, m.Description);
            }
            var (fhash, shash) = SearchSession.Hashes(program);
            var offered = new PendingChild(n == 0 ? WarmStartId : 0, parentId, mutation, n == 0 ? "" : mutationSeed.ToString("x16", CultureInfo.InvariantCulture),
                fhash, shash, IrText.Write(program), owner);
            var (outcome, child) = _db.ClaimChild(offered, _lease, size, SearchSession.IsStale);
            return outcome == SearchDatabase.ChildClaim.Claimed ? child : null;
        }

        private void Evaluate(PendingChild child, string owner, CancellationToken ct)
        {
            using var renew = new Timer(_ => { try { _db.RenewChildClaim(child.FunctionalHash, owner, _lease); } catch (Exception) { } }, null, _lease / 3, _lease / 3);
            var program = IrText.Parse(child.Ir);
            var parentFHash = child.Parent is { } p ? _db.GetProgram(p)?.FunctionalHash : null;
            var funnel = _session.Funnel;
            var r = funnel.Evaluate(program, ct, _session.InheritedFactors(parentFHash, ct));
            double fitness = r.Fitness;
            var stageScores = string.Join(";", r.StageScores.Select(SearchDatabase.Format));
            // The top of the population is trusted only after fresh instances agree (the winner's curse of run 4), and a would-be
            // best only if it does not lose on the validation tasks (run 6's overfitting to its ranking tasks).
            if (r.Ranked != null && _session.Promotion is { } promotion)
            {
                double best = double.Parse(_db.GetMeta("best_fitness")!, CultureInfo.InvariantCulture);
                var fresh = SearchSession.FreshSeeds(child.FunctionalHash, promotion.Settings.MaxSeeds - r.Ranked.PerSeed.Count);
                var o = promotion.Decide(program, r.Ranked, fresh, promotion.TopEntry(_db.Population().Select(p => p.Fitness)), best, ct);
                if (o.Selection.PerSeed.Count > r.Ranked.PerSeed.Count || o.Validation != null)
                {
                    fitness = o.Fitness;
                    stageScores += ";" + SearchDatabase.Format(fitness);
                }
                if (o.Validation != null) _db.SetMeta(new System.Collections.Generic.Dictionary<string, string> { [Promotion.MetaKey(child.FunctionalHash)] = Promotion.Describe(o) });
            }
            long generation = _session.Generation;
            var record = new EvaluationRecord(child.FunctionalHash, child.StructuralHash, fitness, r.StagesReached, stageScores,
                string.Join(";", r.Tasks.Select(t => $"{t.Task}={SearchDatabase.Format(t.Loss)}@{SearchDatabase.Format(t.LearningRate)}")),
                r.Seconds, generation, child.Ir);
            _db.CompleteChild(child, record, _session.PopulationSize);
        }

        /// <summary>A progress report at most every few seconds (children finish at any moment; there are no generations to report).</summary>
        private void Report(Stopwatch clock, Action<SearchProgress>? progress, bool force)
        {
            if (progress == null) return;
            lock (_progressGate)
            {
                if (!force && (DateTime.UtcNow - _lastProgress).TotalSeconds < ProgressInterval.TotalSeconds) return;
                _lastProgress = DateTime.UtcNow;
                progress(_session.Snapshot(Interlocked.Read(ref _evaluatedThisRun), clock, restarted: false));
            }
        }

        /// <summary>How often a steady-state search reports progress.</summary>
        public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);
    }
}
