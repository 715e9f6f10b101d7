using System;
using System.CommandLine;
using System.Linq;
using Fused.Demo.Console;
using Fused.Demo.Optimizers;
using Spectre.Console;

namespace Fused.Demo.Commands
{
    /// <summary>
    /// `fused memory`: optimizer-state bytes per parameter for every catalog rule, the state that depends on a tensor's
    /// shape (row/column states, per-tensor values, Shampoo's L and R), and totals for large models. Each table is one
    /// method called from <see cref="Run"/>; a new section (say, per rank) is one more.
    /// </summary>
    public static class MemoryCommand
    {
        /// <summary>Weight shapes the shape-dependent state is costed on: this demo's first layer and two LLM matrices.</summary>
        public static readonly (string Label, long Rows, long Cols)[] ExampleShapes =
        {
            ("MLP fc1 784×256", 784, 256),
            ("4096×4096 (attention)", 4096, 4096),
            ("4096×14336 (Llama-3-8B MLP)", 4096, 14336),
        };

        public static Command Create()
        {
            var state = new Option<string>("--state") { Description = "State precision for the totals: fp32, bf16 or 8bit", DefaultValueFactory = _ => "fp32" };
            state.AcceptOnlyFromAmong("fp32", "bf16", "8bit");
            var command = new Command("memory", "Optimizer-state bytes per parameter (fp32 / bf16 / 8-bit) from the generated Layout constants, the state that depends on tensor shapes (Adafactor's rows/columns, Shampoo's L and R), and totals for 7B, 70B and 405B models") { state };
            command.SetAction(parse => Run(MemoryFootprint.ParsePrecision(parse.GetValue(state)!)));
            return command;
        }

        public static int Run(StatePrecision precision)
        {
            PerParameter(precision);
            ShapeDependent();
            Totals(precision);
            ShardedMemoryTable.Write(precision);
            Notes();
            return 0;
        }

        /// <summary>Per-element state of every catalog rule at each precision, and with the fp32 master weight.</summary>
        private static void PerParameter(StatePrecision precision)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("[bold]Optimizer state per parameter element[/] (every catalog rule)");
            table.AddColumn("Rule");
            table.AddColumn("State buffers");
            foreach (var p in Enum.GetValues<StatePrecision>())
                table.AddColumn(new TableColumn($"{MemoryFootprint.Label(p)} state").RightAligned());
            table.AddColumn(new TableColumn($"+ fp32 master ({MemoryFootprint.Label(precision)} state)").RightAligned());
            foreach (var f in MemoryFootprint.All)
            {
                string mark = f.HasShapeDependentState ? " [yellow]+ per tensor†[/]" : "";
                var cells = new[] { Markup.Escape(f.Name), Markup.Escape(f.Note) }
                    .Concat(Enum.GetValues<StatePrecision>().Select(p => $"{f.StateBytesPerParameter(p):0.##} B{mark}"))
                    .Append($"{f.BytesPerParameterWithMaster(precision):0.##} B");
                table.AddRow(cells.ToArray());
            }

            AnsiConsole.Write(table);
        }

        /// <summary>† State that is not one value per element, costed per weight matrix of a few shapes (fp32).</summary>
        private static void ShapeDependent()
        {
            var table = new Table().Border(TableBorder.Rounded)
                .Title("[bold]† State that depends on the tensor's shape[/] (fp32, per weight matrix, on top of the per-element state above)");
            table.AddColumn("Rule");
            table.AddColumn("What is kept");
            foreach (var (label, _, _) in ExampleShapes) table.AddColumn(new TableColumn(Markup.Escape(label)).RightAligned());
            foreach (var f in MemoryFootprint.All.Where(f => f.HasShapeDependentState))
            {
                var cells = ExampleShapes.Select(s =>
                {
                    long bytes = f.PerTensorStateBytes(s.Rows, s.Cols);
                    double perParameter = (double)bytes / (s.Rows * s.Cols);
                    return $"{Bytes.Format(bytes)} ({(perParameter is > 0 and < 0.001 ? "< 0.001" : perParameter.ToString("0.###"))} B/param)";
                });
                table.AddRow(new[] { Markup.Escape(f.Name), Markup.Escape(f.ShapeDependentNote) }.Concat(cells).ToArray());
            }

            AnsiConsole.Write(table);
        }

        /// <summary>Totals at 7B, 70B and 405B parameters, per-element state only.</summary>
        private static void Totals(StatePrecision precision)
        {
            var table = new Table().Border(TableBorder.Rounded)
                .Title($"[bold]Totals, {MemoryFootprint.Label(precision)} state[/] (state only / with fp32 master weights; 1 GB = 10⁹ bytes; † rules add their shape-dependent state)");
            table.AddColumn("Rule");
            foreach (var (label, _) in MemoryFootprint.ModelSizes)
                table.AddColumn(new TableColumn($"{label} params").RightAligned());
            foreach (var f in MemoryFootprint.All)
            {
                var cells = MemoryFootprint.ModelSizes.Select(s =>
                    $"{Bytes.Format(f.StateBytes(s.Parameters, precision))} / {Bytes.Format(f.TotalBytesWithMaster(s.Parameters, precision))}");
                table.AddRow(new[] { Markup.Escape(f.Name + (f.HasShapeDependentState ? " †" : "")) }.Concat(cells).ToArray());
            }

            AnsiConsole.Write(table);
        }

        private static void Notes()
        {
            var adamW = MemoryFootprint.Named("AdamW");
            AnsiConsole.MarkupLine(
                $"AdamW keeps m and v: {adamW.StateBytesPerParameter(StatePrecision.Fp32)} B/param in fp32, plus a {MemoryFootprint.MasterWeightBytes} B fp32 master weight = " +
                $"{adamW.BytesPerParameterWithMaster(StatePrecision.Fp32)} B/param, {Bytes.Format(adamW.TotalBytesWithMaster(70e9, StatePrecision.Fp32))} at 70B parameters. " +
                "Lion and Muon keep one buffer: half the state.");
            AnsiConsole.MarkupLine(
                "Row/column states: Adafactor keeps its second moment factored, one mean of g² per row and one per column of each matrix " +
                "(rows + cols floats instead of rows × cols), so its per-element figure is 0 B and its real cost is in the † table: " +
                "a vector counts as one row. Shampoo keeps Adam's m and v per element (its grafting) and, per matrix, L and R with their " +
                "inverse 4th roots: 2 × 4 × (rows² + cols²) bytes, more than AdamW's whole state on a square matrix of side 4096.");
        }
    }
}
