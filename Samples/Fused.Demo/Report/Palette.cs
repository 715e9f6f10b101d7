using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Optimizers;

namespace Fused.Demo.Report
{
    /// <summary>
    /// One colour per optimizer, the same in every chart of the report, and no two names alike: every catalog rule and
    /// every registry recipe gets its own entry of <see cref="Colors"/> (24 colours picked to stay apart; names beyond
    /// them, which the report never meets, share by hash).
    /// </summary>
    public static class Palette
    {
        /// <summary>Distinct hues and lightnesses, readable on white (no yellow-on-white, no near-greys besides one).</summary>
        public static readonly IReadOnlyList<string> Colors = new[]
        {
            "#0f9d8a", "#e4572e", "#7b4fd6", "#e8a33d", "#3b6fd6", "#c0392b", "#6aa84f", "#d64f9a",
            "#17becf", "#8c564b", "#1f3b73", "#9e9e20", "#ff7fbf", "#2ca02c", "#9467bd", "#b5651d",
            "#00a6ed", "#6b6b6b", "#d62728", "#4b0082", "#66c2a5", "#ff9896", "#8b8b00", "#003f3f",
        };

        private static readonly Dictionary<string, string> Assigned = Assign();

        // The default comparison first (the colours most distinct from each other), then the rest of the registry, then the catalog.
        private static Dictionary<string, string> Assign()
        {
            var names = OptimizerRegistry.DefaultNames
                .Concat(OptimizerRegistry.All.Select(r => r.Name))
                .Concat(CatalogRule.All.Select(r => r.Name))
                .Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < names.Length; i++) map[names[i]] = Colors[i % Colors.Count];
            return map;
        }

        public static string For(string name)
            => Assigned.TryGetValue(name, out var color) ? color : Colors[(int)((uint)StringComparer.Ordinal.GetHashCode(name) % Colors.Count)];
    }
}
