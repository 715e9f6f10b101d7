using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Search.Export;

namespace Fused.Search
{
    /// <summary>
    /// What the `fused search` command does, so the CLI is a thin wrapper: open or resume the search
    /// in options.DatabasePath, print a progress line per generation, and at the end the best
    /// program as a Fused rule with its lineage. Returns the process exit code.
    /// </summary>
    public static class SearchCommandRunner
    {
        public static int Run(TextWriter output, SearchOptions options, CancellationToken ct)
        {
            bool resuming = File.Exists(options.DatabasePath) && new FileInfo(options.DatabasePath).Length > 0;
            using var session = SearchSession.Open(options);
            output.WriteLine(resuming
                ? $"resuming {options.DatabasePath} at generation {session.Generation} ({session.Database.EvaluationCount()} evaluations stored)"
                : $"new search in {options.DatabasePath}: seed {options.Seed}, population {options.PopulationSize}, tournament {options.TournamentSize}, batch {options.BatchSize}, proxies {options.Proxies}");
            if (resuming)
                foreach (var difference in session.SettingsDifferingFrom(options))
                    output.WriteLine($"note: {difference}; a resumed search keeps the settings it was created with (use a new --db for new settings)");
            session.Progress += p => output.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "gen {0,5}  best {1,8:F4} (#{2})  evals {3,6}  {4,7:F1} evals/s  equivalent {5,5:P0}  {6:hh\\:mm\\:ss}{7}",
                p.Generation, p.BestFitness, p.BestProgramId, p.Evaluations, p.EvaluationsPerSecond, p.EquivalentShare, p.Elapsed,
                p.Restarted ? "  (restarted from best)" : ""));
            var result = session.Run(ct);
            output.WriteLine($"{(result.Cancelled ? "stopped" : "finished")} after generation {result.Generations}: {result.Evaluations} evaluations stored, {result.EvaluationsThisRun} in this run, {result.Elapsed.TotalSeconds:F1} s");
            if (result.Best == null || result.BestProgram == null) return 0;
            output.WriteLine($"best program #{result.Best.Id}, fitness {result.Best.Fitness:F4} (log10 of AdamW's loss / its loss on the ranking stage; 0 = AdamW):");
            output.WriteLine(RuleExporter.ToCSharp(result.BestProgram, "FoundRule"));
            output.WriteLine("lineage:");
            output.Write(LineageReport.Format(session.Database.Lineage(result.Best.Id)));
            return 0;
        }
    }
}
