using System;
using System.Collections.Generic;

namespace Fused.Demo.Report
{
    /// <summary>One colour per optimizer, the same in every chart of the report.</summary>
    public static class Palette
    {
        private static readonly Dictionary<string, string> Colors = new(StringComparer.OrdinalIgnoreCase)
        {
            ["AdamW"] = "#0f9d8a",
            ["Adam"] = "#e4572e",
            ["Lion"] = "#7b4fd6",
            ["Tiger"] = "#e8a33d",
            ["SGD"] = "#8c8c8c",
            ["SGD-Momentum"] = "#3b6fd6",
            ["Nesterov"] = "#5fa8e8",
            ["AdaGrad"] = "#a0522d",
            ["RMSprop"] = "#d64f9a",
            ["SignSGD"] = "#4a4a4a",
            ["ADOPT"] = "#6aa84f",
            ["Muon+AdamW"] = "#c0392b",
            ["Muon"] = "#c0392b",
        };

        private static readonly string[] Spare = { "#17becf", "#bcbd22", "#9467bd", "#ff7f0e" };

        public static string For(string name)
            => Colors.TryGetValue(name, out var color) ? color : Spare[(int)((uint)StringComparer.Ordinal.GetHashCode(name) % Spare.Length)];
    }
}
