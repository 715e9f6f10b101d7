using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Search.Export;
using Fused.Search.Storage;

namespace Fused.Search
{
    /// <summary>
    /// What the `fused search` command does, so the CLI is a thin wrapper: open or resume the search
    /// in options.DatabasePath, print a progress line per generation, and at the end the best
    /// program as a Fused rule with its lineage. Returns the process exit code.
    /// </summary>
    public static class SearchCommandRunner
    {
        /// <param name="summary">false for a worker process of <see cref="RunWorkers"/>: progress lines only, the parent prints the result.</param>
        public static int Run(TextWriter output, SearchOptions options, CancellationToken ct, bool summary = true)
        {
            using var session = Open(output, options, announce: summary);
            session.Progress += p => output.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "gen {0,5}  best {1,8:F4} (#{2})  evals {3,6}  {4,7:F1} evals/s  equivalent {5,5:P0}  {6:hh\\:mm\\:ss}{7}",
                p.Generation, p.BestFitness, p.BestProgramId, p.Evaluations, p.EvaluationsPerSecond, p.EquivalentShare, p.Elapsed,
                p.Restarted ? "  (restarted from best)" : ""));
            var result = session.Run(ct);
            output.WriteLine($"{(result.Cancelled ? "stopped" : "finished")} after generation {result.Generations}: {result.Evaluations} evaluations stored, {result.EvaluationsThisRun} in this run, {result.Elapsed.TotalSeconds:F1} s");
            PrintTaskCosts(output, session);
            if (summary) PrintBest(output, session);
            return 0;
        }

        /// <summary>
        /// <c>--workers N</c>: creates or checks the database and measures AdamW's tuning once (all threads), then runs
        /// <paramref name="workers"/> processes started by <paramref name="worker"/> on it (steady state only), then prints the best.
        /// </summary>
        public static int RunWorkers(TextWriter output, SearchOptions options, int workers, Func<int, System.Diagnostics.ProcessStartInfo> worker, CancellationToken ct)
        {
            bool exists = File.Exists(options.DatabasePath) && new FileInfo(options.DatabasePath).Length > 0;
            if (!exists && options.Mode != SearchMode.SteadyState)
                throw new ArgumentException("--workers runs a steady-state search (--mode SteadyState); a generational search is one process");
            using (var session = Open(output, options, announce: true))
            {
                if (session.Mode != SearchMode.SteadyState)
                    throw new SearchDatabaseException(options.DatabasePath, "it holds a generational search, which one process runs; drop --workers or use a new --db");
                output.WriteLine($"preparing the reference (AdamW's tuning and curves, kept in the database), then {workers} worker processes");
                session.Prepare(ct);
            }
            int code = WorkerProcesses.Run(output, workers, worker, ct);
            using (var session = SearchSession.Resume(options.DatabasePath, maxGenerations: 0))
            {
                output.WriteLine($"workers done (exit code {code}): generation {session.Generation}, {session.Database.EvaluationCount()} evaluations stored");
                PrintBest(output, session);
            }
            return code;
        }

        private static SearchSession Open(TextWriter output, SearchOptions options, bool announce)
        {
            bool resuming = File.Exists(options.DatabasePath) && new FileInfo(options.DatabasePath).Length > 0;
            var session = SearchSession.Open(options);
            if (!announce) return session;
            output.WriteLine(resuming
                ? $"resuming {options.DatabasePath} ({session.Mode}) at generation {session.Generation} ({session.Database.EvaluationCount()} evaluations stored)"
                : $"new search in {options.DatabasePath}: {options.Mode}, seed {options.Seed}, population {options.PopulationSize}, tournament {options.TournamentSize}, " +
                  (options.Mode == SearchMode.Generational ? $"batch {options.BatchSize}, " : "") + $"proxies {options.Proxies}");
            if (resuming)
                foreach (var difference in session.SettingsDifferingFrom(options))
                    output.WriteLine($"note: {difference}; a resumed search keeps the settings it was created with (use a new --db for new settings)");
            return session;
        }

        private static void PrintBest(TextWriter output, SearchSession session)
        {
            var best = session.Database.Best();
            if (best == null) return;
            string scale = session.Funnel.Scorer != null
                ? "log2 speedup over tuned AdamW, mean − ½·SE over paired seeds; 0 = AdamW"
                : "log10 of AdamW's loss / its loss on the ranking stage; 0 = AdamW";
            output.WriteLine($"best program #{best.Id}, fitness {best.Fitness:F4} ({scale}):");
            var program = IrText.Parse(best.Ir);
            output.WriteLine(RuleExporter.ToCSharp(program, "FoundRule"));
            if (session.Funnel.Scorer is { FairStart: true } scorer)
            {
                // The defaults above are AdamW-relative (fair start): what they stood for on each ranking task.
                var rule = new Fused.Runtime.Kernels.InterpretedRule(program);
                var names = program.Hypers.Select(h => h.Name).ToList();
                foreach (var task in scorer.Tasks)
                {
                    var hypers = scorer.TaskHypers(rule, task, relativeToTuned: true);
                    output.WriteLine($"  on {task.Name}: " + string.Join(", ", names.Select((n, i) => (n, i)).Where(x => x.n is "beta2" or "weightDecay")
                        .Select(x => $"{x.n} = {hypers[x.i].ToString("G6", CultureInfo.InvariantCulture)}")) + " (read relative to tuned AdamW)");
                }
            }
            output.WriteLine("lineage:");
            output.Write(LineageReport.Format(session.Database.Lineage(best.Id)));
            PrintValidation(output, session);
        }

        /// <summary>Per ranking and validation task: training runs this process made and their mean cost (AdamW's tuning and curves included).</summary>
        private static void PrintTaskCosts(TextWriter output, SearchSession session)
        {
            var scorers = new[] { ("ranking", session.Funnel.Scorer), ("validation", session.Promotion?.Validation) };
            foreach (var (role, scorer) in scorers)
                if (scorer != null)
                    foreach (var task in scorer.Tasks)
                        if (scorer.Costs.TryGetValue(task.Name, out var c))
                            output.WriteLine(string.Format(CultureInfo.InvariantCulture, "cost of {0} task {1}: {2} training runs in this process, {3:F3} s each (one thread)",
                                role, task.Name, c.runs, c.seconds / c.runs));
        }

        /// <summary>The gate's record: the top programs' selection fitness beside their validation fitness, and the would-be bests it refused.</summary>
        private static void PrintValidation(TextWriter output, SearchSession session)
        {
            if (session.Promotion is not { Gates: true } promotion) return;
            var db = session.Database;
            output.WriteLine($"validation gate (validation fitness ≥ {promotion.Settings.ValidationGate!.Value.ToString("G3", CultureInfo.InvariantCulture)} on " +
                string.Join(", ", promotion.Validation!.Tasks.Select(t => t.Name)) + $", seeds {string.Join(",", promotion.Validation.SelectionSeeds)}); " +
                $"racing: top {promotion.Settings.RaceTop}, +{promotion.Settings.RaceSeeds} seeds a round up to {promotion.Settings.MaxSeeds}");
            foreach (var p in db.TopPrograms(5))
                output.WriteLine($"  #{p.Id}: fitness {p.Fitness:F4}, " + Promotion.Summarise(db.GetMeta(Promotion.MetaKey(p.FunctionalHash))));
            var refused = db.Evaluations().Select(e => (e, record: db.GetMeta(Promotion.MetaKey(e.FunctionalHash)))).Where(x => x.record?.EndsWith("refused", StringComparison.Ordinal) == true).ToList();
            output.WriteLine($"  refused by the gate: {refused.Count} would-be best(s)" + (refused.Count == 0 ? "" : ", e.g. " +
                string.Join("; ", refused.OrderByDescending(x => double.Parse(x.record!.Split(';')[0], CultureInfo.InvariantCulture)).Take(3).Select(x => Promotion.Summarise(x.record)))));
        }
    }
}
