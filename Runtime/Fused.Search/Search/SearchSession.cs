using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;
using Fused.Search.Storage;

namespace Fused.Search
{
    /// <summary>
    /// Regularized evolution over update-rule programs (Lion's recipe with hero's typed mutations), in one of two
    /// modes stored with the search: <see cref="SearchMode.SteadyState"/> (<see cref="SteadyStateEvolution"/>, the
    /// default: asynchronous workers, threads and processes, no barrier) or <see cref="SearchMode.Generational"/>,
    /// described here: each generation draws <see cref="SearchOptions.BatchSize"/> parents by tournament, mutates them,
    /// scores the children through the funnel (in parallel; programs with a known functional hash
    /// reuse the stored score), appends them to the population and retires the oldest. Generation 0
    /// is the warm start and mutations of it; after <see cref="SearchOptions.RestartAfter"/> generations
    /// without improvement the population restarts from the best program.
    /// Every evaluation is committed as it finishes; a generation's population change, RNG state and
    /// counters commit together. A generation is a pure function of the stored state, so a killed run
    /// resumed with <see cref="Resume"/> redoes the unfinished generation exactly, finding the
    /// evaluations it had already finished in the database.
    /// </summary>
    public sealed class SearchSession : IDisposable
    {
        private readonly SearchDatabase _db;
        private readonly EvaluationFunnel _funnel;
        private readonly ProgramMutator _mutator;
        private readonly RuleProgram _warmStart;
        private readonly int _population, _tournament, _batch, _restartAfter, _threads;
        private readonly TimeSpan? _budget;
        private readonly long? _maxGenerations;
        private readonly TimeSpan _childLease;
        private readonly SearchOptions _run;
        private readonly SearchMode _mode;

        public event Action<SearchProgress>? Progress;

        private SearchSession(SearchDatabase db, SearchOptions run)
        {
            _db = db;
            _budget = run.TimeBudget;
            _maxGenerations = run.MaxGenerations;
            _threads = Math.Max(1, run.Threads);
            _childLease = run.ChildLease;
            _run = run;
            // Databases from before the steady state were generational.
            _mode = db.GetMeta("mode") is { } mode ? Enum.Parse<SearchMode>(mode) : SearchMode.Generational;
            string M(string key) => db.GetMeta(key) ?? throw new InvalidDataException($"{db.Path}: meta '{key}' missing");
            int I(string key) => int.Parse(M(key), CultureInfo.InvariantCulture);
            _population = I("population");
            _tournament = I("tournament");
            _batch = I("batch");
            _restartAfter = I("restart_after");
            var limits = new SearchLimits(I("max_states"), I("max_nodes"), I("max_depth"));
            _mutator = new ProgramMutator(limits);
            _warmStart = IrText.Parse(M("warm_start"));
            var suite = ProxySuite.Create(Enum.Parse<ProxySuiteKind>(M("proxies")), db.GetMeta("fashion_dir") is { Length: > 0 } d ? d : null);
            var reference = IrText.Parse(M("reference"));
            // AdamW's tuning and curves are measured once per database and kept in it (meta keys adamw_*).
            var scorer = suite.Ranking.Count == 0 ? null : new SpeedupScorer(suite.Ranking, reference, suite.SelectionSeeds,
                key => db.GetMeta(key), (key, value) => db.SetMeta(new Dictionary<string, string> { [key] = value }),
                fairStart: db.GetMeta("fair_start") == "1", extendEdges: db.GetMeta("baseline_grid") == "extended");
            _funnel = new EvaluationFunnel(suite, reference, scorer: scorer);
            if (scorer != null)
            {
                // The validation tasks are tuned the cheaper way (coordinate-wise, as the reduced meta-validation): they only gate.
                var validation = suite.Validation.Count == 0 ? null : new SpeedupScorer(suite.Validation, reference, ProxySuite.ValidationSeeds,
                    key => db.GetMeta(key), (key, value) => db.SetMeta(new Dictionary<string, string> { [key] = value }),
                    coordinateTuning: true, fairStart: scorer.FairStart, extendEdges: scorer.ExtendEdges);
                _promotion = new Promotion(scorer, validation, StoredPromotion(db));
            }
        }

        private readonly Promotion? _promotion;

        /// <summary>Racing and the validation gate of a ranked search (null for the older suites).</summary>
        public Promotion? Promotion => _promotion;

        /// <summary>The stored promotion settings; databases from before run 7 have none and keep the old rule.</summary>
        private static PromotionSettings StoredPromotion(SearchDatabase db)
        {
            if (db.GetMeta("race_top") is not { } top) return PromotionSettings.Legacy;
            int I(string key) => int.Parse(db.GetMeta(key)!, CultureInfo.InvariantCulture);
            var gate = db.GetMeta("validation_gate");
            return new PromotionSettings(int.Parse(top, CultureInfo.InvariantCulture), I("race_seeds"), I("max_seeds"),
                string.IsNullOrEmpty(gate) ? null : double.Parse(gate, CultureInfo.InvariantCulture));
        }

        /// <summary>Starts a new search in options.DatabasePath, or resumes the one there.</summary>
        public static SearchSession Open(SearchOptions options)
        {
            var db = new SearchDatabase(options.DatabasePath);
            try
            {
                Initialise(db, options); // no-op when the database already holds a search
                return new SearchSession(db, options);
            }
            catch
            {
                db.Dispose();
                throw;
            }
        }

        /// <summary>Resumes a search with its stored settings; only the run limits are given here.</summary>
        public static SearchSession Resume(string databasePath, TimeSpan? timeBudget = null, long? maxGenerations = null, int? threads = null, TimeSpan? childLease = null,
            (string directory, string name)? islands = null)
        {
            if (!File.Exists(databasePath)) throw new FileNotFoundException("no search database", databasePath);
            var db = new SearchDatabase(databasePath);
            if (db.GetMeta("seed") == null) { db.Dispose(); throw new InvalidDataException($"{databasePath} holds no search"); }
            return new SearchSession(db, new SearchOptions
            {
                DatabasePath = databasePath, TimeBudget = timeBudget, MaxGenerations = maxGenerations, IslandDirectory = islands?.directory, IslandName = islands?.name,
                Threads = threads ?? Environment.ProcessorCount, ChildLease = childLease ?? new SearchOptions().ChildLease,
            });
        }

        /// <summary>Stores a new search's settings, unless the database holds one (another process may be creating it at the same moment).</summary>
        private static void Initialise(SearchDatabase db, SearchOptions o)
        {
            if (db.GetMeta("seed") != null) return;
            if (o.PopulationSize < 2 || o.TournamentSize < 1 || o.BatchSize < 1) throw new ArgumentException("population ≥ 2, tournament ≥ 1 and batch ≥ 1 are required");
            var race = o.Promotion;
            if (race.RaceTop < 1 || race.RaceSeeds < 1 || race.MaxSeeds < 3 || race.MaxSeeds > 3 + ConfirmationPool.Length)
                throw new ArgumentException($"race top ≥ 1, race seeds ≥ 1 and 3 ≤ max seeds ≤ {3 + ConfirmationPool.Length} are required");
            var warm = ProgramNormalizer.Run(o.WarmStart ?? WarmStarts.AdamW());
            var why = ProgramValidity.Check(warm, o.Limits);
            if (why != null) throw new ArgumentException("the warm start is not a valid search program: " + why);
            string inv(long v) => v.ToString(CultureInfo.InvariantCulture);
            db.SetMetaIfAbsent("seed", new Dictionary<string, string>
            {
                ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
                ["mode"] = o.Mode.ToString(),
                ["population"] = inv(o.PopulationSize),
                ["tournament"] = inv(o.TournamentSize),
                ["batch"] = inv(o.BatchSize),
                ["restart_after"] = inv(o.RestartAfter),
                ["max_states"] = inv(o.Limits.MaxStates),
                ["max_nodes"] = inv(o.Limits.MaxNodes),
                ["max_depth"] = inv(o.Limits.MaxDepth),
                ["proxies"] = o.Proxies.ToString(),
                ["fashion_dir"] = o.FashionMnistDirectory ?? "",
                // Absent in databases from before the fair start (they keep scoring with raw defaults).
                ["fair_start"] = o.FairStart ? "1" : "0",
                // Absent in databases from before run 9 (they keep AdamW's fixed wd and β2 grids).
                ["baseline_grid"] = BaselineGrid(o),
                // Absent in databases from before run 7 (they keep confirming a would-be best only, ungated).
                ["race_top"] = inv(race.RaceTop),
                ["race_seeds"] = inv(race.RaceSeeds),
                ["max_seeds"] = inv(race.MaxSeeds),
                ["validation_gate"] = race.ValidationGate is { } g ? SearchDatabase.Format(g) : "",
                ["warm_start"] = IrText.Write(warm),
                ["reference"] = IrText.Write(o.Reference ?? WarmStarts.AdamW()),
                ["rng"] = new SearchRandom(o.Seed).SaveState(),
                ["generation"] = "0",
                ["next_id"] = o.Mode == SearchMode.SteadyState ? (SteadyStateEvolution.WarmStartId + 1).ToString(CultureInfo.InvariantCulture) : "1",
                ["next_child"] = "0",
                ["children"] = "0",
                ["equivalent"] = "0",
                ["best_fitness"] = SearchDatabase.Format(double.NegativeInfinity),
                ["last_improvement"] = "0",
            });
        }

        private static string BaselineGrid(SearchOptions o) => o.ExtendBaselineEdges ? "extended" : "fixed";

        /// <summary>The search-shaping options given now that differ from those stored at creation (which a resume keeps).</summary>
        public IReadOnlyList<string> SettingsDifferingFrom(SearchOptions o)
        {
            var given = new (string option, string value, string key)[]
            {
                ("--seed", o.Seed.ToString(CultureInfo.InvariantCulture), "seed"),
                ("--population", o.PopulationSize.ToString(CultureInfo.InvariantCulture), "population"),
                ("--tournament", o.TournamentSize.ToString(CultureInfo.InvariantCulture), "tournament"),
                ("--batch", o.BatchSize.ToString(CultureInfo.InvariantCulture), "batch"),
                ("--proxies", o.Proxies.ToString(), "proxies"),
                ("--mode", o.Mode.ToString(), "mode"),
                ("--race-top", o.Promotion.RaceTop.ToString(CultureInfo.InvariantCulture), "race_top"),
                ("--race-seeds", o.Promotion.RaceSeeds.ToString(CultureInfo.InvariantCulture), "race_seeds"),
                ("--max-seeds", o.Promotion.MaxSeeds.ToString(CultureInfo.InvariantCulture), "max_seeds"),
                ("--validation-gate", o.Promotion.ValidationGate is { } g ? SearchDatabase.Format(g) : "", "validation_gate"),
                ("--baseline-grid", BaselineGrid(o), "baseline_grid"),
            };
            return given.Where(g => _db.GetMeta(g.key) is { } stored && stored != g.value)
                .Select(g => $"{g.option} {g.value} differs from the stored {_db.GetMeta(g.key)}").ToList();
        }

        public SearchDatabase Database => _db;
        public EvaluationFunnel Funnel => _funnel;
        public SearchMode Mode => _mode;
        internal int PopulationSize => _population;
        internal int TournamentSize => _tournament;
        internal ProgramMutator Mutator => _mutator;
        internal RuleProgram WarmStart => _warmStart;

        public long Generation => long.Parse(_db.GetMeta("generation")!, CultureInfo.InvariantCulture);

        /// <summary>How this session names itself in the database's claim: process, host and a per-session id.</summary>
        private readonly string _owner = $"pid {Environment.ProcessId} on {Environment.MachineName} (session {Guid.NewGuid().ToString("N").Substring(0, 8)})";

        /// <summary>A claim lasts this long unless renewed (every third of it while running).</summary>
        public static readonly TimeSpan ClaimLease = TimeSpan.FromSeconds(60);

        /// <summary>A holder on this host whose process is gone (killed) holds nothing.</summary>
        internal static bool IsStale(string holder)
        {
            var parts = holder.Split(' ');
            if (parts.Length < 4 || parts[0] != "pid" || parts[3] != Environment.MachineName) return false;
            if (!int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)) return false;
            try { using var p = Process.GetProcessById(pid); return p.HasExited; }
            catch (ArgumentException) { return true; } // no such process
        }

        private void Claim()
        {
            var holder = _db.TryClaim(_owner, ClaimLease, IsStale);
            if (holder != null)
                throw new SearchDatabaseException(_db.Path, $"another search is running on it ({holder}); wait for it to finish, stop it, or use another --db");
        }

        /// <summary>
        /// Runs until the budget, the generation limit or cancellation. Never throws for cancellation. Generational: one
        /// search per database (a second refuses in one line). Steady state: searches on one database cooperate as workers.
        /// </summary>
        public SearchResult Run(CancellationToken cancellationToken = default)
        {
            if (_mode == SearchMode.SteadyState) return RunClaimed(cancellationToken);
            Claim();
            using var renew = new Timer(_ => { try { Claim(); } catch (Exception) { } }, null, ClaimLease / 3, ClaimLease / 3);
            try { return RunClaimed(cancellationToken); }
            finally
            {
                renew.Dispose();
                _db.ReleaseClaim(_owner);
            }
        }

        private SearchResult RunClaimed(CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (_budget.HasValue) limit.CancelAfter(_budget.Value);
            var ct = limit.Token;
            long evaluatedThisRun = 0;
            bool cancelled = false;
            try
            {
                Prepare(ct);
                if (_mode == SearchMode.SteadyState)
                    evaluatedThisRun = new SteadyStateEvolution(this, _childLease, Islands()).Run(_threads, _owner, _maxGenerations, clock, p => Progress?.Invoke(p), ct);
                else while (!ct.IsCancellationRequested && (!_maxGenerations.HasValue || Generation < _maxGenerations.Value))
                {
                    var progress = RunGeneration(ct, ref evaluatedThisRun, clock);
                    Progress?.Invoke(progress);
                }
            }
            catch (OperationCanceledException) { }
            // A body of Parallel.ForEach that observes the token (a long ranked run) arrives wrapped.
            catch (AggregateException e) when (ct.IsCancellationRequested && e.Flatten().InnerExceptions.All(x => x is OperationCanceledException)) { }
            cancelled = ct.IsCancellationRequested;
            var best = _db.Best();
            return new SearchResult(best, best == null ? null : IrText.Parse(best.Ir), Generation, _db.EvaluationCount(), evaluatedThisRun, cancelled, clock.Elapsed);
        }

        /// <summary>This run's island exchange, if it is an island; with a generational search, an island is a one-line error.</summary>
        private (IslandExchange exchange, int interval)? Islands()
        {
            if (_run.IslandDirectory == null) return null;
            if (_mode != SearchMode.SteadyState) throw new SearchDatabaseException(_db.Path, "it holds a generational search; islands exchange programs in steady state only");
            string name = _run.IslandName ?? $"{System.IO.Path.GetFileNameWithoutExtension(_db.Path)}@{Environment.MachineName}";
            return (new IslandExchange(_db, _run.IslandDirectory, name, _run.Migrants, _population), _run.MigrationInterval > 0 ? _run.MigrationInterval : _population);
        }

        /// <summary>
        /// The reference's baselines, and AdamW's tuning and curves on the ranking tasks (from the database, or measured
        /// and stored there): done before any child, with all threads; a process that starts workers does it once first.
        /// </summary>
        public void Prepare(CancellationToken ct)
        {
            foreach (var stage in _funnel.Suite.Stages)
                foreach (var task in stage.Tasks) _funnel.Baseline(task, ct);
            if (_funnel.Scorer is { } scorer) PrepareReference(scorer, ct);
            if (_promotion is { Gates: true, Validation: { } validation }) PrepareReference(validation, ct);
        }

        /// <summary>AdamW's tuning on a scorer's tasks, then every (task, seed) curve, in parallel.</summary>
        private void PrepareReference(SpeedupScorer scorer, CancellationToken ct)
        {
            // Tuning first (each task's grid is sequential), then every (task, seed) curve in parallel.
            Parallel.ForEach(scorer.Tasks, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct }, t => scorer.Tuned(t, ct));
            var pairs = scorer.Tasks.SelectMany(t => scorer.SelectionSeeds.Select(seed => (t, seed))).ToList();
            Parallel.ForEach(pairs, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct }, p => scorer.Curve(p.t, p.seed, ct));
        }

        private sealed record Child(RuleProgram Program, long? Parent, string Mutation, string FHash, string SHash, string? ParentFHash = null);

        /// <summary>The pool confirmation seeds are drawn from: never selection seeds, and few enough that AdamW's curves on them are reused.</summary>
        public static readonly ulong[] ConfirmationPool = Enumerable.Range(1001, 12).Select(i => (ulong)i).ToArray();

        /// <summary>
        /// Fresh instances for confirming a would-be best: <paramref name="count"/> distinct seeds of the pool, chosen by its functional hash
        /// (a prefix of one permutation, so racing rounds take them in order).
        /// </summary>
        public static ulong[] FreshSeeds(string functionalHash, int count)
        {
            var rng = new SearchRandom(ulong.Parse(functionalHash, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            var pool = ConfirmationPool.ToList();
            return Enumerable.Range(0, Math.Min(count, pool.Count)).Select(_ => { int i = rng.Next(pool.Count); var s = pool[i]; pool.RemoveAt(i); return s; }).ToArray();
        }

        /// <summary>
        /// A program that would become the best is trusted only after fresh instances agree (the winner's curse of
        /// run 4): best first, each candidate above the best so far is re-scored (<see cref="EvaluationFunnel.Confirm"/>)
        /// and its stored fitness replaced by the confirmed one, until the top unconfirmed score no longer beats the best.
        /// </summary>
        private void ConfirmWouldBeBests(ConcurrentDictionary<string, (Child child, RankedScore score)> ranked, Dictionary<string, EvaluationRecord> known,
            double bestFitness, CancellationToken ct)
        {
            double best = bestFitness;
            foreach (var (child, score) in ranked.Values.OrderByDescending(x => x.score.Fitness).ThenBy(x => x.child.FHash, StringComparer.Ordinal))
            {
                if (score.Fitness <= best) break;
                var confirmed = _funnel.Confirm(child.Program, score, FreshSeeds(child.FHash, score.PerSeed.Count), ct);
                var e = known[child.FHash];
                var updated = e with { Fitness = confirmed.Fitness, StageScores = e.StageScores + ";" + SearchDatabase.Format(confirmed.Fitness) };
                _db.UpdateEvaluation(updated);
                known[child.FHash] = updated;
                best = Math.Max(best, confirmed.Fitness);
            }
        }

        /// <summary>The parent's peak lr per ranking task as a factor of tuned AdamW's, read from its stored evaluation.</summary>
        internal Dictionary<string, double>? InheritedFactors(string? parentFHash, CancellationToken ct)
        {
            if (parentFHash == null || _funnel.Scorer is not { } scorer || _db.GetEvaluation(parentFHash) is not { } e) return null;
            var factors = new Dictionary<string, double>();
            foreach (var part in e.TaskLosses.Split(';'))
            {
                int eq = part.IndexOf('='), at = part.LastIndexOf('@');
                if (eq < 0 || at < eq) continue;
                var task = scorer.Tasks.FirstOrDefault(t => t.Name == part.Substring(0, eq));
                if (task != null && double.TryParse(part.Substring(at + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var lr))
                    factors[task.Name] = lr / scorer.Tuned(task, ct).LearningRate;
            }
            return factors;
        }

        private SearchProgress RunGeneration(CancellationToken ct, ref long evaluatedThisRun, Stopwatch clock)
        {
            long g = Generation;
            var rng = SearchRandom.FromState(_db.GetMeta("rng")!);
            var population = _db.Population();
            double bestFitness = double.Parse(_db.GetMeta("best_fitness")!, CultureInfo.InvariantCulture);
            long lastImprovement = long.Parse(_db.GetMeta("last_improvement")!, CultureInfo.InvariantCulture);

            // 1. Children, from the stored state alone. Parents and per-child RNG streams are drawn in
            //    order; the mutations themselves then run in parallel (each on its own stream).
            long nextId = long.Parse(_db.GetMeta("next_id")!, CultureInfo.InvariantCulture);
            var plan = new List<(RuleProgram parent, long? parentId, SearchRandom stream, string? parentFHash)>();
            var children = new List<Child>();
            int removeOldest;
            bool restarted = false;
            if (population.Count == 0 || (_restartAfter > 0 && g - lastImprovement >= _restartAfter))
            {
                restarted = population.Count > 0;
                var best = restarted ? _db.Best()! : null;
                var root = best == null ? _warmStart : IrText.Parse(best.Ir);
                children.Add(MakeChild(root, best?.Id, restarted ? "restart from best" : "warm start"));
                // Mutants descend from the program they were made from: the best, or the warm start (admitted first, as nextId).
                long rootId = best?.Id ?? nextId;
                for (int i = 1; i < _population; i++) plan.Add((root, rootId, rng.Fork(), best?.FunctionalHash ?? children[0].FHash));
                removeOldest = population.Count;
            }
            else
            {
                for (int i = 0; i < _batch; i++)
                {
                    ProgramRecord? parent = null;
                    for (int k = 0; k < _tournament; k++)
                    {
                        var candidate = population[rng.Next(population.Count)];
                        if (parent == null || Beats(candidate, parent)) parent = candidate;
                    }
                    plan.Add((IrText.Parse(parent!.Ir), parent.Id, rng.Fork(), parent.FunctionalHash));
                }
                removeOldest = Math.Max(0, population.Count + _batch - _population);
            }
            var made = new Child[plan.Count];
            Parallel.For(0, plan.Count, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct }, i =>
            {
                var m = _mutator.Mutate(plan[i].parent, plan[i].stream);
                made[i] = MakeChild(m.Program, plan[i].parentId, m.Description) with { ParentFHash = plan[i].parentFHash };
            });
            children.AddRange(made);

            // 2. Scores: stored ones are reused; each new one is committed the moment it finishes.
            var known = new Dictionary<string, EvaluationRecord>();
            foreach (var c in children)
                if (!known.ContainsKey(c.FHash) && _db.GetEvaluation(c.FHash) is { } e) known[c.FHash] = e;
            var pending = children.Where(c => !known.ContainsKey(c.FHash)).GroupBy(c => c.FHash).Select(x => x.First()).ToList();
            var fresh = new ConcurrentDictionary<string, EvaluationRecord>();
            var ranked = new ConcurrentDictionary<string, (Child child, RankedScore score)>();
            long done = 0;
            Parallel.ForEach(pending, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct }, c =>
            {
                var r = _funnel.Evaluate(c.Program, ct, InheritedFactors(c.ParentFHash, ct));
                if (r.Ranked != null) ranked[c.FHash] = (c, r.Ranked);
                var record = new EvaluationRecord(c.FHash, c.SHash, r.Fitness, r.StagesReached,
                    string.Join(";", r.StageScores.Select(SearchDatabase.Format)),
                    string.Join(";", r.Tasks.Select(t => $"{t.Task}={SearchDatabase.Format(t.Loss)}@{SearchDatabase.Format(t.LearningRate)}")),
                    r.Seconds, g, IrText.Write(c.Program));
                _db.InsertEvaluation(record);
                fresh[c.FHash] = record;
                Interlocked.Increment(ref done);
            });
            evaluatedThisRun += done;
            foreach (var kv in fresh) known[kv.Key] = kv.Value;
            ConfirmWouldBeBests(ranked, known, bestFitness, ct);

            // 3. Commit the generation.
            long equivalent = 0;
            var seenInBatch = new HashSet<string>();
            var records = new List<ProgramRecord>();
            foreach (var c in children)
            {
                var e = known[c.FHash];
                bool isEquivalent = e.Generation < g || !seenInBatch.Add(c.FHash);
                if (isEquivalent) equivalent++;
                records.Add(new ProgramRecord(nextId++, g, c.Parent, c.Mutation, c.FHash, c.SHash, IrText.Write(c.Program), e.Fitness, isEquivalent));
            }
            double genBest = records.Max(r => r.Fitness);
            if (genBest > bestFitness) { bestFitness = genBest; lastImprovement = g; }
            if (restarted) lastImprovement = g;
            long childrenTotal = long.Parse(_db.GetMeta("children")!, CultureInfo.InvariantCulture) + records.Count;
            long equivalentTotal = long.Parse(_db.GetMeta("equivalent")!, CultureInfo.InvariantCulture) + equivalent;
            string inv(long v) => v.ToString(CultureInfo.InvariantCulture);
            _db.CommitGeneration(records, removeOldest, new Dictionary<string, string>
            {
                ["rng"] = rng.SaveState(),
                ["generation"] = inv(g + 1),
                ["next_id"] = inv(nextId),
                ["children"] = inv(childrenTotal),
                ["equivalent"] = inv(equivalentTotal),
                ["best_fitness"] = SearchDatabase.Format(bestFitness),
                ["last_improvement"] = inv(lastImprovement),
            });
            return Snapshot(evaluatedThisRun, clock, restarted);
        }

        /// <summary>A progress report from the stored counters.</summary>
        internal SearchProgress Snapshot(long evaluatedThisRun, Stopwatch clock, bool restarted)
        {
            long M(string key) => long.Parse(_db.GetMeta(key) ?? "0", CultureInfo.InvariantCulture);
            long children = M("children"), equivalent = M("equivalent");
            double seconds = Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            return new SearchProgress(Generation, double.Parse(_db.GetMeta("best_fitness")!, CultureInfo.InvariantCulture), _db.Best()?.Id ?? 0,
                _db.EvaluationCount(), children, evaluatedThisRun / seconds, children == 0 ? 0 : (double)equivalent / children, clock.Elapsed, restarted);
        }

        /// <summary>Tournament order: higher fitness, and on a tie the smaller program (parsimony).</summary>
        internal static bool Beats(ProgramRecord a, ProgramRecord b) =>
            a.Fitness > b.Fitness || (a.Fitness == b.Fitness && NodeCount(a.Ir) < NodeCount(b.Ir));

        private static int NodeCount(string ir)
        {
            int count = 0;
            foreach (var line in ir.Split('\n')) if (line.StartsWith("%", StringComparison.Ordinal)) count++;
            return count;
        }

        private static Child MakeChild(RuleProgram program, long? parent, string mutation)
        {
            var (fhash, shash) = Hashes(program);
            return new Child(program, parent, mutation, fhash, shash);
        }

        /// <summary>A program's functional hash (what the search keys scores by) and structural identity, as stored.</summary>
        internal static (string functional, string structural) Hashes(RuleProgram program) =>
            (FunctionalHash.ToText(FunctionalHash.Compute(new InterpretedRule(program))), FunctionalHash.ToText(ProgramIdentity.Structure(program)));

        public void Dispose() => _db.Dispose();
    }
}
