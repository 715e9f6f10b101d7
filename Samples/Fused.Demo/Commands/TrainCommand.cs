using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Fused.Demo.Console;
using Fused.Demo.Data;
using Fused.Demo.Model;
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
            var data = new Option<string?>("--data") { Description = $"Directory with the Fashion-MNIST IDX files (default: ${FashionMnist.DirectoryVariable} or {FashionMnist.DebianDirectory}); for --model transformer a text file or directory (default: ${TextCorpus.PathVariable} or {TextCorpus.DebianDirectory})" };
            var model = new Option<string>("--model")
            {
                Description = "mlp (784→256→128→10) or cnn (two conv3×3 + pool layers; 1 epoch unless --epochs), on Fashion-MNIST; or transformer (character-level language model on Debian's fortunes; " +
                              $"unless given, --epochs {ModelTasks.DefaultsFor(ModelTasks.Transformer).Epochs}, --batch-size {ModelTasks.DefaultsFor(ModelTasks.Transformer).BatchSize} sequences, --subset {ModelTasks.DefaultsFor(ModelTasks.Transformer).Subset:N0} windows of 64 characters)",
                DefaultValueFactory = _ => ModelTasks.Mlp,
            };
            model.AcceptOnlyFromAmong(ModelTasks.Names.ToArray());
            var distributed = new Option<bool>("--distributed") { Description = "Data-parallel under mpirun -np N: each rank trains on its slice of every --batch-size batch, optimizer state sharded ZeRO-1 (rank 0 prints and writes the report)" };


            var command = new Command("train", "Train an MLP (784→256→128→10) on Fashion-MNIST with each optimizer, print a results table and write an HTML report")
            {
                epochs, seeds, optimizers, batchSize, seed, subset, report, threads, data, model, distributed,
            };
            command.SetAction(parse =>
            {
                // Options the user did not type take the model's defaults (the transformer's differ from the images').
                var modelDefaults = ModelTasks.DefaultsFor(parse.GetValue(model)!);
                T Typed<T>(Option<T> option, T fallback) => parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option)! : fallback;
                return Run(
                    parse.GetValue(optimizers)!,
                    new TrainingOptions
                    {
                        Epochs = Typed(epochs, modelDefaults.Epochs), Seeds = parse.GetValue(seeds), BatchSize = Typed(batchSize, modelDefaults.BatchSize),
                        Seed = parse.GetValue(seed), Model = parse.GetValue(model)!,
                    },
                    Typed(subset, modelDefaults.Subset), parse.GetValue(report)!, parse.GetValue(threads), parse.GetValue(data), parse.GetValue(distributed));
            });
            return command;
        }

        public static int Run(string optimizerList, TrainingOptions options, int? subset, string reportPath, int threads, string? dataDirectory, bool distributed = false)
        {
            if (!distributed) return Run(optimizerList, options, subset, reportPath, threads, dataDirectory, parallel: null);
            DataParallel? parallel;
            string? error;
            try
            {
                parallel = DataParallel.Start(options.BatchSize, out error);
            }
            catch (Fused.Distributed.Mpi.MpiException e)
            {
                return Failure(e.Message);
            }
            if (parallel == null) return Failure(error!, Program.UsageError);
            using (parallel) return Run(optimizerList, options, subset, reportPath, threads, dataDirectory, parallel);
        }

        private static int Run(string optimizerList, TrainingOptions options, int? subset, string reportPath, int threads, string? dataDirectory, DataParallel? parallel)
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

            IModelTask task;
            int trainCount, testCount;
            var loading = Stopwatch.StartNew();
            try
            {
                (task, trainCount, testCount) = LoadModel(options, subset, dataDirectory);
            }
            catch (Exception e) when (e is FileNotFoundException or IdxFormatException or InvalidDataException or IOException)
            {
                return Failure(e.Message);
            }

            int degree = threads == 0 ? Environment.ProcessorCount : threads;
            string blasNote = BlasThreads.TrySet(degree);
            using var pool = new WorkerPool(degree);
            // One trainer per seed (it fixes the initial weights and the batch order); every optimizer runs on every seed.
            var jobs = options.SeedValues
                .Select(seed => new Trainer(task, options with { Seed = seed }, pool, parallel))
                .SelectMany((trainer, k) => recipes.Select(recipe => new TrainingJob(task.Name, options.Seed + (ulong)k, trainer, recipe)))
                .OrderBy(job => recipes.IndexOf(job.Recipe)).ToArray();
            var trainer = jobs[0].Trainer;
            var setup = new RunSetup(trainCount, testCount, options, degree, Blas.Backend, blasNote, loading.Elapsed.TotalSeconds) { ModelDescription = task.Description };

            string examples = ModelTasks.UsesImages(options.Model) ? "images" : "text windows";
            AnsiConsole.MarkupLine($"[bold]Data[/]: {trainCount:N0} training / {testCount:N0} test {examples}, loaded in {setup.LoadSeconds:F1} s");
            AnsiConsole.MarkupLine($"[bold]Model[/]: {Markup.Escape(task.Description)}; batch {options.BatchSize}, {options.Epochs} epoch(s) = {trainer.TotalSteps:N0} steps per run; {recipes.Count} optimizer(s) × {options.Seeds} seed(s) from {options.Seed}");
            AnsiConsole.MarkupLine($"[bold]Compute[/]: {Markup.Escape(Blas.Backend)}, {degree} thread(s); {Markup.Escape(blasNote)}");
            if (parallel != null)
                AnsiConsole.MarkupLine($"[bold]Distributed[/]: {parallel.Size} ranks, {options.BatchSize / parallel.Size} examples each per step, optimizer state sharded (ZeRO-1); rank 0 evaluates and reports");

            var results = TrainingProgressView.Run(jobs);
            ResultsTable.Print(results);
            if (parallel != null) // full precision, to compare with one process
                foreach (var r in results) System.Console.WriteLine($"final {r.Optimizer}: test loss {r.TestLoss:R}, test accuracy {r.TestAccuracy:R}");

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

        /// <summary>
        /// The --model with its data: Fashion-MNIST for mlp and cnn, the text corpus for transformer (whose --subset
        /// counts training windows).
        /// </summary>
        private static (IModelTask Task, int TrainCount, int TestCount) LoadModel(TrainingOptions options, int? subset, string? dataDirectory)
        {
            if (ModelTasks.UsesImages(options.Model))
            {
                var (train, test) = FashionMnist.Load(dataDirectory);
                if (subset is int n) train = train.Take(n);
                return (ModelTasks.ForImages(options, train, test), train.Count, test.Count);
            }

            var corpus = TextCorpus.Load(dataDirectory);
            var language = LanguageModeling.Default(corpus, subset);
            return (language, language.TrainingExampleCount, language.TestWindowCount);
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
