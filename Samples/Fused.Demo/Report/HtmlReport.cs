using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Fused.Demo.Console;
using Fused.Demo.Optimizers;
using Fused.Demo.Training;
using Fused.Demo.Widgets;

namespace Fused.Demo.Report
{
    /// <summary>
    /// The self-contained HTML report: results, training curves, memory, and the seed-003 widgets computed
    /// with the real generated kernels. Inline CSS and SVG, one tiny script for highlighting; nothing fetched.
    /// </summary>
    public static class HtmlReport
    {
        public static string Build(ReportInput input)
        {
            var results = input.Results;
            var html = new StringBuilder();
            html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
            html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
            html.Append("<title>Fused · Fashion-MNIST with generated optimizers</title><style>").Append(Css).Append("</style></head><body><main>");

            html.Append("<header><h1>Fashion-MNIST with generated optimizers</h1>");
            html.Append("<p class=\"lede\">Every optimizer below is a few lines of attributed C#; the Fused source generator compiled each into fused SIMD kernels, ");
            html.Append("and this run trained the same network from the same initial weights, on the same batches, with each of them.</p>");
            var s = input.Setup;
            html.Append("<dl class=\"setup\">");
            Fact(html, "Data", Model.ModelTasks.UsesImages(s.Options.Model)
                ? $"Fashion-MNIST, {s.TrainCount:N0} training / {s.TestCount:N0} test images"
                : $"text, {s.TrainCount:N0} training / {s.TestCount:N0} test windows; accuracy is of the next character");
            Fact(html, "Model", $"{s.ModelDescription ?? $"MLP {string.Join(" → ", s.Options.LayerSizes)}, ReLU, softmax cross-entropy"} ({results.FirstOrDefault()?.ParameterCount ?? 0:N0} parameters)");
            Fact(html, "Training", $"{s.Options.Epochs} epoch(s), batch {s.Options.BatchSize}, seed {s.Options.Seed}, lr warm-up then cosine decay");
            Fact(html, "Compute", $"{s.BlasBackend}, {s.Threads} thread(s)");
            Fact(html, "Generated", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
            html.Append("</dl></header>");

            Section(html, "Results", "Test accuracy after the last epoch on the 10,000 test images. Time per step includes forward, backward and the optimizer.");
            ResultsTable(html, results);

            Section(html, "Training curves", "Training loss per step (exponential moving average; the faint line is the raw per-batch loss) and test accuracy measured during training.");
            html.Append("<div class=\"grid2\">");
            html.Append(Figure(Svg.LineChart("Training loss", "step", "cross-entropy (log scale)", LossSeries(results), logY: true, legend: LegendCorner.TopRight)));
            html.Append(Figure(Svg.LineChart("Test accuracy", "epoch", "accuracy", AccuracySeries(results), yFormat: v => v.ToString("P0", CultureInfo.InvariantCulture), legend: LegendCorner.BottomRight)));
            html.Append("</div>");

            Section(html, "Memory", "Optimizer state is what the generated <code>Layout</code> constants say each rule keeps per parameter. Left: this run. Right: a 70B-parameter model with fp32 state plus the 4-byte fp32 master weights, the way the seeds count it (AdamW: 4 + 4 + 4 = 12 B/param ≈ 840 GB).");
            html.Append("<div class=\"grid2\">");
            html.Append(Figure(Svg.BarChart("Optimizer state in this run", "bytes of optimizer state", results
                .Select(r => new Bar(r.Optimizer, r.StateBytes, Palette.For(r.Optimizer), $"{Bytes.Format(r.StateBytes)} · {(double)r.StateBytes / r.ParameterCount:0.#} B/p")).ToArray())));
            html.Append(Figure(Svg.BarChart("At 70B parameters, fp32 state + fp32 master weights", "bytes (1 GB = 10⁹ B)", MemoryFootprint.All
                .Select(f => new Bar(f.Name, f.TotalBytesWithMaster(70e9, StatePrecision.Fp32), Palette.For(f.Name),
                    Bytes.Format(f.TotalBytesWithMaster(70e9, StatePrecision.Fp32)),
                    $"{f.Name}: {f.StateBytesPerParameter(StatePrecision.Fp32)} B state + 4 B master per parameter ({f.Note}); bf16 state: {Bytes.Format(f.TotalBytesWithMaster(70e9, StatePrecision.Bf16))}, 8-bit: {Bytes.Format(f.TotalBytesWithMaster(70e9, StatePrecision.Int8))}"))
                .ToArray())));
            html.Append("</div>");

            Section(html, "Optimizers on 2-D landscapes", "Each catalog rule's generated kernel run on a two-element tensor (x, y) with the analytic gradient: the same code that trained the network, on two numbers. Weight decay is off; step sizes are per rule (hover a path for its lr and end point). White dot: start; orange cross: minimum. Hover a name to pick out its paths.");
            var rules = CatalogRule.All.Select(r => r.Name).ToArray();
            html.Append("<ul class=\"legend-list\">");
            foreach (string rule in rules)
                html.Append($"<li data-rule=\"{Svg.Escape(rule)}\"><span class=\"swatch\" style=\"background:{Palette.For(rule)}\"></span>{Svg.Escape(rule)}</li>");
            html.Append("</ul><div class=\"grid3\">");
            foreach (var landscape in Landscape.All)
                html.Append(Figure(WidgetCharts.LandscapePanel(landscape, LandscapeTrajectories.Compute(landscape), 420, 340)));
            html.Append("</div>");

            Section(html, "AdamW vs Adam with L2 decay", $"Two parameters start at 1.0 with zero gradient, so only weight decay moves them: A with a large second moment (v = {DecayComparison.LoudV:G3}), B with a small one (v = {DecayComparison.QuietV:G3}). Computed by the generated AdamW and Adam kernels. AdamW decays both alike (the teal lines coincide); Adam folds the decay into the gradient, where it is divided by √v: the loud parameter is barely regularised and the quiet one is crushed.");
            html.Append(Figure(WidgetCharts.DecayChart(DecayComparison.Compute())));

            Section(html, "Muon's Newton-Schulz iteration", "A matrix with singular values spread over two decades, orthogonalised by the runtime's <code>NewtonSchulz</code> (Muon's quintic coefficients 3.4445, −4.7750, 2.0315) for k steps; singular values computed as √eig(XᵀX). Muon's coefficients deliberately pull the spectrum into a band around 1 rather than exactly onto it.");
            html.Append(Figure(WidgetCharts.SpectrumChart(SpectrumFlattening.Compute())));

            html.Append("<footer>Made by <code>fused train</code>. Numbers are from this run on this machine; rerun with <code>--seed</code> to vary the initialisation and batch order.</footer>");
            html.Append("</main><script>").Append(Script).Append("</script></body></html>");
            return html.ToString();
        }

        private static void ResultsTable(StringBuilder html, IReadOnlyList<RunResult> results)
        {
            double best = results.Where(r => !r.Diverged).Select(r => r.TestAccuracy).DefaultIfEmpty(double.NaN).Max();
            html.Append("<table class=\"results\"><thead><tr><th>Optimizer</th><th>Test accuracy</th><th>Final train loss</th><th>ms / step</th><th>optimizer ms / step</th><th>Optimizer state</th><th>What ran</th></tr></thead><tbody>");
            foreach (var r in results)
            {
                string accuracy = double.IsNaN(r.TestAccuracy) ? "—" : r.TestAccuracy.ToString("P2", CultureInfo.InvariantCulture);
                html.Append("<tr>");
                html.Append($"<td><span class=\"swatch\" style=\"background:{Palette.For(r.Optimizer)}\"></span><b>{Svg.Escape(r.Optimizer)}</b></td>");
                html.Append($"<td class=\"num{(r.TestAccuracy == best ? " best" : "")}\">{accuracy}</td>");
                html.Append($"<td class=\"num\">{(r.Diverged ? "diverged" : r.FinalTrainLoss.ToString("F4", CultureInfo.InvariantCulture))}</td>");
                html.Append($"<td class=\"num\">{r.MillisecondsPerStep:F2}</td><td class=\"num\">{r.OptimizerMillisecondsPerStep:F3}</td>");
                html.Append($"<td class=\"num\">{Bytes.Format(r.StateBytes)}</td>");
                html.Append($"<td class=\"what\">{Svg.Escape(r.Description)}</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        private static IReadOnlyList<Series> LossSeries(IReadOnlyList<RunResult> results)
        {
            var series = new List<Series>();
            foreach (var r in results)
            {
                int stride = Math.Max(1, r.StepLosses.Count / 300);
                var raw = r.StepLosses.Select((l, i) => ((double)(i + 1), (double)l)).Where((_, i) => i % stride == 0).ToArray();
                series.Add(new Series(r.Optimizer + " (raw)", Palette.For(r.Optimizer), raw, Opacity: 0.18));
            }

            foreach (var r in results)
            {
                var smooth = new List<(double, double)>();
                double ema = 0;
                int stride = Math.Max(1, r.StepLosses.Count / 400);
                for (int i = 0; i < r.StepLosses.Count; i++)
                {
                    ema = 0.97 * ema + 0.03 * r.StepLosses[i];
                    double corrected = ema / (1 - Math.Pow(0.97, i + 1));
                    if (i % stride == 0 || i == r.StepLosses.Count - 1) smooth.Add((i + 1, corrected));
                }

                series.Add(new Series(r.Optimizer, Palette.For(r.Optimizer), smooth, Tooltip: $"{r.Optimizer}: final train loss {r.FinalTrainLoss:F4}"));
            }

            return series;
        }

        private static IReadOnlyList<Series> AccuracySeries(IReadOnlyList<RunResult> results)
            => results.Select(r => new Series(r.Optimizer, Palette.For(r.Optimizer),
                r.Evaluations.Select(e => (e.Epoch, e.TestAccuracy)).ToArray(), Markers: true,
                Tooltip: $"{r.Optimizer}: {r.TestAccuracy:P2} test accuracy")).ToArray();

        private static void Fact(StringBuilder html, string term, string value) => html.Append($"<dt>{term}</dt><dd>{Svg.Escape(value)}</dd>");

        private static void Section(StringBuilder html, string title, string introHtml) => html.Append($"<h2>{title}</h2><p class=\"intro\">{introHtml}</p>");

        private static string Figure(string svg) => $"<figure>{svg}</figure>";

        private const string Css = @"
:root{--ink:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#fbfbfd;--card:#fff;--accent:#0f9d8a}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:32px 24px 64px}
h1{font-size:30px;letter-spacing:-.02em;margin:0 0 8px}h2{font-size:21px;margin:44px 0 6px;letter-spacing:-.01em;border-top:1px solid var(--line);padding-top:26px}
.lede{font-size:17px;color:var(--muted);max-width:820px;margin:0 0 16px}.intro{color:var(--muted);max-width:900px;margin:0 0 14px}
.setup{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0;font-size:14px}.setup dt{color:var(--muted)}.setup dd{margin:0}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f5;padding:1px 5px;border-radius:4px}
table.results{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden;font-size:14px}
.results th{text-align:left;font-weight:600;color:var(--muted);background:#f4f6f9;padding:9px 12px;border-bottom:1px solid var(--line)}
.results td{padding:9px 12px;border-bottom:1px solid var(--line);vertical-align:top}.results td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.results td.best{color:var(--accent);font-weight:700}.results td.what{color:var(--muted);font-size:12.5px;max-width:380px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:8px;vertical-align:-1px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px;overflow-x:auto}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:16px}
svg.chart{max-width:100%;height:auto;font-family:inherit}
.chart-title{font-size:14px;font-weight:600;fill:var(--ink)}.tick{font-size:11px;fill:var(--muted)}.axis-label{font-size:12px;fill:var(--muted)}
.label{font-size:12px;fill:var(--ink)}.value{font-size:11.5px;fill:var(--muted)}
.grid{stroke:#eceef2;stroke-width:1}.axis{stroke:#9aa3b2;stroke-width:1}.frame{fill:none;stroke:#9aa3b2}
.series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.trajectory{fill:none;stroke-width:1.8;stroke-linejoin:round;opacity:.9;transition:opacity .15s,stroke-width .15s}
.legend rect{fill:rgba(255,255,255,.88);stroke:var(--line)}.legend text{font-size:11.5px;fill:var(--ink)}
.legend-list{list-style:none;display:flex;flex-wrap:wrap;gap:6px 16px;padding:0;margin:0 0 12px;font-size:13.5px}.legend-list li{cursor:default}
body.focus .trajectory{opacity:.12}body.focus .trajectory.on{opacity:1;stroke-width:3}
footer{margin-top:48px;color:var(--muted);font-size:13px}";

        // Hovering a rule in the legend highlights its paths on every landscape.
        private const string Script = @"
document.querySelectorAll('.legend-list li').forEach(function(li){
  li.addEventListener('mouseenter',function(){document.body.classList.add('focus');
    document.querySelectorAll('.trajectory').forEach(function(p){p.classList.toggle('on',p.dataset.rule===li.dataset.rule);});});
  li.addEventListener('mouseleave',function(){document.body.classList.remove('focus');});
});";
    }
}
