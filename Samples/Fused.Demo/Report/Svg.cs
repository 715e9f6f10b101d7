using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text;

namespace Fused.Demo.Report
{
    /// <summary>A series on a chart: points in data coordinates, drawn as a line (and optionally dots).</summary>
    public sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false, bool Markers = false, double Opacity = 1, string? Tooltip = null);

    /// <summary>A horizontal bar: label, value, colour and the text printed after it.</summary>
    public sealed record Bar(string Label, double Value, string Color, string ValueText, string? Tooltip = null);

    /// <summary>Where a line chart puts its legend (the corner the curves leave free).</summary>
    public enum LegendCorner
    {
        TopLeft,
        TopRight,
        BottomRight,
    }

    /// <summary>Inline SVG charts with axes, ticks, labels and legends; no scripts, no external resources.</summary>
    public static class Svg
    {
        private const double Left = 64, Right = 16, Top = 36, Bottom = 48;

        public static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        public static string Escape(string text) => WebUtility.HtmlEncode(text);

        /// <summary>A line chart. With <paramref name="logY"/> the y axis is log₁₀ (values must be positive).</summary>
        public static string LineChart(string title, string xLabel, string yLabel, IReadOnlyList<Series> series,
            double width = 560, double height = 340, bool logY = false, (double Min, double Max)? yRange = null, (double Min, double Max)? xRange = null,
            Func<double, string>? yFormat = null, LegendCorner legend = LegendCorner.TopLeft)
        {
            var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!logY || p.Y > 0)).ToArray();
            double xMin = xRange?.Min ?? (all.Length > 0 ? all.Min(p => p.X) : 0), xMax = xRange?.Max ?? (all.Length > 0 ? all.Max(p => p.X) : 1);
            double yMin = yRange?.Min ?? (all.Length > 0 ? all.Min(p => p.Y) : 0), yMax = yRange?.Max ?? (all.Length > 0 ? all.Max(p => p.Y) : 1);
            if (logY) { yMin = Math.Log10(yMin); yMax = Math.Log10(yMax); }
            if (xMax <= xMin) xMax = xMin + 1;
            if (yMax <= yMin) yMax = yMin + 1;
            var yTicks = logY ? LogTicks(yMin, yMax) : NiceTicks(yMin, yMax, 5);
            if (!logY && yRange is null) { yMin = Math.Min(yMin, yTicks[0]); yMax = Math.Max(yMax, yTicks[^1]); }
            var xTicks = NiceTicks(xMin, xMax, 6);
            double plotW = width - Left - Right, plotH = height - Top - Bottom;
            double X(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
            double Y(double y) => Top + plotH - ((logY ? Math.Log10(y) : y) - yMin) / (yMax - yMin) * plotH;

            var svg = Open(width, height, title);
            Axes(svg, width, height, xLabel, yLabel);
            foreach (double t in yTicks.Where(t => t >= yMin - 1e-9 && t <= yMax + 1e-9))
            {
                double y = Top + plotH - (t - yMin) / (yMax - yMin) * plotH;
                double value = logY ? Math.Pow(10, t) : t;
                svg.Append($"<line class=\"grid\" x1=\"{F(Left)}\" x2=\"{F(width - Right)}\" y1=\"{F(y)}\" y2=\"{F(y)}\"/>");
                svg.Append($"<text class=\"tick\" x=\"{F(Left - 6)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{Escape(yFormat?.Invoke(value) ?? TickText(value))}</text>");
            }

            foreach (double t in xTicks.Where(t => t >= xMin - 1e-9 && t <= xMax + 1e-9))
            {
                double x = X(t);
                svg.Append($"<line class=\"grid\" x1=\"{F(x)}\" x2=\"{F(x)}\" y1=\"{F(Top)}\" y2=\"{F(Top + plotH)}\"/>");
                svg.Append($"<text class=\"tick\" x=\"{F(x)}\" y=\"{F(Top + plotH + 16)}\" text-anchor=\"middle\">{Escape(TickText(t))}</text>");
            }

            svg.Append($"<clipPath id=\"clip{ClipId(title)}\"><rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\"/></clipPath>");
            svg.Append($"<g clip-path=\"url(#clip{ClipId(title)})\">");
            foreach (var s in series)
            {
                var points = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!logY || p.Y > 0)).ToArray();
                if (points.Length == 0) continue;
                string data = PathData(points.Select(p => (X(p.X), Y(p.Y))));
                svg.Append($"<path class=\"series\" d=\"{data}\" stroke=\"{s.Color}\" stroke-opacity=\"{F(s.Opacity)}\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}><title>{Escape(s.Tooltip ?? s.Name)}</title></path>");
                if (s.Markers)
                    foreach (var p in points)
                        svg.Append($"<circle cx=\"{F(X(p.X))}\" cy=\"{F(Y(p.Y))}\" r=\"3\" fill=\"{s.Color}\"><title>{Escape($"{s.Name}: {TickText(p.X)}, {(yFormat?.Invoke(p.Y) ?? TickText(p.Y))}")}</title></circle>");
            }

            svg.Append("</g>");
            var entries = series.Where(s => s.Opacity >= 0.5).GroupBy(s => s.Name).Select(g => g.First()).ToArray();
            double legendW = LegendWidth(entries), legendH = entries.Length * 16 + 8;
            double lx = legend is LegendCorner.TopRight or LegendCorner.BottomRight ? width - Right - legendW - 8 : Left + 8;
            double ly = legend is LegendCorner.BottomRight ? Top + plotH - legendH - 8 : Top + 6;
            Legend(svg, entries, lx, ly);
            return Close(svg);
        }

        /// <summary>Horizontal bars, one per row, with the value printed after each bar.</summary>
        public static string BarChart(string title, string valueLabel, IReadOnlyList<Bar> bars, double width = 560, double rowHeight = 24)
        {
            const double labelWidth = 130, valueWidth = 110;
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

        public static StringBuilder Open(double width, double height, string title)
        {
            var svg = new StringBuilder();
            svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {F(width)} {F(height)}\" width=\"{F(width)}\" height=\"{F(height)}\" role=\"img\" aria-label=\"{Escape(title)}\">");
            svg.Append($"<text class=\"chart-title\" x=\"{F(Left)}\" y=\"20\">{Escape(title)}</text>");
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

        public static void Legend(StringBuilder svg, IReadOnlyList<Series> series, double x, double y)
        {
            double width = LegendWidth(series);
            if (series.Count == 0) return;
            svg.Append($"<g class=\"legend\"><rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(width)}\" height=\"{F(series.Count * 16 + 8)}\" rx=\"4\"/>");
            for (int i = 0; i < series.Count; i++)
            {
                double ly = y + 14 + i * 16;
                svg.Append($"<line x1=\"{F(x + 8)}\" x2=\"{F(x + 24)}\" y1=\"{F(ly - 4)}\" y2=\"{F(ly - 4)}\" stroke=\"{series[i].Color}\" stroke-width=\"3\"{(series[i].Dashed ? " stroke-dasharray=\"4 3\"" : "")}/>");
                svg.Append($"<text x=\"{F(x + 30)}\" y=\"{F(ly)}\">{Escape(series[i].Name)}</text>");
            }

            svg.Append("</g>");
        }

        private static double LegendWidth(IReadOnlyList<Series> series) => series.Count == 0 ? 0 : series.Max(s => s.Name.Length) * 6.6 + 34;

        /// <summary>SVG path data "M x y L x y ..." in screen coordinates.</summary>
        public static string PathData(IEnumerable<(double X, double Y)> points)
        {
            var data = new StringBuilder();
            foreach (var (x, y) in points)
                data.Append(data.Length == 0 ? "M" : " L").Append(F(x)).Append(' ').Append(F(y));
            return data.ToString();
        }

        /// <summary>Evenly spaced points at 1, 2 or 5 × 10ᵏ covering [min, max].</summary>
        public static double[] NiceTicks(double min, double max, int count)
        {
            double span = max - min;
            double raw = span / Math.Max(1, count);
            double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double step = new[] { 1.0, 2, 2.5, 5, 10 }.Select(f => f * magnitude).First(s => s >= raw);
            double start = Math.Floor(min / step) * step;
            var ticks = new List<double>();
            for (double t = start; t <= max + step * 0.5 && ticks.Count < 50; t += step) ticks.Add(Math.Round(t / step) * step);
            return ticks.ToArray();
        }

        private static double[] LogTicks(double logMin, double logMax)
        {
            var ticks = new List<double>();
            for (double e = Math.Floor(logMin); e <= Math.Ceiling(logMax); e++)
                foreach (double f in logMax - logMin < 1.5 ? new[] { 1.0, 2, 5 } : new[] { 1.0 })
                    ticks.Add(e + Math.Log10(f));
            return ticks.ToArray();
        }

        private static string TickText(double v)
        {
            double a = Math.Abs(v);
            if (a != 0 && (a < 1e-3 || a >= 1e5)) return v.ToString("0.#e0", CultureInfo.InvariantCulture);
            return v.ToString(a < 0.1 ? "0.###" : "0.##", CultureInfo.InvariantCulture);
        }

        private static string ClipId(string title) => ((uint)title.GetHashCode(StringComparison.Ordinal)).ToString("x8", CultureInfo.InvariantCulture);
    }
}
