using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Training;
using Spectre.Console;

namespace Fused.Demo.Console
{
    /// <summary>The closing tables of `fused train`: one per model, mean ± std over the seeds, and the verdict under it.</summary>
    public static class ResultsTable
    {
        public static void Print(IReadOnlyList<RunResult> results)
        {
            var summaries = SeedSummary.Group(results);
            foreach (var model in summaries.GroupBy(s => s.Model))
            {
                var rows = model.ToArray();
                int seeds = rows.Max(s => s.Runs.Count);
                double best = rows.Select(s => s.TestAccuracy.Mean).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();
                string task = Model.ModelTasks.IsLanguageModel(model.Key)
                    ? "next character, test text (loss in nats per character)"
                    : "Fashion-MNIST test set (10,000 images)";
                var table = new Table().Border(TableBorder.Rounded)
                    .Title($"[bold]{Markup.Escape(model.Key)}: {task}[/] ({(seeds > 1 ? $"mean ± std over {seeds} seeds" : "one seed")})");
                table.AddColumn("Optimizer");
                table.AddColumn(new TableColumn("Test acc. %").RightAligned());
                table.AddColumn(new TableColumn("Test loss").RightAligned());
                table.AddColumn(new TableColumn("Train loss*").RightAligned());
                table.AddColumn(new TableColumn("ms/step").RightAligned());
                table.AddColumn(new TableColumn("opt. ms").RightAligned());
                table.AddColumn(new TableColumn("State").RightAligned());
                table.AddColumn(new TableColumn("B/param").RightAligned());
                foreach (var s in rows)
                {
                    string accuracy = s.TestAccuracy.Format(v => (v * 100).ToString("F2"));
                    if (s.TestAccuracy.Mean == best) accuracy = $"[bold green]{accuracy}[/]";
                    string trainLoss = s.DivergedRuns == s.Runs.Count ? "[red]diverged[/]"
                        : s.FinalTrainLoss.Format(v => v.ToString("F4")) + (s.DivergedRuns > 0 ? $" [red]({s.DivergedRuns} diverged)[/]" : "");
                    table.AddRow(
                        Markup.Escape(s.Optimizer),
                        accuracy,
                        s.TestLoss.Format(v => v.ToString("F4")),
                        trainLoss,
                        s.MillisecondsPerStep.Mean.ToString("F2"),
                        s.OptimizerMillisecondsPerStep.Mean.ToString("F3"),
                        Bytes.Format(s.StateBytes),
                        $"{(double)s.StateBytes / s.ParameterCount:F1}");
                }

                AnsiConsole.Write(table);
                foreach (var verdict in Verdict.PerModel(rows)) AnsiConsole.MarkupLine(Markup.Escape(verdict.Sentence));
            }

            AnsiConsole.MarkupLine("[grey]*Train loss: mean cross-entropy of the last tenth of the final epoch's batches (the progress lines show a running average, a different figure). " +
                "Test loss and accuracy: the full test set after the last step. ms/step: forward + backward + optimizer (mean over seeds); opt. ms: the optimizer alone; " +
                "State: optimizer state as the engine allocates it (the generated Layout per element, plus row/column and scalar states).[/]");
        }
    }
}
