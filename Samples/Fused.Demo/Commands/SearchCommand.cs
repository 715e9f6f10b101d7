using System;
using System.CommandLine;
using System.Threading;
using Fused.Search;

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
            var minutes = new Option<double>("--minutes") { Description = "Time budget in minutes for this run", DefaultValueFactory = _ => 5.0 };
            var population = new Option<int>("--population") { Description = "Population size (regularized evolution)", DefaultValueFactory = _ => 24 };
            var seed = new Option<ulong>("--seed") { Description = "Random seed (a seeded run is reproducible)", DefaultValueFactory = _ => 1UL };
            var threads = new Option<int>("--threads") { Description = "Evaluation threads", DefaultValueFactory = _ => Environment.ProcessorCount };
            var data = new Option<string?>("--data") { Description = "Fashion-MNIST directory for the last proxy stage (default /usr/share/datasets/fashion-mnist)" };
            minutes.Validators.Add(r => { if (r.GetValue(minutes) <= 0) r.AddError("--minutes must be positive"); });
            population.Validators.Add(r => { if (r.GetValue(population) < 4) r.AddError("--population must be at least 4"); });
            var command = new Command("search", "Evolve optimizer update rules (the Lion discovery, on a laptop); prints winners as attributed C# rules") { database, minutes, population, seed, threads, data };
            command.SetAction(parse =>
            {
                var options = new SearchOptions
                {
                    DatabasePath = parse.GetValue(database)!,
                    TimeBudget = TimeSpan.FromMinutes(parse.GetValue(minutes)),
                    PopulationSize = parse.GetValue(population),
                    Seed = parse.GetValue(seed),
                    Threads = parse.GetValue(threads),
                    FashionMnistDirectory = parse.GetValue(data),
                };
                using var cancel = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
                System.Console.CancelKeyPress += onCancel;
                try { return SearchCommandRunner.Run(System.Console.Out, options, cancel.Token); }
                finally { System.Console.CancelKeyPress -= onCancel; }
            });
            return command;
        }
    }
}
