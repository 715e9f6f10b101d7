using System;
using System.Collections.Generic;
using System.Globalization;
using System.CommandLine;
using System.Threading;
using Fused.Search;
using Fused.Search.Evaluation;

namespace Fused.Demo.Commands
{
    /// <summary>
    /// `fused search`: evolutionary search over update-rule programs from an AdamW warm start, persisted
    /// in SQLite so it can be stopped (Ctrl+C) or killed and resumed with the same command.
    /// </summary>
    public static class SearchCommand
    {
        public static Command Create()
        {
            var database = new Option<string>("--db") { Description = "SQLite database of the search (created, or resumed when it exists)", DefaultValueFactory = _ => "fused-search.db" };
            var minutes = CliOptions.Double("--minutes", "Time budget in minutes for this run", 5.0, 0, 1e6);
            var population = CliOptions.Int("--population", "Population size (regularized evolution; stored, kept on resume)", 50, 4, 100_000);
            var tournament = CliOptions.Int("--tournament", "Tournament size for choosing parents (stored, kept on resume)", 10, 1, 100_000);
            var proxies = new Option<ProxySuiteKind>("--proxies") { Description = "Proxy suite: RankedWideValidation (default, run 8: multi-seed log2 speedup over tuned AdamW on a Fashion-MNIST MLP, a Zipfian token model and a Fashion-MNIST autoencoder, gated by four validation tasks, none of which a would-be best may lose more than 0.1 octave on), RankedValidated (run 7: the same ranking, two validation tasks, gated on their mean), Ranked (run 6: the first two tasks, no validation tasks), Standard (runs 1-4), Cheap, Tiny", DefaultValueFactory = _ => ProxySuiteKind.RankedWideValidation };
            var defaults = PromotionSettings.Default;
            var raceTop = CliOptions.Int("--race-top", "Racing: a candidate entering the population's top k gets fresh seeds (stored, kept on resume)", defaults.RaceTop, 1, 100_000);
            var raceSeeds = CliOptions.Int("--race-seeds", "Racing: fresh seeds added per round while it stays in the top k", defaults.RaceSeeds, 1, 12);
            var maxSeeds = CliOptions.Int("--max-seeds", "Racing: seeds a candidate is scored on at most, the 3 selection seeds included", defaults.MaxSeeds, 3, 15);
            var gate = CliOptions.Double("--validation-gate", "A would-be best must reach this validation fitness (mean - SE/2 of log2 speedup over tuned AdamW on the validation tasks) or it is refused", defaults.ValidationGate!.Value, -3, 1);
            var noGate = new Option<bool>("--no-validation-gate") { Description = "Let a would-be best become the best without the validation tasks" };
            var seed = new Option<ulong>("--seed") { Description = "Random seed (a seeded run is reproducible)", DefaultValueFactory = _ => 1UL };
            var threads = CliOptions.Int("--threads", "Evaluation threads", Environment.ProcessorCount, 1, CliOptions.MaxThreads);
            var data = new Option<string?>("--data") { Description = "Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist; missing files are an error)" };
            var mode = new Option<SearchMode>("--mode") { Description = "SteadyState (asynchronous, any number of workers; default) or Generational (one process, exact replay); stored, kept on resume", DefaultValueFactory = _ => SearchMode.SteadyState };
            var workers = CliOptions.Int("--workers", "Worker processes on the database (steady state); each gets threads / workers threads. A second `fused search` on the same --db joins as more workers", 1, 1, 256);
            var islands = new Option<string?>("--islands") { Description = "Island mode: a directory shared with other searches (other hosts too); each exports its top programs there and imports the others' as immigrants" };
            var island = new Option<string?>("--island") { Description = "This island's name in --islands (default: the --db file name @ host name)" };
            var migrants = CliOptions.Int("--migrants", "Programs an island exports (its top k)", 5, 1, 1000);
            var baselineGrid = new Option<string>("--baseline-grid") { Description = "extended (default): AdamW's weight decay and beta2 grids are extended past an edge its tuning ends on, as its lr grid is; fixed: the issue's grids only (runs 1-8). Stored, kept on resume", DefaultValueFactory = _ => "extended" };
            baselineGrid.AcceptOnlyFromAmong("extended", "fixed");
            var workerProcess = new Option<bool>("--worker-process") { Description = "Internal: run as one of --workers' processes (progress only)", Hidden = true };
            var command = new Command("search", "Evolve optimizer update rules (the Lion discovery, on a laptop); prints winners as attributed C# rules")
                { database, minutes, population, tournament, proxies, raceTop, raceSeeds, maxSeeds, gate, noGate, seed, threads, data, mode, workers, islands, island, migrants, baselineGrid, workerProcess };
            command.SetAction(parse =>
            {
                var options = new SearchOptions
                {
                    DatabasePath = parse.GetValue(database)!,
                    TimeBudget = TimeSpan.FromMinutes(parse.GetValue(minutes)),
                    PopulationSize = parse.GetValue(population),
                    TournamentSize = parse.GetValue(tournament),
                    Proxies = parse.GetValue(proxies),
                    Seed = parse.GetValue(seed),
                    Threads = parse.GetValue(threads),
                    FashionMnistDirectory = parse.GetValue(data),
                    Mode = parse.GetValue(mode),
                    IslandDirectory = parse.GetValue(islands),
                    IslandName = parse.GetValue(island),
                    Migrants = parse.GetValue(migrants),
                    ExtendBaselineEdges = parse.GetValue(baselineGrid) == "extended",
                    Promotion = new PromotionSettings(parse.GetValue(raceTop), parse.GetValue(raceSeeds), parse.GetValue(maxSeeds),
                        parse.GetValue(noGate) ? null : parse.GetValue(gate)),
                };
                return WithCtrlC(ct =>
                {
                    int n = parse.GetValue(workers);
                    if (n <= 1) return SearchCommandRunner.Run(System.Console.Out, options, ct, summary: !parse.GetValue(workerProcess));
                    // Each worker: the same search, its share of the threads, progress only.
                    var args = new List<string>
                    {
                        "search", "--db", options.DatabasePath, "--minutes", parse.GetValue(minutes).ToString("R", CultureInfo.InvariantCulture),
                        "--population", options.PopulationSize.ToString(CultureInfo.InvariantCulture), "--tournament", options.TournamentSize.ToString(CultureInfo.InvariantCulture),
                        "--proxies", options.Proxies.ToString(), "--seed", options.Seed.ToString(CultureInfo.InvariantCulture), "--mode", options.Mode.ToString(), "--baseline-grid", parse.GetValue(baselineGrid)!,
                        "--threads", Math.Max(1, options.Threads / n).ToString(CultureInfo.InvariantCulture), "--worker-process",
                    };
                    if (options.FashionMnistDirectory != null) args.AddRange(new[] { "--data", options.FashionMnistDirectory });
                    if (options.IslandDirectory != null) args.AddRange(new[] { "--islands", options.IslandDirectory, "--migrants", options.Migrants.ToString(CultureInfo.InvariantCulture) });
                    if (options.IslandName != null) args.AddRange(new[] { "--island", options.IslandName });
                    return SearchCommandRunner.RunWorkers(System.Console.Out, options, n, _ => WorkerProcesses.Self(args), ct);
                });
            });
            command.Subcommands.Add(CreateValidate());
            return command;
        }

        /// <summary>Runs <paramref name="run"/> with Ctrl+C cancelling its token (a search stops cleanly and can be resumed).</summary>
        private static int WithCtrlC(Func<CancellationToken, int> run)
        {
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            System.Console.CancelKeyPress += onCancel;
            try { return run(cancel.Token); }
            finally { System.Console.CancelKeyPress -= onCancel; }
        }

        /// <summary>`fused search validate`: the frozen held-out tasks for a search's program, beside AdamW and Lion.</summary>
        private static Command CreateValidate()
        {
            var database = new Option<string>("--db") { Description = "The search's SQLite database (only read, apart from the cache of AdamW's held-out tuning)", DefaultValueFactory = _ => "fused-search.db" };
            var scale = new Option<MetaValidationScale>("--scale") { Description = "Reduced (default; MLP 196-32-16-10, token model V512 d16, autoencoder 196-16-196: minutes), Full (the issue's sizes: MLP 196-128-64-10 on the full train split, V1024 d32, 196-64-196; AdamW over the whole lr x wd x beta2 grid: about 95 min of one-thread AdamW tuning, spread over the tasks, once per database; about 16 min on 2 cores with --adamw-cache Runtime/Fused.Search/Runs/adamw-heldout-full.cache) or Smoke (the protocol in a minute, not a measurement)", DefaultValueFactory = _ => MetaValidationScale.Reduced };
            var program = new Option<string?>("--program") { Description = "The program: the search's best (default), a stored one by id (#635), or a file holding a program as IR text" };
            var controls = new Option<bool>("--controls") { Description = "Also the other controls: AdamW given twice the tuning trials and the best of --mutants random AdamW mutants" };
            var mutants = CliOptions.Int("--mutants", "Random AdamW mutants scored by the search's selection fitness for --controls", 8, 1, 10_000);
            var threads = CliOptions.Int("--threads", "Evaluation threads", Environment.ProcessorCount, 1, CliOptions.MaxThreads);
            var edges = new Option<bool>("--extend-baseline-edges") { Description = "A control on the baseline: extend AdamW's weight decay and beta2 grids past an edge its tuning ends on, and read every program against that AdamW" };
            var adamwCache = new Option<string?>("--adamw-cache") { Description = "A file of AdamW's held-out tuning measured before (e.g. Runtime/Fused.Search/Runs/adamw-heldout-full.cache): entries the database lacks are imported first, so they are not re-measured" };
            var data = new Option<string?>("--data") { Description = "Fashion-MNIST directory (default: the search's, else /usr/share/datasets/fashion-mnist; missing files are an error)" };
            var command = new Command("validate", "Meta-validate a search's program on held-out tasks frozen before any search: log2 speedup over tuned AdamW on 5 paired seeds with one-sided 95 % bounds, Lion beside it, and the success criterion's verdict")
                { database, scale, program, controls, mutants, threads, edges, adamwCache, data };
            command.SetAction(parse =>
            {
                var request = new MetaValidationRequest
                {
                    DatabasePath = parse.GetValue(database)!,
                    Scale = parse.GetValue(scale),
                    Program = parse.GetValue(program),
                    Controls = parse.GetValue(controls),
                    Mutants = parse.GetValue(mutants),
                    Threads = parse.GetValue(threads),
                    ExtendBaselineEdges = parse.GetValue(edges),
                    AdamWCacheFile = parse.GetValue(adamwCache),
                    FashionMnistDirectory = parse.GetValue(data),
                };
                return WithCtrlC(ct =>
                {
                    try { return MetaValidationRunner.Run(System.Console.Out, request, ct); }
                    catch (OperationCanceledException)
                    {
                        System.Console.Error.WriteLine($"fused: meta-validation stopped; AdamW's held-out tuning measured so far is kept in {request.DatabasePath} for the next run");
                        return Program.RuntimeFailure;
                    }
                });
            });
            return command;
        }
    }
}
