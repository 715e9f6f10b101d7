using System;
using Fused.Ir;
using System.CommandLine;
using System.Diagnostics;
using System.Linq;
using Fused;
using Fused.Demo.Optimizers;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Spectre.Console;

namespace Fused.Demo.Commands
{
    /// <summary>`fused bench`: a short in-process timing of one element-wise step of each catalog rule.</summary>
    public static class BenchCommand
    {
        public static Command Create()
        {
            var size = CliOptions.Int("--size", "Parameters per tensor", 16 << 20, 1, 1 << 27);
            var repeats = CliOptions.Int("--repeats", "Timed steps per rule (after one warm-up step)", 5, 1, 1000);
            var threads = CliOptions.Int("--threads", "Worker threads (0 = all cores)", 0, 0, CliOptions.MaxThreads);
            var command = new Command("bench", "Time one step of each catalog rule on a tensor of 16M floats and print ns/param and GB/s (bytes moved from the generated Layout)")
            {
                size, repeats, threads,
            };
            command.SetAction(parse => Run(parse.GetValue(size), parse.GetValue(repeats), parse.GetValue(threads)));
            return command;
        }

        /// <summary>rows × cols = <paramref name="size"/> with rows the largest divisor not above √size.</summary>
        private static ShapeInfo SquarestMatrix(int size)
        {
            int rows = (int)Math.Sqrt(size);
            while (size % rows != 0) rows--;
            return ShapeInfo.Matrix(rows, size / rows);
        }

        public static int Run(int size, int repeats, int threads)
        {
            using var pool = new WorkerPool(threads);
            int maxBuffers = CatalogRule.All.Max(r => r.Rule.BufferCount);
            // One set of buffers reused by every rule; gradients and states are small non-zero values so no rule hits a special case.
            var buffers = Enumerable.Range(0, maxBuffers).Select(b => new float[size]).ToArray();
            var rng = new Model.SplitMix64(7);
            foreach (var buffer in buffers)
                for (int i = 0; i < size; i++) buffer[i] = (float)(rng.NextDouble() * 0.02 + 0.001);

            var table = new Table().Border(TableBorder.Rounded)
                .Title($"[bold]One step over {size:N0} parameters, {pool.DegreeOfParallelism} thread(s), best of {repeats}[/]");
            table.AddColumn("Rule");
            table.AddColumn(new TableColumn("Passes").RightAligned());
            table.AddColumn(new TableColumn("Bytes moved / param").RightAligned());
            table.AddColumn(new TableColumn("ms / step").RightAligned());
            table.AddColumn(new TableColumn("ns / param").RightAligned());
            table.AddColumn(new TableColumn("GB/s").RightAligned());
            var vector = ShapeInfo.Vector(size);
            var matrix = SquarestMatrix(size);
            // Element-wise timing: rules with a matrix pass (Muon) are timed by `bench matrix` in the benchmarks.
            foreach (var rule in CatalogRule.All.Where(r => r.Rule.Schedule.Matrices.Count == 0))
            {
                // Factored rules (row and column states) run on the squarest matrix of the size, as they would on a weight.
                var shape = rule.Rule.Program.Buffers.Any(b => b.Shape is StateShape.Row or StateShape.Column) ? matrix : vector;
                using var runner = new CpuRuleRunner(rule.Rule, pool);
                var hypers = rule.Rule.DefaultHyperparameters();
                var mine = buffers.Take(rule.Rule.BufferCount).ToArray();
                for (int b = 0; b < mine.Length; b++)
                {
                    // Scalar states hold one value per tensor, row and column states Rows or Cols values (1 or size here).
                    var kind = rule.Rule.Program.Buffers[b].Shape;
                    if (kind != StateShape.Element) mine[b] = buffers[b].AsSpan(0, checked((int)shape.LengthOf(kind))).ToArray();
                }
                runner.Step(hypers, 1, shape, mine);
                double best = double.MaxValue;
                for (int r = 0; r < repeats; r++)
                {
                    var watch = Stopwatch.StartNew();
                    runner.Step(hypers, 2 + r, shape, mine);
                    best = Math.Min(best, watch.Elapsed.TotalSeconds);
                }

                double gbPerSecond = (double)rule.BytesMovedPerParameter * size / best / 1e9;
                table.AddRow(Markup.Escape(rule.Name), rule.PassCount.ToString(), $"{rule.BytesMovedPerParameter} B",
                    $"{best * 1e3:F2}", $"{best * 1e9 / size:F3}", $"{gbPerSecond:F1}");
            }

            AnsiConsole.Write(table);
            if (matrix.Rows > 1) AnsiConsole.MarkupLine($"Rules with row and column states run on a {matrix.Rows}×{matrix.Cols} matrix, the others on a vector.");
            AnsiConsole.MarkupLine("GB/s counts the bytes each generated kernel must read and write (Layout.BytesMovedPerParameter); on a shared machine numbers vary.");
            return 0;
        }
    }
}
