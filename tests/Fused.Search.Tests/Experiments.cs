using System;
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
using Fused.Search.Export;
using Fused.Search.Mutation;
using Fused.Search.Storage;

namespace Fused.Search.Tests
{
    /// <summary>
    /// The figures (an experiment, not a test): evaluation throughput on the cheapest proxy, and a
    /// short rediscovery run from AdamW whose best program is compared with AdamW and Lion on the
    /// held-out tasks, all tuned on the same learning-rate grid.
    /// <c>dotnet Fused.Search.Tests.dll experiment [minutes] [db] [seed] [threads]</c>
    /// </summary>
    public static class Experiments
    {
        public static int Run(string[] args, TextWriter output)
        {
            double minutes = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
            string db = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "fused-rediscovery.db");
            ulong seed = args.Length > 3 ? ulong.Parse(args[3], CultureInfo.InvariantCulture) : 1;
            int threads = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : Environment.ProcessorCount;

            Throughput(output, threads);

            output.WriteLine($"\n== rediscovery: {minutes} min from AdamW, Standard proxies, seed {seed}, {threads} threads, db {db}");
            var options = new SearchOptions
            {
                DatabasePath = db, Seed = seed, TimeBudget = TimeSpan.FromMinutes(minutes), Threads = threads,
                Proxies = ProxySuiteKind.Standard, PopulationSize = 32, TournamentSize = 8, BatchSize = 8, RestartAfter = 60,
                Mode = SearchMode.Generational, // runs 1-4
            };
            SearchCommandRunner.Run(output, options, CancellationToken.None);

            using var session = SearchSession.Resume(db, maxGenerations: 0);
            var best = session.Database.Best()!;
            var bestProgram = IrText.Parse(best.Ir);
            var grid = new[] { -1.0, -0.5, 0.0, 0.5, 1.0 }.Select(e => Math.Pow(10, e)).ToArray();
            output.WriteLine("\n== held-out meta-validation (never used for selection); lr grid ×{0.1, 0.32, 1, 3.2, 10} of each task's base; score = log10(AdamW loss / loss)");
            foreach (var (name, program) in new[] { ("AdamW", WarmStarts.AdamW()), ("Lion", WarmStarts.Lion()), ($"found #{best.Id}", bestProgram) })
            {
                var outcomes = session.Funnel.EvaluateHeldOut(ProgramNormalizer.Run(program), grid, CancellationToken.None);
                output.WriteLine($"{name,-12} mean score {outcomes.Average(o => o.Score),7:F3}");
                foreach (var o in outcomes)
                    output.WriteLine(string.Format(CultureInfo.InvariantCulture, "    {0,-48} loss {1,12:G5} at lr {2,-9:G3} score {3,7:F3}", o.Task, o.Loss, o.LearningRate, o.Score));
            }
            output.WriteLine("\nselection fitness of Lion for comparison: " +
                session.Funnel.Evaluate(ProgramNormalizer.Run(WarmStarts.Lion()), CancellationToken.None).Fitness.ToString("F4", CultureInfo.InvariantCulture));
            return 0;
        }

        /// <summary>
        /// <c>ranked MINUTES DB SEED THREADS [PROXIES]</c>: a steady-state search (fair start) on the ranked suite (gates, then
        /// paired multi-seed log2 speedup over tuned AdamW on the Fashion-MNIST MLP and the Zipfian token model), population
        /// 50, tournament 10, THREADS workers. The time budget counts from the start, AdamW's tuning included.
        /// </summary>
        public static int Ranked(string[] args, TextWriter output)
        {
            if (!TryPromotionOptions(args, output, out var promotion, out args)) return 2;
            double minutes = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 30;
            string db = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "fused-ranked.db");
            ulong seed = args.Length > 3 ? ulong.Parse(args[3], CultureInfo.InvariantCulture) : 1;
            int threads = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
            var proxies = args.Length > 5 ? Enum.Parse<ProxySuiteKind>(args[5], ignoreCase: true) : ProxySuiteKind.RankedWideValidation;
            output.WriteLine($"== ranked search: {minutes} min, seed {seed}, {threads} threads, proxies {proxies}, db {db}, load average {LoadAverage()}, {Environment.ProcessorCount} logical CPUs; " +
                $"racing top {promotion.RaceTop} +{promotion.RaceSeeds} seeds up to {promotion.MaxSeeds}, validation gate {(promotion.ValidationGate is { } g ? g.ToString("G3", CultureInfo.InvariantCulture) : "off")}");
            var options = new SearchOptions
            {
                DatabasePath = db, Seed = seed, TimeBudget = TimeSpan.FromMinutes(minutes), Threads = threads,
                Proxies = proxies, PopulationSize = 50, TournamentSize = 10, Mode = SearchMode.SteadyState, Promotion = promotion,
            };
            var clock = Stopwatch.StartNew();
            int code = SearchCommandRunner.Run(output, options, CancellationToken.None);
            using (var session = SearchSession.Resume(db, maxGenerations: 0))
                PrintStageThroughput(output, session.Database, clock.Elapsed);
            return code;
        }

        public const string PromotionUsage = "[--race-top K] [--race-seeds N] [--max-seeds M] [--validation-gate X | --no-validation-gate]";

        /// <summary>
        /// The promotion flags after the positional arguments (defaults <see cref="PromotionSettings.Default"/>: top 5, 3 seeds a round,
        /// 9 at most, gate −0.05); <paramref name="positional"/> gets the arguments before them.
        /// </summary>
        public static PromotionSettings PromotionOptions(string[] args, out string[] positional)
        {
            var flags = args.SkipWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
            positional = args.Take(args.Length - flags.Length).ToArray();
            var p = PromotionSettings.Default;
            for (int i = 0; i < flags.Length; i++)
            {
                string Value() => i + 1 < flags.Length ? flags[++i] : throw new ArgumentException($"{flags[i]} needs a value");
                p = flags[i] switch
                {
                    "--race-top" => p with { RaceTop = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--race-seeds" => p with { RaceSeeds = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--max-seeds" => p with { MaxSeeds = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--validation-gate" => p with { ValidationGate = double.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--no-validation-gate" => p with { ValidationGate = null },
                    _ => throw new ArgumentException($"unknown option {flags[i]}; options: {PromotionUsage}"),
                };
            }
            return p;
        }

        /// <summary><see cref="PromotionOptions"/>, or a one-line error on <paramref name="output"/>.</summary>
        private static bool TryPromotionOptions(string[] args, TextWriter output, out PromotionSettings settings, out string[] positional)
        {
            try
            {
                settings = PromotionOptions(args, out positional);
                return true;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                output.WriteLine($"error: {e.Message} ({PromotionUsage})");
                settings = PromotionSettings.Default;
                positional = args;
                return false;
            }
        }

        /// <summary>Per stage reached: how many evaluations ended there and their mean cost (the record's "throughput per stage").</summary>
        private static void PrintStageThroughput(TextWriter output, SearchDatabase db, TimeSpan elapsed)
        {
            var evaluations = db.Evaluations();
            output.WriteLine($"throughput: {evaluations.Count} evaluations stored, {db.ProgramCount()} programs admitted ({elapsed.TotalMinutes:F1} min wall, load average {LoadAverage()})");
            foreach (var g in evaluations.GroupBy(e => e.StagesReached).OrderBy(g => g.Key))
                output.WriteLine(string.Format(CultureInfo.InvariantCulture, "  ended after stage {0}: {1,6} evaluations, {2,8:F3} s each on average (one thread)",
                    g.Key, g.Count(), g.Average(e => e.Seconds)));
        }

        /// <summary>
        /// <c>campaign MINUTES DB SEED THREADS PROXIES SCALE MUTANTS</c>: the record's single command — the steady-state ranked
        /// search for MINUTES, then the meta-validation of its best with every control (<see cref="MetaValidate"/> … all).
        /// </summary>
        public static int Campaign(string[] args, TextWriter output)
        {
            if (!TryPromotionOptions(args, output, out _, out var positional)) return 2;
            var flags = args.Skip(positional.Length);
            args = positional;
            if (args.Length < 8) { output.WriteLine("usage: campaign MINUTES DB SEED THREADS PROXIES full|reduced|smoke MUTANTS " + PromotionUsage); return 2; }
            int code = Ranked(args.Take(6).Concat(flags).ToArray(), output);
            if (code != 0) return code;
            return MetaValidate(new[] { "metavalidate", args[2], args[6], args[4], args[7], "all" }, output);
        }

        /// <summary>A key/value cache in a text file (<see cref="ReferenceCacheFile"/>), shared by meta-validation runs and tune:I,J processes.</summary>
        private static (Func<string, string?> load, Action<string, string> store) FileCache(string path)
        {
            var gate = new object();
            return (key =>
            {
                // Read on every lookup: another process may have appended the entry since.
                lock (gate) return File.Exists(path) && ReferenceCacheFile.Read(path).TryGetValue(key, out var value) ? value : null;
            }, (key, value) => { lock (gate) ReferenceCacheFile.Append(path, key, value); });
        }

        /// <summary>
        /// <c>metavalidate DB SCALE THREADS MUTANTS [controls|found|all|quick|#ID|@FILE.ir|tune:I,J] [edges]</c>: the frozen held-out tasks (<see cref="MetaValidation"/>) for the
        /// search's best program beside the controls (AdamW itself, Lion, AdamW with twice the tuning trials, the best
        /// of MUTANTS random single mutations of AdamW by selection fitness), and whether a Lion-form program was reached.
        /// <c>quick</c>, <c>#ID</c> (a stored program) and <c>@FILE.ir</c> (a program as IR text, read relative to tuned AdamW like the
        /// search's own): that program beside AdamW and Lion only (<c>found</c> is <c>all</c>). All but <c>controls</c> and <c>tune:</c> are
        /// <see cref="MetaValidationRunner"/> (`fused search validate`) with a cache file beside DB instead of the database.
        /// </summary>
        public static int MetaValidate(string[] args, TextWriter output)
        {
            string db = args[1];
            var scale = args.Length > 2 ? Enum.Parse<MetaValidationScale>(args[2], ignoreCase: true) : MetaValidationScale.Reduced;
            int threads = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
            int mutants = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 6;
            string which = args.Length > 5 ? args[5] : "all";
            var cache = FileCache(db + $".meta-{scale}.cache");
            if (which.StartsWith("tune:", StringComparison.Ordinal) || which == "controls") return MetaControls(output, scale, threads, which, cache);
            // The rest is `fused search validate`, with this harness's cache file (shared with tune:I,J processes).
            var request = new MetaValidationRequest
            {
                DatabasePath = db, Scale = scale, Threads = threads, Mutants = mutants, Cache = cache,
                Program = which.StartsWith('#') ? which : which.StartsWith('@') ? which.Substring(1) : null,
                Controls = which is "all" or "found",
                ExtendBaselineEdges = args.Length > 6 && args[6] == "edges",
            };
            return MetaValidationRunner.Run(output, request, CancellationToken.None);
        }

        /// <summary><c>tune:I,J</c> and <c>controls</c>: AdamW's held-out tuning into the cache file, or AdamW, Lion and 2× tuning scored without a search.</summary>
        private static int MetaControls(TextWriter output, MetaValidationScale scale, int threads, string which, (Func<string, string?> load, Action<string, string> store) cache)
        {
            var clock = Stopwatch.StartNew();
            var meta = new MetaValidation(scale, load: cache.load, store: cache.store);
            output.WriteLine("tasks (frozen): " + string.Join("; ", meta.Tasks.Select(t => t.Name)) + $"; seeds {string.Join(",", MetaValidation.Seeds)}");
            if (which.StartsWith("tune:", StringComparison.Ordinal))
            {
                // AdamW's tuning and curves on the listed tasks (0-based, in this order) into the shared cache file: a second
                // process started beside a meta-validation fills the tasks it reaches last, and it loads them from the file.
                foreach (var index in which.Substring(5).Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)))
                {
                    var task = meta.Tasks[index];
                    var tuned = meta.Scorer.Tuned(task, CancellationToken.None);
                    Parallel.ForEach(MetaValidation.Seeds, new ParallelOptions { MaxDegreeOfParallelism = threads }, seed => meta.Scorer.Curve(task, seed, CancellationToken.None));
                    output.WriteLine($"{task.Name}: AdamW tuned {tuned.ToText()}, curves cached ({clock.Elapsed.TotalMinutes:F1} min)");
                }
                return 0;
            }
            // Before (or beside) the search: AdamW's tuning and curves go to the cache; AdamW and Lion are scored.
            var rows = meta.EvaluateRows(new[]
            {
                (MetaValidationRunner.AdamWControl, ProgramNormalizer.Run(WarmStarts.AdamW()), false),
                (MetaValidationRunner.LionControl, ProgramNormalizer.Run(WarmStarts.Lion()), false),
            }, doubleTunedAdamW: true, threads, CancellationToken.None);
            MetaValidationRunner.PrintTable(output, meta, rows);
            output.WriteLine($"meta-validation took {clock.Elapsed.TotalMinutes:F1} min");
            return 0;
        }

        private static string LoadAverage()
        {
            try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
            catch (IOException) { return "unknown"; }
            catch (UnauthorizedAccessException) { return "unknown"; }
        }

        /// <summary>Loss of AdamW and Lion over a wide learning-rate scan on every task: how the grids and bases were chosen.</summary>
        public static void LearningRateScan(TextWriter output)
        {
            var suite = ProxySuite.Create(ProxySuiteKind.Standard);
            var tasks = suite.Stages.SelectMany(s => s.Tasks).Concat(suite.HeldOut).ToList();
            var factors = new[] { -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0 }.Select(e => Math.Pow(10, e)).ToArray();
            foreach (var (name, program) in new[] { ("AdamW", WarmStarts.AdamW()), ("Lion", WarmStarts.Lion()) })
            {
                var rule = new InterpretedRule(ProgramNormalizer.Run(program));
                foreach (var task in tasks)
                {
                    var losses = factors.Select(f => EvaluationFunnel.BestLoss(rule, task, new[] { f }, CancellationToken.None).loss);
                    output.WriteLine($"{name,-6} {task.Name,-48} base {task.BaseLearningRate,-6:G3} " +
                        string.Join(" ", factors.Zip(losses, (f, l) => $"{f:G2}:{l:G3}")));
                }
            }
        }

        /// <summary>Evaluations per second of the cheapest stage (quadratic + Rosenbrock, 3 learning rates each).</summary>
        public static void Throughput(TextWriter output, int threads)
        {
            var suite = ProxySuite.Create(ProxySuiteKind.Cheap);
            var funnel = new EvaluationFunnel(suite, WarmStarts.AdamW());
            foreach (var t in suite.Stages[0].Tasks) funnel.Baseline(t);
            var programs = TestSupport.MutatedPrograms(800, 1234);
            // Warm the JIT.
            foreach (var p in programs.Take(20)) funnel.Evaluate(p, CancellationToken.None);
            var clock = Stopwatch.StartNew();
            int count = 0;
            Parallel.ForEach(programs, new ParallelOptions { MaxDegreeOfParallelism = threads }, p =>
            {
                funnel.Evaluate(p, CancellationToken.None);
                Interlocked.Increment(ref count);
            });
            double rate = count / clock.Elapsed.TotalSeconds;
            // The whole loop (mutation + normalization + functional hash) without evaluation, for reference.
            clock.Restart();
            var mutator = new ProgramMutator();
            var rng = new SearchRandom(5);
            var start = ProgramNormalizer.Run(WarmStarts.AdamW());
            int made = 0;
            while (clock.Elapsed.TotalSeconds < 2)
            {
                var c = mutator.Mutate(start, rng.Fork()).Program;
                FunctionalHash.Compute(new InterpretedRule(c));
                made++;
            }
            double mutationRate = made / clock.Elapsed.TotalSeconds;
            output.WriteLine($"== throughput: {rate:F0} evaluations/s on the cheapest stage ({string.Join(" + ", suite.Stages[0].Tasks.Select(t => t.Name))}, {funnel.LearningRateFactors.Count} learning rates each) with {threads} threads, load average {LoadAverage()}; " +
                $"{mutationRate:F0} mutations+hashes/s on one thread");
        }

    }
}
