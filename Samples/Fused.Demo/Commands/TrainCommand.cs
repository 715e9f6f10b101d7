using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Fused.Demo.Console;
using Fused.Demo.Data;
using Fused.Demo.Optimizers;
using Fused.Demo.Report;
using Fused.Demo.Training;
using Fused.Runtime.Execution;
using Fused.Runtime.Matrix;
using Spectre.Console;

namespace Fused.Demo.Commands
{
    /// <summary>`fused train`: Fashion-MNIST with several generated optimizers side by side, then a table and an HTML report.</summary>
    public static class TrainCommand
    {
        /// <summary>The model's name in results and the report.</summary>
        public const string ModelName = "MLP";

        public static Command Create()
        {
            var defaults = new TrainingOptions();
            var epochs = CliOptions.Int("--epochs", "Passes over the training set", defaults.Epochs, 1, 10_000);
            var seeds = CliOptions.Int("--seeds", "Runs per optimizer, from seeds --seed, --seed + 1, ...; tables and charts show mean ± std", defaults.Seeds, 1, 100);
            var optimizers = new Option<string>("--optimizers")
            {
                Description = $"Comma-separated optimizers to compare; available: {string.Join(", ", OptimizerRegistry.All.Select(r => r.Name))}",
                DefaultValueFactory = _ => string.Join(",", OptimizerRegistry.DefaultNames),
            };
            var batchSize = CliOptions.Int("--batch-size", "Images per step", 128, 1, 8192);
            var seed = new Option<ulong>("--seed") { Description = "Seed for initial weights and shuffling (same for every optimizer)", DefaultValueFactory = _ => 42UL };
            var subset = CliOptions.OptionalInt("--subset", "Train on only the first N training images (quick runs); the full test set is still used", 1);
            var report = new Option<string>("--report") { Description = "Where to write the HTML report", DefaultValueFactory = _ => "fused-report.html" };
            var threads = CliOptions.Int("--threads", "Threads for BLAS and the optimizer kernels (0 = all cores)", 0, 0, CliOptions.MaxThreads);
            var data = new Option<string?>("--data") { Description = $"Directory with the Fashion-MNIST IDX files (default: ${FashionMnist.DirectoryVariable} or {FashionMnist.DebianDirectory})" };


            var command = new Command("train", "Train an MLP (784→256→128→10) on Fashion-MNIST with each optimizer, print a results table and write an HTML report")
            {
                epochs, seeds, optimizers, batchSize, seed, subset, report, threads, data,
            };
            command.SetAction(parse => Run(
                parse.GetValue(optimizers)!, new TrainingOptions { Epochs = parse.GetValue(epochs), Seeds = parse.GetValue(seeds), BatchSize = parse.GetValue(batchSize), Seed = parse.GetValue(seed) },
                parse.GetValue(subset), parse.GetValue(report)!, parse.GetValue(threads), parse.GetValue(data)));
            return command;
        }

        public static int Run(string optimizerList, TrainingOptions options, int? subset, string reportPath, int threads, string? dataDirectory)
        {
            List<OptimizerRecipe> recipes;
            try
            {
                recipes = optimizerList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(OptimizerRegistry.Named).DistinctBy(r => r.Name).ToList();
                if (recipes.Count == 0) throw new ArgumentException("--optimizers lists no optimizer");
            }
            catch (ArgumentException e)
            {
                return Failure(e.Message, Program.UsageError);
            }

            Dataset train, test;
            var loading = Stopwatch.StartNew();
            try
            {
                (train, test) = FashionMnist.Load(dataDirectory);
            }
            catch (Exception e) when (e is FileNotFoundException or IdxFormatException or IOException)
            {
                return Failure(e.Message);
            }

            if (subset is int n) train = train.Take(n);
            int degree = threads == 0 ? Environment.ProcessorCount : threads;
            string blasNote = BlasThreads.TrySet(degree);
            using var pool = new WorkerPool(degree);
            // One trainer per seed (it fixes the initial weights and the batch order); every optimizer runs on every seed.
            var jobs = options.SeedValues
                .Select(seed => new Trainer(train, test, options with { Seed = seed }, pool))
                .SelectMany((trainer, k) => recipes.Select(recipe => new TrainingJob(ModelName, options.Seed + (ulong)k, trainer, recipe)))
                .OrderBy(job => recipes.IndexOf(job.Recipe)).ToArray();
            var trainer = jobs[0].Trainer;
            var setup = new RunSetup(train.Count, test.Count, options, degree, Blas.Backend, blasNote, loading.Elapsed.TotalSeconds);

            AnsiConsole.MarkupLine($"[bold]Fashion-MNIST[/]: {train.Count:N0} training / {test.Count:N0} test images, loaded in {setup.LoadSeconds:F1} s");
            AnsiConsole.MarkupLine($"[bold]Model[/]: MLP {string.Join("→", options.LayerSizes)}, batch {options.BatchSize}, {options.Epochs} epoch(s) = {trainer.TotalSteps:N0} steps per run; {recipes.Count} optimizer(s) × {options.Seeds} seed(s) from {options.Seed}");
            AnsiConsole.MarkupLine($"[bold]Compute[/]: {Markup.Escape(Blas.Backend)}, {degree} thread(s); {Markup.Escape(blasNote)}");

            var results = TrainingProgressView.Run(jobs);
            ResultsTable.Print(results);

            var total = results.Sum(r => r.Seconds);
            AnsiConsole.MarkupLine($"Training took {total:F1} s in total.");
            try
            {
                var html = HtmlReport.Build(new ReportInput(setup, results));
                string fullPath = Path.GetFullPath(reportPath);
                string? directory = Path.GetDirectoryName(fullPath);
                if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
                File.WriteAllText(fullPath, html);
                AnsiConsole.MarkupLine($"Report written to [link]{Markup.Escape(fullPath)}[/] ({html.Length / 1024.0:F0} KB).");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Failure($"could not write the report to {reportPath}: {e.Message}");
            }

            foreach (var diverged in results.Where(r => r.Diverged))
                AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(diverged.Optimizer)} diverged (loss became NaN or infinite); try a smaller learning rate.");
            return 0;
        }

        /// <summary>One error line; exit code 2 for a value the user typed (usage), 1 for a failure at run time.</summary>
        internal static int Failure(string message, int exitCode = Program.RuntimeFailure)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
            if (exitCode == Program.UsageError) AnsiConsole.WriteLine("usage: fused train [options]  (run 'fused train --help' for the options)");
            return exitCode;
        }
    }
}
