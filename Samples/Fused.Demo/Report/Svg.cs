using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text;

namespace Fused.Demo.Report
{
    /// <summary>
    /// A series on a chart: points in data coordinates, drawn as a line (and optionally dots), with an optional band
    /// (e.g. mean ± std over seeds) and a tooltip per point.
    /// </summary>
    public sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false, bool Markers = false,
        string? Tooltip = null, IReadOnlyList<(double X, double Low, double High)>? Band = null, IReadOnlyList<string>? PointTips = null);

    /// <summary>A horizontal bar: label, value, colour and the text printed after it.</summary>
    public sealed record Bar(string Label, double Value, string Color, string ValueText, string? Tooltip = null);

    /// <summary>How a line chart's y axis is scaled and labelled.</summary>
    public enum YAxis
    {
        Linear,

        /// <summary>log₁₀ (values must be positive), ticks at 1, 2, 5 × 10ᵏ.</summary>
        Log,

        /// <summary>Fractions shown as percentages (0.875 → "87.5 %").</summary>
        Percent,
    }

    /// <summary>
    /// Inline SVG charts with axes, ticks, labels and legends; no scripts, no external resources. Legends sit under the
    /// plot, never over the data; tick labels are the exact tick values.
    /// </summary>
    public static class Svg
    {
        private const double Left = 64, Right = 16, Top = 36, Bottom = 48;
        private const double LegendRow = 18, LegendGap = 18;

        /// <summary>
        /// Width of <paramref name="text"/> at <paramref name="fontSize"/> px, from DejaVu Sans's advance widths (rounded up):
        /// the widest of the usual sans-serif fonts (Debian's default), so the text fits wherever a narrower font is used.
        /// </summary>
        public static double TextWidth(string text, double fontSize)
        {
            double em = 0;
            foreach (char c in text)
                em += c switch
                {
                    'm' => 0.98, 'w' => 0.82, 'i' or 'j' or 'l' => 0.28, 'f' or 't' or 'r' => 0.41, 'I' or 'J' => 0.30,
                    'M' => 0.87, 'W' => 1.0, '%' => 0.96, '+' or '=' or '×' or '±' or '→' => 0.84,
                    ' ' or '.' or ',' or ':' or ';' or '\'' or '(' or ')' or '·' => 0.40, '-' or '−' => 0.40,
                    >= '0' and <= '9' => 0.64,
                    >= 'A' and <= 'Z' => 0.78,
                    _ => 0.64,
                };
            return em * fontSize;
        }

        public static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        public static string Escape(string text) => WebUtility.HtmlEncode(text);

        /// <summary>A line chart of <paramref name="series"/>; <paramref name="height"/> is the plot with its axes, the legend adds rows below.</summary>
        public static string LineChart(string title, string xLabel, string yLabel, IReadOnlyList<Series> series,
            double width = 560, double height = 320, YAxis yAxis = YAxis.Linear, (double Min, double Max)? yRange = null, (double Min, double Max)? xRange = null)
        {
            bool logY = yAxis == YAxis.Log;
            bool Usable(double x, double y) => double.IsFinite(x) && double.IsFinite(y) && (!logY || y > 0);
            var all = series.SelectMany(s => s.Points.Concat(s.Band?.SelectMany(b => new[] { (b.X, b.Low), (b.X, b.High) }) ?? Enumerable.Empty<(double, double)>()))
                .Where(p => Usable(p.Item1, p.Item2)).ToArray();
            double xMin = xRange?.Min ?? (all.Length > 0 ? all.Min(p => p.Item1) : 0), xMax = xRange?.Max ?? (all.Length > 0 ? all.Max(p => p.Item1) : 1);
            double yMin = yRange?.Min ?? (all.Length > 0 ? all.Min(p => p.Item2) : 0), yMax = yRange?.Max ?? (all.Length > 0 ? all.Max(p => p.Item2) : 1);
            if (logY) { yMin = Math.Log10(yMin); yMax = Math.Log10(yMax); }
            if (xMax <= xMin) xMax = xMin + 1;
            if (yMax <= yMin) { yMin -= 0.5; yMax += 0.5; }
            var yTicks = logY ? LogTicks(yMin, yMax) : NiceTicks(yMin, yMax, 5);
            // The axis runs from tick to tick, so its ends are labelled.
            if (yRange is null) { yMin = Math.Min(yMin, yTicks[0]); yMax = Math.Max(yMax, yTicks[^1]); }
            var xTicks = NiceTicks(xMin, xMax, 6);
            double plotW = width - Left - Right, plotH = height - Top - Bottom;
            double X(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
            double Y(double y) => Top + plotH - ((logY ? Math.Log10(y) : y) - yMin) / (yMax - yMin) * plotH;

            var legend = LegendLayout(series.Select(s => s.Name).Distinct().ToArray(), width);
            double legendTop = height + 4;
            double total = height + (legend.Count == 0 ? 0 : legend.Max(e => e.Y) + LegendRow + 8);
            var svg = Open(width, total, title);
            Axes(svg, width, height, xLabel, yLabel);
            var yShown = yTicks.Where(t => t >= yMin - 1e-9 && t <= yMax + 1e-9).ToArray();
            var yLabels = logY ? yShown.Select(t => TickText(Math.Pow(10, t))).ToArray() : TickLabels(yShown, yAxis == YAxis.Percent);
            for (int i = 0; i < yShown.Length; i++)
            {
                double y = Top + plotH - (yShown[i] - yMin) / (yMax - yMin) * plotH;
                svg.Append($"<line class=\"grid\" x1=\"{F(Left)}\" x2=\"{F(width - Right)}\" y1=\"{F(y)}\" y2=\"{F(y)}\"/>");
                svg.Append($"<text class=\"tick\" x=\"{F(Left - 6)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{Escape(yLabels[i])}</text>");
            }

            var xShown = xTicks.Where(t => t >= xMin - 1e-9 && t <= xMax + 1e-9).ToArray();
            var xLabels = TickLabels(xShown, percent: false);
            for (int i = 0; i < xShown.Length; i++)
            {
                double x = X(xShown[i]);
                svg.Append($"<line class=\"grid\" x1=\"{F(x)}\" x2=\"{F(x)}\" y1=\"{F(Top)}\" y2=\"{F(Top + plotH)}\"/>");
                svg.Append($"<text class=\"tick\" x=\"{F(x)}\" y=\"{F(Top + plotH + 16)}\" text-anchor=\"middle\">{Escape(xLabels[i])}</text>");
            }

            string clip = "clip" + ClipId(title);
            svg.Append($"<clipPath id=\"{clip}\"><rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\"/></clipPath>");
            svg.Append($"<g clip-path=\"url(#{clip})\">");
            // Bands first, so every line is drawn over every band.
            foreach (var s in series.Where(s => s.Band is { Count: > 1 }))
            {
                var band = s.Band!.Where(b => Usable(b.X, b.Low) && Usable(b.X, b.High)).ToArray();
                if (band.Length < 2) continue;
                string outline = PathData(band.Select(b => (X(b.X), Y(b.High))).Concat(band.Reverse().Select(b => (X(b.X), Y(b.Low))))) + " Z";
                svg.Append($"<path class=\"band\" data-series=\"{Escape(s.Name)}\" d=\"{outline}\" fill=\"{s.Color}\"/>");
            }

            foreach (var s in series)
            {
                var indexed = s.Points.Select((p, i) => (P: p, I: i)).Where(p => Usable(p.P.X, p.P.Y)).ToArray();
                if (indexed.Length == 0) continue;
                string data = PathData(indexed.Select(p => (X(p.P.X), Y(p.P.Y))));
                svg.Append($"<path class=\"series\" data-series=\"{Escape(s.Name)}\" d=\"{data}\" stroke=\"{s.Color}\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}><title>{Escape(s.Tooltip ?? s.Name)}</title></path>");
                if (s.Markers)
                    foreach (var (p, i) in indexed)
                        svg.Append($"<circle class=\"marker\" data-series=\"{Escape(s.Name)}\" cx=\"{F(X(p.X))}\" cy=\"{F(Y(p.Y))}\" r=\"3.2\" fill=\"{s.Color}\"><title>{Escape(s.PointTips?[i] ?? $"{s.Name}: {p.X.ToString("G6", CultureInfo.InvariantCulture)}, {p.Y.ToString("G6", CultureInfo.InvariantCulture)}")}</title></circle>");
            }

            svg.Append("</g>");
            Legend(svg, series, legend, legendTop);
            return Close(svg);
        }

        /// <summary>Horizontal bars, one per row, with the value printed after each bar.</summary>
        public static string BarChart(string title, string valueLabel, IReadOnlyList<Bar> bars, double width = 560, double rowHeight = 24)
        {
            double labelWidth = Math.Max(90, bars.Select(b => TextWidth(b.Label, 12)).DefaultIfEmpty(0).Max() + 16);
            double valueWidth = Math.Max(60, bars.Select(b => TextWidth(b.ValueText, 11.5)).DefaultIfEmpty(0).Max() + 12);
            double height = Top + bars.Count * rowHeight + 36;
            double max = bars.Count == 0 ? 1 : Math.Max(bars.Max(b => b.Value), 1e-12);
            double plotW = width - labelWidth - valueWidth - Right;
            var svg = Open(width, height, title);
            for (int i = 0; i < bars.Count; i++)
            {
                var bar = bars[i];
                double y = Top + i * rowHeight;
                double w = Math.Max(bar.Value / max * plotW, bar.Value > 0 ? 2 : 0);
                svg.Append($"<text class=\"label\" x=\"{F(labelWidth - 8)}\" y=\"{F(y + rowHeight * 0.62)}\" text-anchor=\"end\">{Escape(bar.Label)}</text>");
                svg.Append($"<rect x=\"{F(labelWidth)}\" y=\"{F(y + 3)}\" width=\"{F(w)}\" height=\"{F(rowHeight - 6)}\" rx=\"3\" fill=\"{bar.Color}\"><title>{Escape(bar.Tooltip ?? $"{bar.Label}: {bar.ValueText}")}</title></rect>");
                svg.Append($"<text class=\"value\" x=\"{F(labelWidth + w + 6)}\" y=\"{F(y + rowHeight * 0.62)}\">{Escape(bar.ValueText)}</text>");
            }

            svg.Append($"<line class=\"axis\" x1=\"{F(labelWidth)}\" x2=\"{F(labelWidth)}\" y1=\"{F(Top)}\" y2=\"{F(Top + bars.Count * rowHeight)}\"/>");
            svg.Append($"<text class=\"axis-label\" x=\"{F(labelWidth + plotW / 2)}\" y=\"{F(height - 10)}\" text-anchor=\"middle\">{Escape(valueLabel)}</text>");
            return Close(svg);
        }

        public static StringBuilder Open(double width, double height, string title, double titleX = Left)
        {
            var svg = new StringBuilder();
            svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {F(width)} {F(height)}\" width=\"{F(width)}\" height=\"{F(height)}\" role=\"img\" aria-label=\"{Escape(title)}\">");
            svg.Append($"<text class=\"chart-title\" x=\"{F(titleX)}\" y=\"20\">{Escape(title)}</text>");
            return svg;
        }

        public static string Close(StringBuilder svg) => svg.Append("</svg>").ToString();

        public static void Axes(StringBuilder svg, double width, double height, string xLabel, string yLabel)
        {
            double plotH = height - Top - Bottom;
            svg.Append($"<line class=\"axis\" x1=\"{F(Left)}\" x2=\"{F(width - Right)}\" y1=\"{F(Top + plotH)}\" y2=\"{F(Top + plotH)}\"/>");
            svg.Append($"<line class=\"axis\" x1=\"{F(Left)}\" x2=\"{F(Left)}\" y1=\"{F(Top)}\" y2=\"{F(Top + plotH)}\"/>");
            svg.Append($"<text class=\"axis-label\" x=\"{F(Left + (width - Left - Right) / 2)}\" y=\"{F(height - 8)}\" text-anchor=\"middle\">{Escape(xLabel)}</text>");
            svg.Append($"<text class=\"axis-label\" transform=\"translate(14 {F(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>");
        }

        /// <summary>Legend entries flowed left to right in rows under the plot: (name, x, y offset of the row).</summary>
        private static IReadOnlyList<(string Name, double X, double Y)> LegendLayout(IReadOnlyList<string> names, double width)
        {
            var entries = new List<(string, double, double)>();
            double x = Left, y = 0;
            foreach (string name in names)
            {
                double w = EntryWidth(name);
                if (x > Left && x + w > width - Right) { x = Left; y += LegendRow; }
                entries.Add((name, x, y));
                x += w + LegendGap;
            }

            return entries;
        }

        // Line sample, gap, the 11.5 px name, and a little air.
        private static double EntryWidth(string name) => 23 + TextWidth(name, 11.5) + 4;

        private static void Legend(StringBuilder svg, IReadOnlyList<Series> series, IReadOnlyList<(string Name, double X, double Y)> layout, double top)
        {
            foreach (var (name, x, y) in layout)
            {
                var s = series.First(v => v.Name == name);
                double ly = top + y + 12;
                svg.Append($"<g class=\"legend\" data-series=\"{Escape(name)}\"><rect class=\"legend-box\" x=\"{F(x)}\" y=\"{F(top + y)}\" width=\"{F(EntryWidth(name))}\" height=\"{F(LegendRow - 2)}\"/>");
                svg.Append($"<line x1=\"{F(x + 2)}\" x2=\"{F(x + 18)}\" y1=\"{F(ly - 4)}\" y2=\"{F(ly - 4)}\" stroke=\"{s.Color}\" stroke-width=\"3\"{(s.Dashed ? " stroke-dasharray=\"4 3\"" : "")}/>");
                svg.Append($"<text x=\"{F(x + 23)}\" y=\"{F(ly)}\">{Escape(name)}</text></g>");
            }
        }

        /// <summary>SVG path data "M x y L x y ..." in screen coordinates.</summary>
        public static string PathData(IEnumerable<(double X, double Y)> points)
        {
            var data = new StringBuilder();
            foreach (var (x, y) in points)
                data.Append(data.Length == 0 ? "M" : " L").Append(F(x)).Append(' ').Append(F(y));
            return data.ToString();
        }

        /// <summary>Evenly spaced points at 1, 2, 2.5 or 5 × 10ᵏ covering [min, max].</summary>
        public static double[] NiceTicks(double min, double max, int count)
        {
            double step = TickStep(min, max, count);
            double start = Math.Floor(min / step) * step;
            var ticks = new List<double>();
            // From the last tick at or below min to the first at or above max, so the axis ends on labelled ticks.
            for (double t = start; ticks.Count < 50; t += step)
            {
                ticks.Add(Math.Round(t / step) * step);
                if (t >= max - step * 1e-9) break;
            }

            return ticks.ToArray();
        }

        private static double TickStep(double min, double max, int count)
        {
            double raw = (max - min) / Math.Max(1, count);
            double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            return new[] { 1.0, 2, 2.5, 5, 10 }.Select(f => f * magnitude).First(s => s >= raw * (1 - 1e-12));
        }

        /// <summary>
        /// Labels for evenly spaced ticks with as many decimals as the spacing needs, so every label is its tick's exact
        /// value (77.5 stays "77.5", never "78").
        /// </summary>
        public static string[] TickLabels(IReadOnlyList<double> ticks, bool percent)
        {
            double scale = percent ? 100 : 1;
            var values = ticks.Select(t => t * scale).ToArray();
            if (values.Any(v => v != 0 && (Math.Abs(v) < 1e-3 || Math.Abs(v) >= 1e5))) return values.Select(TickText).ToArray();
            int decimals = 0;
            while (decimals < 6 && values.Any(v => Math.Abs(v * Math.Pow(10, decimals) - Math.Round(v * Math.Pow(10, decimals))) > 1e-6 * Math.Pow(10, decimals))) decimals++;
            string format = "F" + decimals.ToString(CultureInfo.InvariantCulture);
            return values.Select(v => v.ToString(format, CultureInfo.InvariantCulture) + (percent ? " %" : "")).ToArray();
        }

        /// <summary>
        /// log₁₀ of round values (m × 10ᵏ, finer m for narrower ranges) from the last at or below
        /// <paramref name="logMin"/> to the first at or above <paramref name="logMax"/>.
        /// </summary>
        private static double[] LogTicks(double logMin, double logMax)
        {
            double span = logMax - logMin;
            double[] mantissas = span < 0.6 ? new[] { 1.0, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 } : span < 1.5 ? new[] { 1.0, 2, 5 } : new[] { 1.0 };
            var all = new List<double>();
            for (double e = Math.Floor(logMin); e <= Math.Ceiling(logMax); e++)
                foreach (double m in mantissas) all.Add(e + Math.Log10(m));
            double low = all.Where(t => t <= logMin + 1e-12).DefaultIfEmpty(all[0]).Max();
            double high = all.Where(t => t >= logMax - 1e-12).DefaultIfEmpty(all[^1]).Min();
            return all.Where(t => t >= low && t <= high).ToArray();
        }

        public static string TickText(double v)
        {
            double a = Math.Abs(v);
            if (a != 0 && (a < 1e-3 || a >= 1e5)) return v.ToString("0.###e0", CultureInfo.InvariantCulture);
            return v.ToString("0.#####", CultureInfo.InvariantCulture);
        }

        private static string ClipId(string title) => ((uint)title.GetHashCode(StringComparison.Ordinal)).ToString("x8", CultureInfo.InvariantCulture);
    }
}
