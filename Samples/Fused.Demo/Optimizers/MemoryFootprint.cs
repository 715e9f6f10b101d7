using System;
using System.Collections.Generic;
using System.Linq;
using Fused;
using Fused.Runtime.Precision;

namespace Fused.Demo.Optimizers
{
    /// <summary>How optimizer state is stored: float32, bfloat16, or blockwise 8-bit (one fp32 scale per block).</summary>
    public enum StatePrecision
    {
        Fp32,
        Bf16,
        Int8,
    }

    /// <summary>
    /// Optimizer memory per parameter from the generated Layout constants. "With master weights" adds
    /// the 4-byte fp32 master copy of the weights, as the seeds count it (AdamW fp32: 4 + 4 + 4 = 12 B/param,
    /// so 840 GB at 70B parameters).
    /// </summary>
    public sealed record MemoryFootprint(string Name, int ElementStateBuffers, int Fp32StateBytesPerParameter, string Note)
    {
        public const int MasterWeightBytes = 4;

        /// <summary>Model sizes the `memory` command totals for.</summary>
        public static readonly (string Label, double Parameters)[] ModelSizes = { ("7B", 7e9), ("70B", 70e9), ("405B", 405e9) };

        /// <summary>State bytes per parameter element at <paramref name="precision"/>.</summary>
        public double StateBytesPerParameter(StatePrecision precision) => precision switch
        {
            StatePrecision.Fp32 => Fp32StateBytesPerParameter,
            StatePrecision.Bf16 => ElementStateBuffers * 2.0,
            // One byte per element plus one fp32 absmax scale per block (the runtime's BlockwiseInt8 layout).
            StatePrecision.Int8 => ElementStateBuffers * (1.0 + 4.0 / BlockwiseInt8.DefaultBlockSize),
            _ => throw new ArgumentOutOfRangeException(nameof(precision)),
        };

        public double BytesPerParameterWithMaster(StatePrecision precision) => MasterWeightBytes + StateBytesPerParameter(precision);

        public double StateBytes(double parameters, StatePrecision precision) => parameters * StateBytesPerParameter(precision);

        public double TotalBytesWithMaster(double parameters, StatePrecision precision) => parameters * BytesPerParameterWithMaster(precision);

        /// <summary>The catalog rule the figures are read from.</summary>
        public CatalogRule? Rule { get; init; }

        /// <summary>Whether the rule keeps Shampoo's per-tensor statistics (its schedule has a Precondition pass).</summary>
        public bool KeepsShampooStatistics => Rule is not null && Rule.Rule.Schedule.Matrices.Any(m => m.Op == Ir.MatrixOp.Precondition);

        /// <summary>Whether some of the state is not one value per element: row, column or per-tensor values, or Shampoo's matrices.</summary>
        public bool HasShapeDependentState => Rule is not null && (Rule.StateBufferCount > Rule.ElementStateBufferCount || KeepsShampooStatistics);

        /// <summary>
        /// Float32 bytes of one rows×cols tensor's state that is not per element: row states (rows values each), column
        /// states (cols each), per-tensor scalars, and for Shampoo L (rows×rows), R (cols×cols) and their inverse 4th roots.
        /// </summary>
        public long PerTensorStateBytes(long rows, long cols)
        {
            if (Rule is null) return 0;
            long small = 4 * Rule.Rule.Layout.SmallStateFloats(ShapeInfo.Matrix(checked((int)rows), checked((int)cols)));
            return small + (KeepsShampooStatistics ? Runtime.Matrix.MatrixPasses.ShampooStateBytes(rows, cols) : 0);
        }

        /// <summary>What the shape-dependent state is, in words (empty when there is none).</summary>
        public string ShapeDependentNote
        {
            get
            {
                if (Rule is null) return "";
                var layout = Rule.Rule.Layout;
                var parts = new List<string>();
                if (layout.RowStateNames.Count > 0) parts.Add($"{string.Join(", ", layout.RowStateNames)}: one float per row");
                if (layout.ColumnStateNames.Count > 0) parts.Add($"{string.Join(", ", layout.ColumnStateNames)}: one float per column");
                if (layout.ScalarStateNames.Count > 0) parts.Add($"{string.Join(", ", layout.ScalarStateNames)}: one float per tensor");
                if (KeepsShampooStatistics) parts.Add("L (rows×rows), R (cols×cols) and their inverse 4th roots per matrix");
                return string.Join("; ", parts);
            }
        }

        /// <summary>Every catalog rule (Muon included: its layout is generated like the others).</summary>
        public static IReadOnlyList<MemoryFootprint> All { get; } =
            CatalogRule.All.Select(r => new MemoryFootprint(r.Name, r.ElementStateBufferCount, r.StateBytesPerParameter,
                    r.StateBufferCount == 0 ? "no state" : r.StateBufferNames.Replace(",", ", ")) { Rule = r })
                .ToArray();

        public static MemoryFootprint Named(string name)
            => All.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException($"no memory figures for '{name}'");

        public static StatePrecision ParsePrecision(string text) => text.Trim().ToLowerInvariant() switch
        {
            "fp32" or "float32" => StatePrecision.Fp32,
            "bf16" or "bfloat16" => StatePrecision.Bf16,
            "8bit" or "8-bit" or "int8" => StatePrecision.Int8,
            _ => throw new ArgumentException($"unknown state precision '{text}'; use fp32, bf16 or 8bit"),
        };

        public static string Label(StatePrecision precision) => precision switch
        {
            StatePrecision.Fp32 => "fp32",
            StatePrecision.Bf16 => "bf16",
            _ => "8-bit",
        };
    }
}
