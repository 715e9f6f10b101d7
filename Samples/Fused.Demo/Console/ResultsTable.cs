using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Training;
using Spectre.Console;

namespace Fused.Demo.Console
{
    /// <summary>The closing table of `fused train`.</summary>
    public static class ResultsTable
    {
        public static void Print(IReadOnlyList<RunResult> results)
        {
            double best = results.Where(r => !r.Diverged).Select(r => r.TestAccuracy).DefaultIfEmpty(double.NaN).Max();
            bool text = results.Count > 0 && results[0].Model == Model.ModelTasks.Transformer;
            var table = new Table().Border(TableBorder.Rounded).Title(text
                ? "[bold]Next character, test text (loss in nats per character)[/]"
                : "[bold]Fashion-MNIST, test set (10,000 images)[/]");
            table.AddColumn("Optimizer");
            table.AddColumn(new TableColumn("Test acc.").RightAligned());
            table.AddColumn(new TableColumn("Test loss").RightAligned());
            table.AddColumn(new TableColumn("Train loss").RightAligned());
            table.AddColumn(new TableColumn("ms/step").RightAligned());
            table.AddColumn(new TableColumn("opt. ms").RightAligned());
            table.AddColumn(new TableColumn("State").RightAligned());
            table.AddColumn(new TableColumn("B/param").RightAligned());
            foreach (var r in results)
            {
                string accuracy = double.IsNaN(r.TestAccuracy) ? "—" : $"{r.TestAccuracy:P2}";
                if (r.TestAccuracy == best) accuracy = $"[bold green]{accuracy}[/]";
                table.AddRow(
                    Markup.Escape(r.Optimizer),
                    accuracy,
                    double.IsNaN(r.TestLoss) ? "—" : r.TestLoss.ToString("F4"),
                    r.Diverged ? "[red]diverged[/]" : r.FinalTrainLoss.ToString("F4"),
                    r.MillisecondsPerStep.ToString("F2"),
                    r.OptimizerMillisecondsPerStep.ToString("F3"),
                    Bytes.Format(r.StateBytes),
                    $"{(double)r.StateBytes / r.ParameterCount:F1}");
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine("[grey]ms/step: forward + backward + optimizer; opt. ms: the optimizer alone; State: optimizer state as the engine allocates it (the generated Layout per element, plus row/column and scalar states).[/]");
        }
    }
}
