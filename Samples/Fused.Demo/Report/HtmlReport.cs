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
            var summaries = SeedSummary.Group(results);
            var verdicts = Verdict.PerModel(summaries);
            // The task names the page: images for the MLP and the CNN, text for the transformer.
            string task = Model.ModelTasks.UsesImages(input.Setup.Options.Model) ? "Fashion-MNIST" : "Character-level language modelling";
            var html = new StringBuilder();
            html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
            html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
            html.Append($"<title>Fused · {task} with generated optimizers</title><style>").Append(Css).Append("</style></head><body><main>");

            html.Append($"<header><h1>{task} with generated optimizers</h1>");
            html.Append("<p class=\"lede\">Every optimizer below is a few lines of attributed C#; the Fused source generator compiled each into fused SIMD kernels, ");
            html.Append("and this run trained the same network from the same initial weights, on the same batches, with each of them, once per seed.</p>");
            var s = input.Setup;
            html.Append("<dl class=\"setup\">");
            Fact(html, "Data", Model.ModelTasks.UsesImages(s.Options.Model)
                ? $"Fashion-MNIST, {s.TrainCount:N0} training / {s.TestCount:N0} test images"
                : $"text, {s.TrainCount:N0} training / {s.TestCount:N0} test windows; accuracy is of the next character");
            Fact(html, "Models", string.Join("; ", summaries.GroupBy(m => m.Model).Select(m => $"{s.ModelDescription ?? m.Key} ({m.First().ParameterCount:N0} parameters)")));
            Fact(html, "Training", $"{s.Options.Epochs} epoch(s), batch {s.Options.BatchSize}, {s.Options.Seeds} seed(s) from {s.Options.Seed} (each seed: its own initial weights and batch order, the same for every optimizer); lr warm-up then cosine decay");
            Fact(html, "Compute", $"{s.BlasBackend}, {s.Threads} thread(s)");
            Fact(html, "Generated", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
            html.Append("</dl>");
            // With several models the verdicts are listed up front; each model's section repeats its own.
            if (verdicts.Count > 1)
            {
                html.Append("<ul class=\"verdicts\">");
                foreach (var verdict in verdicts) html.Append($"<li>{Svg.Escape(verdict.Sentence)}</li>");
                html.Append("</ul>");
            }

            html.Append("</header>");

            foreach (var model in summaries.GroupBy(m => m.Model))
                ModelSection(html, model.Key, model.ToArray());

            Section(html, "Memory", "Optimizer state is what the generated <code>Layout</code> constants say each rule keeps per parameter. Left: this run. Right: a 70B-parameter model with fp32 state plus the 4-byte fp32 master weights, the way the seeds count it (AdamW: 4 + 4 + 4 = 12 B/param ≈ 840 GB). † marks state that depends on the weights' shapes, not counted in the bar: Adafactor's row and column means (rows + cols floats per matrix), the hyperball rules' radius (one float per tensor), Shampoo's L (rows²) and R (cols²) with their inverse roots; <code>fused memory</code> costs them per matrix.");
            html.Append("<div class=\"grid2\">");
            var firstModel = summaries.Where(m => m.Model == summaries[0].Model).ToArray();
            html.Append(Figure(Svg.BarChart($"Optimizer state in this run ({summaries[0].Model})", "bytes of optimizer state", firstModel
                .Select(r => new Bar(r.Optimizer, r.StateBytes, Palette.For(r.Optimizer), $"{Bytes.Format(r.StateBytes)} · {(double)r.StateBytes / r.ParameterCount:0.#} B/p")).ToArray())));
            html.Append(Figure(Svg.BarChart("At 70B parameters, fp32 state + fp32 master weights", "bytes (1 GB = 10⁹ B)", MemoryFootprint.All
                .Select(f => new Bar(f.Name, f.TotalBytesWithMaster(70e9, StatePrecision.Fp32), Palette.For(f.Name),
                    Bytes.Format(f.TotalBytesWithMaster(70e9, StatePrecision.Fp32)) + (f.HasShapeDependentState ? " + †" : ""),
                    $"{f.Name}: {f.StateBytesPerParameter(StatePrecision.Fp32)} B state + 4 B master per parameter ({f.Note}); bf16 state: {Bytes.Format(f.TotalBytesWithMaster(70e9, StatePrecision.Bf16))}, 8-bit: {Bytes.Format(f.TotalBytesWithMaster(70e9, StatePrecision.Int8))}"))
                .ToArray())));
            html.Append("</div>");

            Landscapes(html);

            Section(html, "AdamW vs Adam with L2 decay", $"Two parameters start at 1.0 with zero gradient, so only weight decay moves them: A with a large second moment (v = {DecayComparison.LoudV:G3}), B with a small one (v = {DecayComparison.QuietV:G3}). Computed by the generated AdamW and Adam kernels. AdamW decays both alike (its two lines coincide; B is dashed over A); Adam folds the decay into the gradient, where it is divided by √v: the loud parameter is barely regularised and the quiet one is crushed.");
            html.Append(Figure(WidgetCharts.DecayChart(DecayComparison.Compute())));

            Section(html, "Muon's Newton-Schulz iteration", "A matrix with singular values spread over two decades, orthogonalised by the runtime's <code>NewtonSchulz</code> (Muon's quintic coefficients 3.4445, −4.7750, 2.0315) for k steps; singular values computed as √eig(XᵀX). Muon's coefficients deliberately pull the spectrum into a band around 1 rather than exactly onto it.");
            html.Append(Figure(WidgetCharts.SpectrumChart(SpectrumFlattening.Compute())));

            html.Append("<footer>Made by <code>fused train</code>. Numbers are from this run on this machine; <code>--seeds</code> sets how many seeds each optimizer runs on, <code>--seed</code> the first.</footer>");
            html.Append("</main><script>").Append(Script).Append("</script></body></html>");
            return html.ToString();
        }

        private static void ModelSection(StringBuilder html, string model, IReadOnlyList<SeedSummary> rows)
        {
            int seeds = rows.Max(r => r.Runs.Count);
            string spread = seeds > 1 ? $"mean ± standard deviation over {seeds} seeds (bands: ± one standard deviation)" : "one seed (run with --seeds 3 for error bars)";
            Section(html, $"{model}: results", $"Test accuracy and loss on the full test set after the last step, {spread}. Time per step includes forward, backward and the optimizer.");
            foreach (var verdict in Verdict.PerModel(rows)) html.Append($"<p class=\"verdict\">{Svg.Escape(verdict.Sentence)}</p>");
            ResultsTable(html, rows);

            Section(html, $"{model}: training curves", "One point per test-set evaluation (hover for the value to two decimals and the seed spread). The training loss is each batch's cross-entropy smoothed by an exponential moving average (β 0.97, bias-corrected); the table's final train loss is the plain mean of the last tenth of the last epoch's batches. The learning rate is each optimizer's base lr (listed under its row in the table) times the schedule factor shown.");
            html.Append("<div class=\"grid2\">");
            html.Append(Figure(Svg.LineChart($"{model}: test accuracy", "epoch", "test accuracy", EvaluationSeries(rows, e => e.TestAccuracy, v => $"{v * 100:F2} %"), yAxis: YAxis.Percent)));
            html.Append(Figure(Svg.LineChart($"{model}: test loss", "epoch", "test cross-entropy", EvaluationSeries(rows, e => e.TestLoss, v => v.ToString("F4", CultureInfo.InvariantCulture)))));
            html.Append(Figure(Svg.LineChart($"{model}: training loss (smoothed)", "step", "cross-entropy (log scale)", LossSeries(rows), yAxis: YAxis.Log)));
            html.Append(Figure(Svg.LineChart($"{model}: learning-rate schedule", "step", "factor on each base lr", ScheduleSeries(rows), yRange: (0, 1))));
            html.Append("</div>");
        }

        private static void ResultsTable(StringBuilder html, IReadOnlyList<SeedSummary> rows)
        {
            double best = rows.Select(r => r.TestAccuracy.Mean).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();
            // What ran goes on its own full-width row under each optimizer, so the figures fit side by side at any width.
            html.Append("<div class=\"table-wrap\"><table class=\"results\"><thead><tr><th>Optimizer</th><th>Test accuracy</th><th>Test loss</th><th>Final train loss</th><th>ms / step (optimizer)</th><th>Optimizer state</th></tr></thead><tbody>");
            foreach (var r in rows)
            {
                string accuracy = r.TestAccuracy.Format(v => (v * 100).ToString("F2", CultureInfo.InvariantCulture)) + (r.TestAccuracy.Count > 0 ? " %" : "");
                string trainLoss = r.DivergedRuns == r.Runs.Count ? "diverged"
                    : r.FinalTrainLoss.Format(v => v.ToString("F4", CultureInfo.InvariantCulture)) + (r.DivergedRuns > 0 ? $" ({r.DivergedRuns} of {r.Runs.Count} diverged)" : "");
                html.Append("<tr class=\"figures\">");
                html.Append($"<td class=\"name\"><span class=\"swatch\" style=\"background:{Palette.For(r.Optimizer)}\"></span><b>{Svg.Escape(r.Optimizer)}</b></td>");
                html.Append($"<td class=\"num{(r.TestAccuracy.Mean == best ? " best" : "")}\">{accuracy}</td>");
                html.Append($"<td class=\"num\">{r.TestLoss.Format(v => v.ToString("F4", CultureInfo.InvariantCulture))}</td>");
                html.Append($"<td class=\"num\">{trainLoss}</td>");
                html.Append($"<td class=\"num\">{r.MillisecondsPerStep.Mean:F2} ({r.OptimizerMillisecondsPerStep.Mean:F2})</td>");
                html.Append($"<td class=\"num\">{Bytes.Format(r.StateBytes)}</td></tr>");
                html.Append($"<tr class=\"what\"><td colspan=\"6\">{Svg.Escape(r.Description)}</td></tr>");
            }

            html.Append("</tbody></table></div>");
        }

        /// <summary>Mean over the seeds at each evaluation, a ± std band, and a tooltip per point.</summary>
        private static IReadOnlyList<Series> EvaluationSeries(IReadOnlyList<SeedSummary> rows, Func<EvaluationSpread, Spread> pick, Func<double, string> format)
            => rows.Select(r =>
            {
                var points = r.Evaluations;
                return new Series(r.Optimizer, Palette.For(r.Optimizer),
                    points.Select(e => (e.Epoch, pick(e).Mean)).ToArray(), Markers: true,
                    Band: points.Where(e => pick(e).Count > 1).Select(e => (e.Epoch, pick(e).Mean - pick(e).StandardDeviation, pick(e).Mean + pick(e).StandardDeviation)).ToArray(),
                    PointTips: points.Select(e => $"{r.Optimizer}, epoch {e.Epoch:0.##} (step {e.Step}): {pick(e).Format(format)}" + (pick(e).Count > 1 ? $" over {pick(e).Count} seeds" : "")).ToArray(),
                    Tooltip: $"{r.Optimizer}: {(points.Count > 0 ? pick(points[^1]).Format(format) : "—")} at the end");
            }).ToArray();

        /// <summary>Each seed's smoothed batch loss, then mean and ± std over the seeds at every drawn step.</summary>
        private static IReadOnlyList<Series> LossSeries(IReadOnlyList<SeedSummary> rows)
        {
            var series = new List<Series>();
            foreach (var r in rows)
            {
                var smoothed = r.Runs.Select(run => Smooth(run.StepLosses)).ToArray();
                int steps = smoothed.Min(l => l.Length);
                if (steps == 0) continue;
                int stride = Math.Max(1, steps / 300);
                var at = Enumerable.Range(0, steps).Where(i => i % stride == 0 || i == steps - 1).ToArray();
                var spreads = at.Select(i => (Step: (double)(i + 1), Spread: Spread.Of(smoothed.Select(l => l[i])))).ToArray();
                series.Add(new Series(r.Optimizer, Palette.For(r.Optimizer), spreads.Select(p => (p.Step, p.Spread.Mean)).ToArray(),
                    Band: r.Runs.Count > 1 ? spreads.Select(p => (p.Step, p.Spread.Mean - p.Spread.StandardDeviation, p.Spread.Mean + p.Spread.StandardDeviation)).ToArray() : null,
                    Tooltip: $"{r.Optimizer}: smoothed training loss {spreads[^1].Spread.Format(v => v.ToString("F4", CultureInfo.InvariantCulture))} at step {steps}"));
            }

            return series;
        }

        // Exponential moving average of the batch losses with bias correction (so step 1 is the first loss, not 3 % of it).
        private static double[] Smooth(IReadOnlyList<float> losses)
        {
            var smooth = new double[losses.Count];
            double ema = 0;
            for (int i = 0; i < losses.Count; i++)
            {
                ema = 0.97 * ema + 0.03 * losses[i];
                smooth[i] = ema / (1 - Math.Pow(0.97, i + 1));
            }

            return smooth;
        }

        /// <summary>The warm-up + cosine factor every optimizer's lr follows (Adafactor, with no lr, ignores it).</summary>
        private static IReadOnlyList<Series> ScheduleSeries(IReadOnlyList<SeedSummary> rows)
        {
            long steps = rows.Max(r => r.Runs.Max(run => run.Steps));
            var factor = OptimizerContext.LearningRateFactorFor(steps);
            int stride = (int)Math.Max(1, steps / 300);
            var points = Enumerable.Range(1, (int)steps).Where(t => t % stride == 0 || t == 1 || t == steps).Select(t => ((double)t, factor.ValueAt(t))).ToArray();
            return new[] { new Series("warm-up then cosine (all optimizers)", "#1d2330", points, Tooltip: $"linear warm-up, then cosine to 0 at step {steps}") };
        }

        private static void Landscapes(StringBuilder html)
        {
            Section(html, "Optimizers on 2-D landscapes", "Each catalog rule's generated kernel run on a two-element tensor (x, y) with the analytic gradient: the same code that trained the network, on two numbers, one small picture per rule. Weight decay is off; step sizes are per rule (under each picture). White dot: start; orange cross: minimum; coloured dot: where the path ended. Hover a picture for its end point and loss.");
            foreach (var landscape in Landscape.All)
            {
                html.Append($"<h3>{Svg.Escape(landscape.Name)} <span class=\"formula\">{Svg.Escape(landscape.Formula)}, {landscape.Steps} steps</span></h3><div class=\"multiples\">");
                string heat = WidgetCharts.HeatMapBase64(landscape);
                foreach (var path in LandscapeTrajectories.Compute(landscape))
                {
                    if (!path.Drawn)
                    {
                        html.Append($"<figure class=\"panel undefined\" data-rule=\"{Svg.Escape(path.Rule)}\"><div class=\"panel-title\">{Svg.Escape(path.Rule)}</div>");
                        html.Append($"<p class=\"reason\">Not defined on a 2-element tensor: {Svg.Escape(path.NotDefined ?? "no step was taken")}.</p></figure>");
                        continue;
                    }

                    html.Append($"<figure class=\"panel\" data-rule=\"{Svg.Escape(path.Rule)}\">{WidgetCharts.LandscapePanel(landscape, path, heat)}");
                    html.Append($"<figcaption>{Svg.Escape(WidgetCharts.Describe(landscape, path))}{(path.Note is null ? "" : $"<br><i>{Svg.Escape(path.Note)}</i>")}</figcaption></figure>");
                }

                html.Append("</div>");
            }
        }

        private static void Fact(StringBuilder html, string term, string value) => html.Append($"<dt>{term}</dt><dd>{Svg.Escape(value)}</dd>");

        private static void Section(StringBuilder html, string title, string introHtml) => html.Append($"<h2>{Svg.Escape(title)}</h2><p class=\"intro\">{introHtml}</p>");

        private static string Figure(string svg) => $"<figure>{svg}</figure>";

        private const string Css = @"
:root{--ink:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#fbfbfd;--card:#fff;--accent:#0f9d8a}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:32px 24px 64px}
h1{font-size:30px;letter-spacing:-.02em;margin:0 0 8px}h2{font-size:21px;margin:44px 0 6px;letter-spacing:-.01em;border-top:1px solid var(--line);padding-top:26px}
h3{font-size:16px;margin:22px 0 8px}.formula{font-weight:400;color:var(--muted);font-size:14px;margin-left:6px}
.lede{font-size:17px;color:var(--muted);max-width:820px;margin:0 0 16px}.intro{color:var(--muted);max-width:900px;margin:0 0 14px}
.setup{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0;font-size:14px}.setup dt{color:var(--muted)}.setup dd{margin:0;overflow-wrap:anywhere}
.verdicts{margin:14px 0 0;padding-left:20px;font-weight:600}.verdict{font-weight:600;margin:0 0 12px}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f5;padding:1px 5px;border-radius:4px}
.table-wrap{overflow-x:auto}
table.results{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;font-size:14px}
.results th{text-align:left;font-weight:600;color:var(--muted);background:#f4f6f9;padding:9px 12px;border-bottom:1px solid var(--line)}
.results td{padding:9px 12px;border-bottom:1px solid var(--line);vertical-align:top}.results td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.results td.name{white-space:nowrap}.results td.best{color:var(--accent);font-weight:700}
.results tr.figures td{border-bottom:none;padding-bottom:2px}.results tr.what td{color:var(--muted);font-size:12.5px;padding-top:0;padding-left:31px;overflow-wrap:anywhere}
@media (max-width:900px){table.results{font-size:12.5px}.results th,.results td{padding:7px 6px}.results tr.what td{padding-left:25px}}
.swatch{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:8px;vertical-align:-1px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px;overflow:hidden;min-width:0}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:16px;align-items:start}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,230px),1fr));gap:10px}
.panel{padding:6px}.panel figcaption{font-size:12px;color:var(--muted);line-height:1.4;overflow-wrap:anywhere}
.panel.undefined{background:#f6f6f8;display:flex;flex-direction:column}.panel-title{font-size:14px;font-weight:600;padding:4px 4px 0}
.reason{font-size:12.5px;color:var(--muted);margin:8px 4px;overflow-wrap:anywhere}
svg.chart{display:block;max-width:100%;height:auto;font-family:inherit}
.chart-title{font-size:14px;font-weight:600;fill:var(--ink)}.tick{font-size:11px;fill:var(--muted)}.axis-label{font-size:12px;fill:var(--muted)}
.label{font-size:12px;fill:var(--ink)}.value{font-size:11.5px;fill:var(--muted)}
.grid{stroke:#eceef2;stroke-width:1}.axis{stroke:#9aa3b2;stroke-width:1}.frame{fill:none;stroke:#9aa3b2}
.series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}.band{opacity:.16;stroke:none}
.trajectory{fill:none;stroke-width:2;stroke-linejoin:round}
.legend .legend-box{fill:none;stroke:none}.legend text{font-size:11.5px;fill:var(--ink)}
body.focus .series,body.focus .marker{opacity:.15}body.focus .series.on,body.focus .marker.on{opacity:1}body.focus .band{opacity:.04}
footer{margin-top:48px;color:var(--muted);font-size:13px}";

        // Hovering a legend entry picks out that optimizer's line and points in every chart.
        private const string Script = @"
document.querySelectorAll('g.legend').forEach(function(g){
  g.addEventListener('mouseenter',function(){document.body.classList.add('focus');
    document.querySelectorAll('.series,.marker').forEach(function(p){p.classList.toggle('on',p.dataset.series===g.dataset.series);});});
  g.addEventListener('mouseleave',function(){document.body.classList.remove('focus');});
});";
    }
}
