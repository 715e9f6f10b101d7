using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Fused.Demo.Widgets;
using Spectre.Console;

namespace Fused.Demo.Commands
{
    /// <summary>`fused landscape`: every catalog rule's path on the 2-D landscapes, written as CSV (no training).</summary>
    public static class LandscapeCommand
    {
        public static Command Create()
        {
            var output = new Option<string>("--out") { Description = "CSV file for the trajectories (landscape, rule, lr, step, x, y, loss)", DefaultValueFactory = _ => "fused-trajectories.csv" };
            var command = new Command("landscape", "Run each generated catalog rule on 2-D loss landscapes (anisotropic valley, Rosenbrock, saddle) and write the trajectories") { output };
            command.SetAction(parse => Run(parse.GetValue(output)!));
            return command;
        }

        public static int Run(string outputPath)
        {
            var csv = new StringBuilder("landscape,rule,lr,step,x,y,loss\n");
            var table = new Table().Border(TableBorder.Rounded).Title("[bold]Where each rule ends up[/] (distance to the minimum after the run; lr per rule in the CSV)");
            table.AddColumn("Rule");
            foreach (var landscape in Landscape.All) table.AddColumn(new TableColumn($"{landscape.Name} ({landscape.Steps} steps)").RightAligned());
            var all = Landscape.All.Select(l => (Landscape: l, Paths: LandscapeTrajectories.Compute(l))).ToArray();
            foreach (var (landscape, paths) in all)
                foreach (var path in paths)
                    for (int step = 0; step < path.Points.Count; step++)
                    {
                        var (x, y) = path.Points[step];
                        csv.Append(CultureInfo.InvariantCulture, $"{landscape.Name},{path.Rule},{path.LearningRate:G4},{step},{x:G7},{y:G7},{landscape.Loss(x, y):G7}\n");
                    }

            foreach (string rule in all[0].Paths.Select(p => p.Rule))
            {
                var cells = all.Select(entry =>
                {
                    var path = entry.Paths.Single(p => p.Rule == rule);
                    if (!path.Drawn) return "[grey]not defined on 2 numbers[/]";
                    if (path.Diverged) return "[red]diverged[/]";
                    var (x, y) = path.Final;
                    double distance = Math.Sqrt(Math.Pow(x - entry.Landscape.Minimum.X, 2) + Math.Pow(y - entry.Landscape.Minimum.Y, 2));
                    return $"{distance:F3}";
                });
                table.AddRow(new[] { Markup.Escape(rule) }.Concat(cells).ToArray());
            }

            try
            {
                File.WriteAllText(outputPath, csv.ToString());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return TrainCommand.Failure($"could not write {outputPath}: {e.Message}");
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"Trajectories written to {Markup.Escape(Path.GetFullPath(outputPath))}.");
            return 0;
        }
    }
}
