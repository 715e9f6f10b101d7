using System.Linq;
using Fused.Demo.Console;
using Fused.Demo.Optimizers;
using Fused.Distributed;
using Spectre.Console;

namespace Fused.Demo.Commands
{
    /// <summary>`fused memory`'s per-rank figures under ZeRO-1 (Fused.Distributed): state / N, full fp32 master weights and gradients, staging.</summary>
    public static class ShardedMemoryTable
    {
        private static readonly int[] Ranks = { 8, 64, 512 };

        public static void Write(StatePrecision precision)
        {
            var table = new Table().Border(TableBorder.Rounded)
                .Title($"[bold]Per rank with ZeRO-1 (mpirun), {MemoryFootprint.Label(precision)} state[/] (state / total per rank: + 4 B master + 4 B gradient per parameter in full + bounded exchange staging + the all-or-nothing journal, (4 B + state) / N)");
            table.AddColumn("Rule");
            foreach (var (label, _) in MemoryFootprint.ModelSizes)
                foreach (int n in Ranks) table.AddColumn(new TableColumn($"{label} @ {n}").RightAligned());
            foreach (var f in MemoryFootprint.All)
            {
                var cells = MemoryFootprint.ModelSizes.SelectMany(s => Ranks.Select(n =>
                {
                    var e = ShardedMemoryReport.Estimate(s.Parameters, n, f.StateBytesPerParameter(precision));
                    return $"{Bytes.Format(e.State)} / {Bytes.Format(e.Total)}";
                }));
                table.AddRow(new[] { Markup.Escape(f.Name) }.Concat(cells).ToArray());
            }
            AnsiConsole.Write(table);
        }
    }
}
