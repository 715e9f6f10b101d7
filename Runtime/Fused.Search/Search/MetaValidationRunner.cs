using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fused.Ir;
using Fused.Search.Evaluation;
using Fused.Search.Export;
using Fused.Search.Mutation;
using Fused.Search.Storage;

namespace Fused.Search
{
    /// <summary>What <see cref="MetaValidationRunner"/> checks (`fused search validate`).</summary>
    public sealed record MetaValidationRequest
    {
        /// <summary>An existing search database: which program, how its hyperparameters read (fair start), its lineage, and the cache.</summary>
        public required string DatabasePath { get; init; }

        public MetaValidationScale Scale { get; init; } = MetaValidationScale.Reduced;

        /// <summary>null: the search's best; "#ID" or "ID": a stored program; anything else: a file holding a program as IR text.</summary>
        public string? Program { get; init; }

        /// <summary>Also the issue's other controls: AdamW given twice the tuning trials and the best of <see cref="Mutants"/> random AdamW mutants.</summary>
        public bool Controls { get; init; }

        public int Mutants { get; init; } = 8;

        public int Threads { get; init; } = Environment.ProcessorCount;

        /// <summary>
        /// A file of AdamW's held-out tuning and curves measured before (one "key TAB value" per line, as
        /// Runtime/Fused.Search/Runs/adamw-heldout-*.cache): its entries the database lacks are copied into the database's
        /// cache first, so a new machine need not re-measure them.
        /// </summary>
        public string? AdamWCacheFile { get; init; }

        /// <summary>
        /// A control on the baseline itself: AdamW's weight decay and β2 grids are extended past an edge its tuning ends on
        /// (<see cref="SpeedupScorer.ExtendEdges"/>), and every program is read against that AdamW.
        /// </summary>
        public bool ExtendBaselineEdges { get; init; }

        /// <summary>Fashion-MNIST directory (null: the search's own, else the default); missing files are an error.</summary>
        public string? FashionMnistDirectory { get; init; }

        /// <summary>
        /// Where AdamW's tuning and curves on the held-out tasks are kept (hours at the full scale, so they are measured once):
        /// null keeps them in the database (meta keys <c>metavalidation_{scale}:…</c>).
        /// </summary>
        public (Func<string, string?> Load, Action<string, string> Store)? Cache { get; init; }
    }

    /// <summary>
    /// Meta-validation of a search's program on the frozen held-out tasks (<see cref="MetaValidation"/>) beside AdamW
    /// (lr tuned at its defaults) and Lion, optionally with the other controls; prints the table with intervals, the
    /// success criterion's verdict, whether a Lion-form program was reached, the program as a rule and its lineage.
    /// The database is only read, apart from the cache of AdamW's held-out tuning.
    /// </summary>
    public static class MetaValidationRunner
    {
        public const string AdamWControl = "AdamW, default beta2 0.999 and wd 0.01 (lr tuned)";
        public const string LionControl = "Lion";
        public const string MutantControl = "best random AdamW mutant";

        public static int Run(TextWriter output, MetaValidationRequest request, CancellationToken ct)
        {
            Validate(output, request, ct);
            return 0;
        }

        /// <summary>Prints the report (<see cref="Run"/>) and returns its rows: AdamW's defaults, Lion, [the best mutant,] the program[, AdamW with 2× tuning].</summary>
        public static IReadOnlyList<MetaResult> Validate(TextWriter output, MetaValidationRequest request, CancellationToken ct)
        {
            if (request.Mutants < 1) throw new ArgumentException("--mutants must be at least 1");
            if (!File.Exists(request.DatabasePath))
                throw new FileNotFoundException($"{request.DatabasePath}: no such search database (--db names the database a `fused search` wrote)", request.DatabasePath);
            var clock = Stopwatch.StartNew();
            using var session = SearchSession.Resume(request.DatabasePath, maxGenerations: 0);
            var db = session.Database;
            var (name, record, program) = Choose(db, request.Program);

            string cachePrefix = $"metavalidation_{request.Scale.ToString().ToLowerInvariant()}:";
            var cache = request.Cache ?? (key => db.GetMeta(cachePrefix + key), (key, value) => db.SetMeta(new Dictionary<string, string> { [cachePrefix + key] = value }));
            string? fashion = request.FashionMnistDirectory ?? (db.GetMeta("fashion_dir") is { Length: > 0 } d ? d : null);
            var meta = new MetaValidation(request.Scale, fashion, load: cache.Load, store: cache.Store, extendBaselineEdges: request.ExtendBaselineEdges);
            if (request.AdamWCacheFile != null)
            {
                if (request.Cache != null) throw new ArgumentException("an AdamW cache file is imported into the database's cache; this run was given another cache");
                // Only this scale's tasks (their names carry their sizes): another scale's file is an error, not a silent no-op.
                var entries = ReferenceCacheFile.Read(request.AdamWCacheFile).Where(e => meta.Tasks.Any(t => e.Key.Contains(":" + t.Name + ":", StringComparison.Ordinal))).ToList();
                if (entries.Count == 0)
                    throw new InvalidDataException($"{request.AdamWCacheFile} holds no entries for the {request.Scale} tasks ({string.Join("; ", meta.Tasks.Select(t => t.Name))})");
                var missing = entries.Where(e => db.GetMeta(cachePrefix + e.Key) == null).ToDictionary(e => cachePrefix + e.Key, e => e.Value);
                if (missing.Count > 0) db.SetMeta(missing);
                output.WriteLine($"{request.AdamWCacheFile}: {missing.Count} of {entries.Count} entries imported into the database's {request.Scale} cache");
            }

            output.WriteLine($"meta-validation ({request.Scale}{(request.ExtendBaselineEdges ? ", AdamW's wd and β2 grids extended past their edges" : "")}) of {name} from {request.DatabasePath} ({db.EvaluationCount()} evaluations stored); " +
                             $"frozen tasks: {string.Join("; ", meta.Tasks.Select(t => t.Name))}; seeds {string.Join(",", MetaValidation.Seeds)}");
            if (record != null && session.Promotion is { Gates: true })
                output.WriteLine("the search's validation gate on it: " + Promotion.Summarise(db.GetMeta(Promotion.MetaKey(record.FunctionalHash))));
            var lionForms = db.Evaluations().Where(e => LionForm.Matches(IrText.Parse(e.Ir))).ToList();
            output.WriteLine(lionForms.Count == 0
                ? "Lion-form program reached: no (no stored evaluation has Lion's form after normalization)"
                : $"Lion-form program reached: yes, {lionForms.Count} evaluation(s), first in generation {lionForms.Min(e => e.Generation)} (best of them: fitness {lionForms.Max(e => e.Fitness):F4})");

            var adam = ProgramNormalizer.Run(WarmStarts.AdamW());
            // A fair-start search reads its programs' β2 and wd relative to tuned AdamW; the held-out tasks read them the
            // same way for the programs that descend from the warm start (never for Lion or AdamW's defaults).
            bool fair = db.GetMeta("fair_start") == "1";
            var rows = new List<(string Name, RuleProgram Program, bool Relative)>
            {
                (AdamWControl, adam, false),
                (LionControl, ProgramNormalizer.Run(WarmStarts.Lion()), false),
                (name, program, fair),
            };
            if (request.Controls)
            {
                // The best random AdamW mutant, by the same selection fitness the search uses.
                var mutator = new ProgramMutator();
                var scored = Enumerable.Range(0, request.Mutants).AsParallel().WithDegreeOfParallelism(request.Threads).WithCancellation(ct)
                    .Select(i => mutator.Mutate(adam, new SearchRandom(777 + (ulong)i)).Program)
                    .Select(p => (p, session.Funnel.Evaluate(p, ct).Fitness)).ToList();
                var best = scored.OrderByDescending(x => x.Fitness).First();
                output.WriteLine($"best of {request.Mutants} random AdamW mutants: selection fitness {best.Fitness:F4} (others: {string.Join(", ", scored.Select(x => x.Fitness.ToString("F3", CultureInfo.InvariantCulture)))})");
                rows.Insert(2, (MutantControl, best.p, fair));
            }
            var results = meta.EvaluateRows(rows, request.Controls, request.Threads, ct);

            PrintTable(output, meta, results);
            output.WriteLine("AdamW as tuned on each task (lr, wd, β2; the reference every row is read against): " +
                             string.Join("; ", meta.Tasks.Select(t => $"{t.Name} {meta.Scorer.Tuned(t, ct).ToText()}")));
            var found = results[rows.Count - 1];
            output.WriteLine($"success criterion (mean ≥ {MetaResult.WinMean} with the one-sided 95 % bound above 0 on at least 2 of {meta.Tasks.Count} tasks, no task mean below {MetaResult.TaskFloor}): " +
                             $"{(found.Succeeds ? "met" : "not met")} by {name}" +
                             (request.Scale == MetaValidationScale.Smoke ? " (Smoke scale: a test of the protocol, not a measurement; use Reduced or Full)" : ""));
            output.WriteLine($"\n{name} as a rule:\n" + RuleExporter.ToCSharp(program, "FoundRule"));
            if (record != null && record.Id > 0) output.WriteLine("lineage:\n" + LineageReport.Format(db.Lineage(record.Id)));
            output.WriteLine($"meta-validation took {clock.Elapsed.TotalMinutes:F1} min");
            return results;
        }

        /// <summary>The program to validate: the search's best, a stored one by id, or one in an IR text file.</summary>
        private static (string Name, ProgramRecord? Record, RuleProgram Program) Choose(SearchDatabase db, string? which)
        {
            if (which == null)
            {
                if (db.Best() is { } best) return ($"found #{best.Id}", best, IrText.Parse(best.Ir));
                // A run stopped inside its first generation has evaluations but no programs yet.
                var evaluation = db.Evaluations().OrderByDescending(e => e.Fitness).FirstOrDefault()
                    ?? throw new InvalidDataException($"{db.Path} holds no evaluated program yet (a new search tunes AdamW first: run it longer, or give --program a file of IR text)");
                return ($"found {evaluation.FunctionalHash}", null, IrText.Parse(evaluation.Ir));
            }
            string id = which.StartsWith('#') ? which.Substring(1) : which;
            if (id.Length > 0 && id.All(char.IsAsciiDigit))
            {
                var record = (long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? db.GetProgram(n) : null)
                    ?? throw new ArgumentException($"{db.Path} has no program #{id}");
                return ($"program #{record.Id}", record, IrText.Parse(record.Ir));
            }
            if (!File.Exists(which)) throw new FileNotFoundException($"{which}: no such file (--program takes a stored program's id, e.g. #635, or a file holding a program as IR text)", which);
            RuleProgram program;
            try
            {
                program = IrText.Parse(File.ReadAllText(which));
                Verifier.ThrowIfInvalid(program);
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidDataException($"{which}: not a valid program in IR text: {e.Message}", e);
            }
            return (Path.GetFileNameWithoutExtension(which), null, program);
        }

        /// <summary>The results as a Markdown table (the record's form) and their per-seed speedups.</summary>
        public static void PrintTable(TextWriter output, MetaValidation meta, IReadOnlyList<MetaResult> results)
        {
            output.WriteLine("\nmean log2 speedup over tuned AdamW ± SE [one-sided 95 % lower bound] (peak lr), 5 paired seeds:");
            output.WriteLine("| program | " + string.Join(" | ", meta.Tasks.Select(t => t.Name)) + " | criterion |");
            output.WriteLine("| --- | " + string.Join(" | ", meta.Tasks.Select(_ => "---")) + " | --- |");
            foreach (var r in results)
                output.WriteLine($"| {r.Program} | " + string.Join(" | ", r.Tasks.Select(t => string.Format(CultureInfo.InvariantCulture, "{0} ± {1:0.000} [{2}] ({3:G3})",
                    Signed(t.Mean, 3), t.StandardError, Signed(t.LowerBound95, 3), t.LearningRate))) + $" | {(r.Succeeds ? "met" : "not met")} |");
            output.WriteLine("per-seed log2 speedups:");
            foreach (var r in results)
                output.WriteLine($"  {r.Program}: " + string.Join("; ", r.Tasks.Select(t => string.Join(" ", t.Speedups.Select(v => Signed(v, 2))))));
        }

        /// <summary>A signed figure; one that rounds to zero prints as 0 (a custom format would print "-0.00").</summary>
        private static string Signed(double v, int decimals)
        {
            double r = Math.Round(v, decimals) + 0.0; // + 0.0 turns −0 into +0
            string digits = "0." + new string('0', decimals);
            return r.ToString("+" + digits + ";-" + digits + ";" + digits, CultureInfo.InvariantCulture);
        }
    }
}
