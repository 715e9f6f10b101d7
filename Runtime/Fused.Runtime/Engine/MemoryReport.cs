using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Runtime.Engine
{
    /// <summary>What a rule keeps per tensor: element-state buffers (one value per parameter), scalar states, and
    /// row/column states (one float per row or per column: Adafactor's factored second moment).</summary>
    public sealed record StateLayout(string Name, int ElementStates, int ScalarStates, int RowColumnStates = 0)
    {
        /// <summary>The layout read from a rule's schedule.</summary>
        public static StateLayout Of(FusedRule rule)
            => new StateLayout(rule.Name, rule.Layout.ElementStateBufferCount, rule.Schedule.ScalarBuffers.Count, rule.Schedule.VectorBuffers.Count);

        /// <summary>Muon (momentum only; Newton–Schulz runs on the momentum, no second moment). Muon is a matrix
        /// optimizer outside the fused-rule catalog, so its layout is declared here.</summary>
        public static StateLayout Muon { get; } = new StateLayout("Muon", 1, 0);
    }

    /// <summary>Bytes per parameter of one (rule, precision) choice.</summary>
    public sealed record MemoryRow(string Rule, StatePrecision Precision, int ElementStates,
        double StateBytesPerParameter, double MasterWeightBytesPerParameter, double GradientBytesPerParameter, int RowColumnStates = 0)
    {
        /// <summary>State + master weights + gradient (if counted).</summary>
        public double TotalBytesPerParameter => StateBytesPerParameter + MasterWeightBytesPerParameter + GradientBytesPerParameter;

        /// <summary>Total bytes for <paramref name="parameters"/> parameters.</summary>
        public double TotalBytes(double parameters) => TotalBytesPerParameter * parameters;
    }

    /// <summary>
    /// Optimizer-side memory per parameter, from the rules' layouts: element states × bytes per element of the
    /// precision (4 float32, 2 bfloat16, 1 + 4/<see cref="FusedOptimizer.Int8BlockSize"/> for 8-bit with its absmax),
    /// + 4 B float32 master weights, + 4 B gradient when asked. Scalar states (4 B per tensor) are negligible per
    /// parameter and are counted only in model reports, as are row/column states (4 B per row or column of a tensor:
    /// 4·(rows + cols) against 4·rows·cols, so they vanish per parameter for large matrices; the table marks them).
    /// Sizes are decimal (1 GB = 10⁹ B).
    /// </summary>
    public sealed class MemoryReport
    {
        /// <summary>7B, 70B and 405B parameters.</summary>
        public static IReadOnlyList<double> NominalModelSizes { get; } = new[] { 7e9, 70e9, 405e9 };

        private MemoryReport(IReadOnlyList<MemoryRow> rows, IReadOnlyList<double> sizes)
        {
            Rows = rows;
            ModelSizes = sizes;
        }

        /// <summary>One row per (rule, precision).</summary>
        public IReadOnlyList<MemoryRow> Rows { get; }

        /// <summary>Parameter counts the table shows totals for.</summary>
        public IReadOnlyList<double> ModelSizes { get; }

        /// <summary>Bytes per state element for a precision.</summary>
        public static double BytesPerStateElement(StatePrecision precision) => precision switch
        {
            StatePrecision.Float32 => 4,
            StatePrecision.BFloat16 => 2,
            StatePrecision.Int8Blockwise => 1 + 4.0 / FusedOptimizer.Int8BlockSize,
            _ => throw new ArgumentOutOfRangeException(nameof(precision)),
        };

        /// <summary>The row of one layout at one precision.</summary>
        public static MemoryRow RowOf(StateLayout layout, StatePrecision precision, bool includeGradients = false)
            => new MemoryRow(layout.Name, precision, layout.ElementStates, layout.ElementStates * BytesPerStateElement(precision), 4, includeGradients ? 4 : 0, layout.RowColumnStates);

        /// <summary>A report for the given layouts at every precision, with totals at <paramref name="modelSizes"/>
        /// (default <see cref="NominalModelSizes"/>).</summary>
        public static MemoryReport For(IEnumerable<StateLayout> layouts, bool includeGradients = false, IReadOnlyList<double>? modelSizes = null)
        {
            var rows = new List<MemoryRow>();
            foreach (var layout in layouts)
                foreach (var precision in new[] { StatePrecision.Float32, StatePrecision.BFloat16, StatePrecision.Int8Blockwise })
                    rows.Add(RowOf(layout, precision, includeGradients));
            return new MemoryReport(rows, modelSizes ?? NominalModelSizes);
        }

        /// <summary>Markdown table: bytes per parameter and totals in GB per model size.</summary>
        public string ToTable()
        {
            var sb = new StringBuilder();
            sb.Append("| rule | state | states/param | state B/param | master B | grad B | total B/param |");
            foreach (var n in ModelSizes) sb.Append($" total @ {FormatCount(n)} |");
            sb.AppendLine();
            sb.Append("|---|---|---:|---:|---:|---:|---:|");
            foreach (var _ in ModelSizes) sb.Append("---:|");
            sb.AppendLine();
            foreach (var r in Rows)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {r.Rule} | {r.Precision} | {r.ElementStates}{(r.RowColumnStates > 0 ? $" (+{r.RowColumnStates} row/col)" : "")} | {r.StateBytesPerParameter:0.###} | {r.MasterWeightBytesPerParameter:0} | {r.GradientBytesPerParameter:0} | {r.TotalBytesPerParameter:0.###} |");
                foreach (var n in ModelSizes) sb.Append(CultureInfo.InvariantCulture, $" {r.TotalBytes(n) / 1e9:0.#} GB |");
                sb.AppendLine();
            }
            return sb.ToString();
        }

        private static string FormatCount(double n) => n >= 1e9 ? $"{n / 1e9:0.#}B" : n >= 1e6 ? $"{n / 1e6:0.#}M" : $"{n:0}";
    }

    /// <summary>One group of a model memory report.</summary>
    public sealed record GroupMemory(string Group, string Rule, StatePrecision Precision, int Tensors, long Elements,
        long StateBytes, long MasterWeightBytes, long GradientBytes, long AccumulationBytes, long ScratchBytes, long JournalBytes = 0)
    {
        /// <summary>All bytes of the group.</summary>
        public long TotalBytes => StateBytes + MasterWeightBytes + GradientBytes + AccumulationBytes + ScratchBytes + JournalBytes;
    }

    /// <summary>Memory of the registered parameters, per group, as allocated (exact byte counts).</summary>
    public sealed class ModelMemoryReport
    {
        internal ModelMemoryReport(IReadOnlyList<GroupMemory> groups) => Groups = groups;

        /// <summary>Per-group figures.</summary>
        public IReadOnlyList<GroupMemory> Groups { get; }

        /// <summary>Sum over groups.</summary>
        public long TotalBytes => Groups.Sum(g => g.TotalBytes);

        /// <summary>Markdown table.</summary>
        public string ToTable()
        {
            var sb = new StringBuilder();
            sb.AppendLine("| group | rule | state | tensors | elements | state B | master B | grad B | accum B | scratch B | journal B | total B |");
            sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var g in Groups)
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Group} | {g.Rule} | {g.Precision} | {g.Tensors} | {g.Elements} | {g.StateBytes} | {g.MasterWeightBytes} | {g.GradientBytes} | {g.AccumulationBytes} | {g.ScratchBytes} | {g.JournalBytes} | {g.TotalBytes} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| total | | | {Groups.Sum(g => g.Tensors)} | {Groups.Sum(g => g.Elements)} | {Groups.Sum(g => g.StateBytes)} | {Groups.Sum(g => g.MasterWeightBytes)} | {Groups.Sum(g => g.GradientBytes)} | {Groups.Sum(g => g.AccumulationBytes)} | {Groups.Sum(g => g.ScratchBytes)} | {Groups.Sum(g => g.JournalBytes)} | {TotalBytes} |");
            return sb.ToString();
        }
    }

    public sealed partial class FusedOptimizer
    {
        /// <summary>Memory of the registered parameters per group: state as allocated (8-bit includes its absmax
        /// scales, scalar states 4 B per tensor, row and column states 4 B per row or column), float32 master weights,
        /// gradients if <paramref name="includeGradients"/>, accumulation buffers if allocated, and scratch: the
        /// float32 temporaries the plan keeps between passes (e.g. C-AdamW's update, Muon's momentum copy) and the
        /// widened state buffers of row/column rules at low precision; and the journal of groups with matrix stages (a copy
        /// of their parameters and states, allocated at the first step: see <see cref="Step"/>).</summary>
        public ModelMemoryReport MemoryReport(bool includeGradients = false)
        {
            var rows = new List<GroupMemory>();
            foreach (var g in _groups)
            {
                long elements = g.Members.Sum(m => m.Numel);
                long state = 0;
                foreach (var m in g.Members)
                {
                    long perState = g.Precision switch
                    {
                        StatePrecision.Float32 => 4 * m.Numel,
                        StatePrecision.BFloat16 => 2 * m.Numel,
                        _ => m.Numel + 4L * Fused.Runtime.Precision.BlockwiseInt8.BlockCount((int)m.Numel, Int8BlockSize),
                    };
                    state += perState * g.ElementStateCount + 4L * g.ScalarStateCount;
                }
                for (int t = 0; t < g.Members.Length; t++)
                    for (int v = 0; v < g.VectorStateCount; v++) state += 4L * g.VectorState(t, v).Length;
                rows.Add(new GroupMemory(g.Name, g.Rule.Name, g.Precision, g.Members.Length, elements, state, 4 * elements,
                    includeGradients ? g.Members.Sum(m => (_gradientIsBFloat16[m.Index] ? 2 : 4) * m.Numel) : 0, _accumulators != null ? 4 * elements : 0, g.ScratchBytes, g.JournalBytes));
            }
            return new ModelMemoryReport(rows);
        }
    }
}
