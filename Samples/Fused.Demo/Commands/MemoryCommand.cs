using System;
using System.CommandLine;
using System.Linq;
using Fused.Demo.Console;
using Fused.Demo.Optimizers;
using Spectre.Console;

namespace Fused.Demo.Commands
{
    /// <summary>`fused memory`: optimizer-state bytes per parameter for each rule, and totals for large models.</summary>
    public static class MemoryCommand
    {
        public static Command Create()
        {
            var state = new Option<string>("--state") { Description = "State precision for the totals: fp32, bf16 or 8bit", DefaultValueFactory = _ => "fp32" };
            state.AcceptOnlyFromAmong("fp32", "bf16", "8bit");
            var command = new Command("memory", "Optimizer-state bytes per parameter (fp32 / bf16 / 8-bit) from the generated Layout constants, and totals for 7B, 70B and 405B models") { state };
            command.SetAction(parse => Run(MemoryFootprint.ParsePrecision(parse.GetValue(state)!)));
            return command;
        }

        public static int Run(StatePrecision precision)
        {
            var perParameter = new Table().Border(TableBorder.Rounded).Title("[bold]Optimizer state per parameter[/]");
            perParameter.AddColumn("Rule");
            perParameter.AddColumn("State buffers");
            foreach (var p in Enum.GetValues<StatePrecision>())
                perParameter.AddColumn(new TableColumn($"{MemoryFootprint.Label(p)} state").RightAligned());
            perParameter.AddColumn(new TableColumn($"+ fp32 master ({MemoryFootprint.Label(precision)} state)").RightAligned());
            foreach (var f in MemoryFootprint.All)
            {
                var cells = new[] { Markup.Escape(f.Name), Markup.Escape(f.Note) }
                    .Concat(Enum.GetValues<StatePrecision>().Select(p => $"{f.StateBytesPerParameter(p):0.##} B"))
                    .Append($"{f.BytesPerParameterWithMaster(precision):0.##} B");
                perParameter.AddRow(cells.ToArray());
            }

            AnsiConsole.Write(perParameter);

            var totals = new Table().Border(TableBorder.Rounded)
                .Title($"[bold]Totals, {MemoryFootprint.Label(precision)} state[/] (state only / with fp32 master weights; 1 GB = 10⁹ bytes)");
            totals.AddColumn("Rule");
            foreach (var (label, _) in MemoryFootprint.ModelSizes)
                totals.AddColumn(new TableColumn($"{label} params").RightAligned());
            foreach (var f in MemoryFootprint.All)
            {
                var cells = MemoryFootprint.ModelSizes.Select(s =>
                    $"{Bytes.Format(f.StateBytes(s.Parameters, precision))} / {Bytes.Format(f.TotalBytesWithMaster(s.Parameters, precision))}");
                totals.AddRow(new[] { Markup.Escape(f.Name) }.Concat(cells).ToArray());
            }

            AnsiConsole.Write(totals);
            var adamW = MemoryFootprint.Named("AdamW");
            AnsiConsole.MarkupLine(
                $"AdamW keeps m and v: {adamW.StateBytesPerParameter(StatePrecision.Fp32)} B/param in fp32, plus a {MemoryFootprint.MasterWeightBytes} B fp32 master weight = " +
                $"{adamW.BytesPerParameterWithMaster(StatePrecision.Fp32)} B/param, {Bytes.Format(adamW.TotalBytesWithMaster(70e9, StatePrecision.Fp32))} at 70B parameters. " +
                $"Lion and Muon keep one buffer: half the state.");
            ShardedMemoryTable.Write(precision);
            return 0;
        }
    }
}
