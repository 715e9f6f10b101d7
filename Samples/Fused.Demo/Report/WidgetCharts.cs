using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Fused.Demo.Widgets;

namespace Fused.Demo.Report
{
    /// <summary>Pictures of the seed-003 widgets: landscapes with trajectories, AdamW vs Adam-L2 decay, Newton-Schulz spectra.</summary>
    public static class WidgetCharts
    {
        /// <summary>The landscape's heat map as base64 PNG, computed once and shared by its small multiples.</summary>
        public static string HeatMapBase64(Landscape landscape) => Convert.ToBase64String(HeatMap(landscape, 120, 96));

        /// <summary>
        /// One small multiple: the heat map of log-loss with one rule's path over it, start (white dot), minimum (orange
        /// cross) and end point. The title is the rule's name; the tooltip has its lr and where it ended.
        /// </summary>
        public static string LandscapePanel(Landscape landscape, Trajectory path, string heatMapBase64, double width = 250, double height = 210)
        {
            const double left = 30, right = 8, top = 28, bottom = 22;
            var (xMin, xMax, yMin, yMax) = landscape.Window;
            double plotW = width - left - right, plotH = height - top - bottom;
            double X(double x) => left + (x - xMin) / (xMax - xMin) * plotW;
            double Y(double y) => top + plotH - (y - yMin) / (yMax - yMin) * plotH;

            var svg = Svg.Open(width, height, path.Rule, titleX: left);
            svg.Append($"<image x=\"{Svg.F(left)}\" y=\"{Svg.F(top)}\" width=\"{Svg.F(plotW)}\" height=\"{Svg.F(plotH)}\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,{heatMapBase64}\"/>");
            svg.Append($"<rect class=\"frame\" x=\"{Svg.F(left)}\" y=\"{Svg.F(top)}\" width=\"{Svg.F(plotW)}\" height=\"{Svg.F(plotH)}\"/>");
            var xTicks = Svg.NiceTicks(xMin, xMax, 4).Where(t => t >= xMin && t <= xMax).ToArray();
            var xLabels = Svg.TickLabels(xTicks, percent: false);
            for (int i = 0; i < xTicks.Length; i++)
                svg.Append($"<text class=\"tick\" x=\"{Svg.F(X(xTicks[i]))}\" y=\"{Svg.F(top + plotH + 14)}\" text-anchor=\"middle\">{xLabels[i]}</text>");
            var yTicks = Svg.NiceTicks(yMin, yMax, 4).Where(t => t >= yMin && t <= yMax).ToArray();
            var yLabels = Svg.TickLabels(yTicks, percent: false);
            for (int i = 0; i < yTicks.Length; i++)
                svg.Append($"<text class=\"tick\" x=\"{Svg.F(left - 4)}\" y=\"{Svg.F(Y(yTicks[i]) + 4)}\" text-anchor=\"end\">{yLabels[i]}</text>");

            string clip = $"land{(uint)(landscape.Name + path.Rule).GetHashCode():x8}";
            svg.Append($"<clipPath id=\"{clip}\"><rect x=\"{Svg.F(left)}\" y=\"{Svg.F(top)}\" width=\"{Svg.F(plotW)}\" height=\"{Svg.F(plotH)}\"/></clipPath>");
            svg.Append($"<g clip-path=\"url(#{clip})\">");
            string color = Palette.For(path.Rule);
            string tip = Describe(landscape, path);
            // At most ~400 drawn points per path keeps the file small; the CSV from `fused landscape` has them all.
            int stride = Math.Max(1, path.Points.Count / 400);
            var drawn = path.Points.Where((_, i) => i % stride == 0 || i == path.Points.Count - 1)
                .Select(p => (X(Math.Clamp(p.X, xMin - 10, xMax + 10)), Y(Math.Clamp(p.Y, yMin - 10, yMax + 10))));
            svg.Append($"<path class=\"trajectory\" data-rule=\"{Svg.Escape(path.Rule)}\" d=\"{Svg.PathData(drawn)}\" stroke=\"{color}\"><title>{Svg.Escape(tip)}</title></path>");
            var (fx, fy) = path.Final;
            if (!path.Diverged)
                svg.Append($"<circle cx=\"{Svg.F(X(fx))}\" cy=\"{Svg.F(Y(fy))}\" r=\"3.5\" fill=\"{color}\" stroke=\"white\" stroke-width=\"1\"><title>{Svg.Escape(tip)}</title></circle>");
            svg.Append("</g>");
            svg.Append($"<circle cx=\"{Svg.F(X(landscape.Start.X))}\" cy=\"{Svg.F(Y(landscape.Start.Y))}\" r=\"4\" fill=\"white\" stroke=\"#222\" stroke-width=\"1.5\"><title>start ({landscape.Start.X}, {landscape.Start.Y})</title></circle>");
            double mx = X(landscape.Minimum.X), my = Y(landscape.Minimum.Y);
            svg.Append($"<path class=\"minimum\" d=\"M{Svg.F(mx - 5)} {Svg.F(my)} L{Svg.F(mx + 5)} {Svg.F(my)} M{Svg.F(mx)} {Svg.F(my - 5)} L{Svg.F(mx)} {Svg.F(my + 5)}\" stroke=\"#ff8c00\" stroke-width=\"2.5\"><title>minimum ({landscape.Minimum.X}, {landscape.Minimum.Y})</title></path>");
            return Svg.Close(svg);
        }

        /// <summary>One line under a panel: lr, where the path ended and at what loss, or that it diverged or left the window.</summary>
        public static string Describe(Landscape landscape, Trajectory path)
        {
            string lr = double.IsNaN(path.LearningRate) ? "no lr" : $"lr {path.LearningRate:G3}";
            int steps = path.Points.Count - 1;
            if (path.Diverged) return $"{path.Rule} ({lr}): diverged after {steps} steps";
            var (fx, fy) = path.Final;
            var (xMin, xMax, yMin, yMax) = landscape.Window;
            bool outside = path.Points.Any(p => p.X < xMin || p.X > xMax || p.Y < yMin || p.Y > yMax);
            return $"{path.Rule} ({lr}): ends at ({fx:F3}, {fy:F3}), loss {landscape.Loss(fx, fy):G3} after {steps} steps" + (outside ? "; leaves the window on the way" : "");
        }

        /// <summary>AdamW's decoupled decay (both parameters alike) vs Adam's L2 decay (divided by √v).</summary>
        public static string DecayChart(IReadOnlyList<DecayCurve> curves)
        {
            var series = curves.Select(c =>
            {
                bool adamW = c.Rule == "AdamW";
                bool loud = c.SecondMoment > 1;
                // Four distinct colours: AdamW's two (coinciding) lines teal and dark teal, B dashed so A shows through.
                string color = adamW ? (loud ? Palette.For("AdamW") : "#0a5c52") : loud ? "#9b2c16" : "#f4a582";
                string name = $"{(adamW ? "AdamW" : "Adam + L2")}, {c.Parameter}";
                return new Series(name, color, c.Values.Select((v, i) => ((double)i, v)).ToArray(), Dashed: adamW && !loud,
                    Tooltip: $"{name}: {c.Values[^1]:F3} after {c.Values.Count - 1} steps");
            }).ToArray();
            return Svg.LineChart("Weight decay alone: AdamW vs Adam with L2", "step (zero gradient; lr 0.01, weight decay 0.1)", "parameter value",
                series, yRange: (-0.2, 1.05));
        }

        /// <summary>Small multiples: singular values before (grey) and after k Newton-Schulz steps (green).</summary>
        public static string SpectrumChart(IReadOnlyList<SpectrumSnapshot> snapshots, double width = 760, double height = 260)
        {
            const double top = 44, bottom = 40, gap = 18, left = 44;
            double panelW = (width - left - gap * (snapshots.Count - 1) - 8) / snapshots.Count;
            double plotH = height - top - bottom;
            double yMax = Math.Max(1.25, snapshots.Max(s => s.Output.Max()) * 1.05);
            var svg = Svg.Open(width, height, $"Newton-Schulz on a skewed spectrum ({SpectrumFlattening.Rows}×{SpectrumFlattening.Cols}, σ from 1 to 10⁻²)");
            for (int p = 0; p < snapshots.Count; p++)
            {
                var snapshot = snapshots[p];
                double x0 = left + p * (panelW + gap);
                double Y(double v) => top + plotH - v / yMax * plotH;
                int n = snapshot.Output.Count;
                double barW = panelW / n;
                svg.Append($"<text class=\"label\" x=\"{Svg.F(x0 + panelW / 2)}\" y=\"{Svg.F(top - 8)}\" text-anchor=\"middle\">{(snapshot.Iterations == 0 ? "input G/‖G‖F" : $"after {snapshot.Iterations} step{(snapshot.Iterations > 1 ? "s" : "")}")}</text>");
                svg.Append($"<line class=\"grid\" x1=\"{Svg.F(x0)}\" x2=\"{Svg.F(x0 + panelW)}\" y1=\"{Svg.F(Y(1))}\" y2=\"{Svg.F(Y(1))}\"/>");
                for (int i = 0; i < n; i++)
                {
                    double bx = x0 + i * barW;
                    double input = snapshot.Input[i], output = snapshot.Output[i];
                    svg.Append($"<rect x=\"{Svg.F(bx + barW * 0.15)}\" y=\"{Svg.F(Y(output))}\" width=\"{Svg.F(Math.Max(0.5, barW * 0.7))}\" height=\"{Svg.F(Math.Max(0, output / yMax * plotH))}\" fill=\"#0f9d8a\"><title>σ{i + 1} after {snapshot.Iterations} step(s): {output:G4} (input {input:G4})</title></rect>");
                }

                // The input spectrum as a dark line with dots over the bars: visible in every panel, whatever the bars do.
                var inputLine = snapshot.Input.Select((v, i) => (x0 + (i + 0.5) * barW, Y(v))).ToArray();
                svg.Append($"<path class=\"series\" d=\"{Svg.PathData(inputLine)}\" stroke=\"#333\" stroke-width=\"1.5\"><title>input spectrum of G/‖G‖F: σ from {snapshot.Input[0]:G3} to {snapshot.Input[^1]:G3}</title></path>");
                foreach (var (ix, iy) in inputLine)
                    svg.Append($"<circle cx=\"{Svg.F(ix)}\" cy=\"{Svg.F(iy)}\" r=\"1.6\" fill=\"#333\"/>");

                svg.Append($"<line class=\"axis\" x1=\"{Svg.F(x0)}\" x2=\"{Svg.F(x0 + panelW)}\" y1=\"{Svg.F(top + plotH)}\" y2=\"{Svg.F(top + plotH)}\"/>");
                svg.Append($"<text class=\"tick\" x=\"{Svg.F(x0 + panelW / 2)}\" y=\"{Svg.F(top + plotH + 16)}\" text-anchor=\"middle\">σ₁ … σ{n}</text>");
                if (p == 0)
                    foreach (double t in new[] { 0.0, 0.5, 1.0 })
                        svg.Append($"<text class=\"tick\" x=\"{Svg.F(x0 - 5)}\" y=\"{Svg.F(Y(t) + 4)}\" text-anchor=\"end\">{Svg.F(t)}</text>");
            }

            svg.Append($"<text class=\"axis-label\" transform=\"translate(12 {Svg.F(top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">singular value</text>");
            svg.Append($"<text class=\"axis-label\" x=\"{Svg.F(width / 2)}\" y=\"{Svg.F(height - 6)}\" text-anchor=\"middle\">dark line: input spectrum G/‖G‖F · green bars: after k Newton-Schulz steps (grid line at σ = 1)</text>");
            return Svg.Close(svg);
        }

        // Log of the loss above its minimum, banded to read like filled contours; light where low.
        private static byte[] HeatMap(Landscape landscape, int width, int height)
        {
            var (xMin, xMax, yMin, yMax) = landscape.Window;
            var values = new double[width * height];
            for (int j = 0; j < height; j++)
                for (int i = 0; i < width; i++)
                {
                    double x = xMin + (i + 0.5) / width * (xMax - xMin);
                    double y = yMax - (j + 0.5) / height * (yMax - yMin);
                    values[j * width + i] = landscape.Loss(x, y);
                }

            double floor = values.Min();
            var logs = values.Select(v => Math.Log10(v - floor + 1e-3)).ToArray();
            double lo = logs.Min(), hi = logs.Max();
            var rgb = new byte[width * height * 3];
            for (int k = 0; k < logs.Length; k++)
            {
                double t = (logs[k] - lo) / (hi - lo);
                t = Math.Floor(t * 14) / 14; // bands
                // From near-white (low) to a soft slate blue (high), light enough for the paths to stand out.
                rgb[3 * k] = (byte)(250 - 95 * t);
                rgb[3 * k + 1] = (byte)(251 - 80 * t);
                rgb[3 * k + 2] = (byte)(247 - 45 * t);
            }

            return PngEncoder.Encode(width, height, rgb);
        }
    }
}
