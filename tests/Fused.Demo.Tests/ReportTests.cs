using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using Fused.Demo.Optimizers;
using Fused.Demo.Report;
using Fused.Demo.Widgets;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>The HTML report: self-contained, one SVG per chart, each with drawn content; legends match series; ticks exact.</summary>
    public sealed class ReportTests
    {
        private static string[] Svgs(string html) => Regex.Matches(html, "<svg .*?</svg>", RegexOptions.Singleline).Select(m => m.Value).ToArray();

        private static string Title(string svg) => Regex.Match(svg, "aria-label=\"([^\"]*)\"").Groups[1].Value;

        [Fact]
        public void The_page_is_named_for_its_task_and_the_transformer_section_for_its_verdict_by_loss()
        {
            string model = Fused.Demo.Model.ModelTasks.Transformer;
            var setup = new RunSetup(16_384, 16_384, new Fused.Demo.Training.TrainingOptions { Seeds = 3, Model = model }, 2, "OpenBLAS", "", 0.5);
            string html = HtmlReport.Build(new ReportInput(setup, FakeRuns.Runs(3, model)));
            Assert.Contains("<h1>Character-level language modelling with generated optimizers</h1>", html);
            Assert.DoesNotContain("Fashion-MNIST with generated optimizers", html);
            Assert.Contains("won on transformer: test loss", html);
            Assert.Contains("<h1>Fashion-MNIST with generated optimizers</h1>", FakeRuns.Report());
        }

        [Fact]
        public void Every_chart_is_an_svg_with_drawn_content()
        {
            var svgs = Svgs(FakeRuns.Report());
            // Per model: accuracy, test loss, training loss, lr schedule; 2 memory bar charts; one panel per drawn rule
            // and landscape; decay; spectrum.
            int panels = Landscape.All.Sum(l => LandscapeTrajectories.Compute(l).Count(t => t.Drawn));
            Assert.Equal(4 + 2 + panels + 2, svgs.Length);
            foreach (string svg in svgs)
            {
                var paths = Regex.Matches(svg, "<path[^>]* d=\"(M[^\"]+)\"").Select(m => m.Groups[1].Value).Where(d => d.Contains(" L")).ToArray();
                var bars = Regex.Matches(svg, "<rect [^>]*width=\"([0-9.]+)\" height=\"([0-9.]+)\"[^>]*fill=\"#").Where(m => double.Parse(m.Groups[1].Value) > 0 && double.Parse(m.Groups[2].Value) > 0).ToArray();
                Assert.True(paths.Length + bars.Length > 0, $"chart '{Title(svg)}' draws nothing");
            }
        }

        [Fact]
        public void Every_catalog_rule_is_drawn_on_each_landscape_or_marked_not_defined_with_its_reason()
        {
            string html = FakeRuns.Report();
            foreach (var rule in CatalogRule.All)
            {
                var panels = Regex.Matches(html, $"<figure class=\"panel( undefined)?\" data-rule=\"{Regex.Escape(Svg.Escape(rule.Name))}\">(.*?)</figure>", RegexOptions.Singleline).ToArray();
                Assert.True(panels.Length == Landscape.All.Count, $"{rule.Name}: {panels.Length} panels for {Landscape.All.Count} landscapes");
                foreach (var panel in panels)
                {
                    if (panel.Groups[1].Success)
                        Assert.Matches("Not defined on a 2-element tensor: .{10,}", panel.Groups[2].Value);
                    else
                        Assert.Matches("class=\"trajectory\"[^>]* d=\"M[^\"]+ L", panel.Groups[2].Value);
                }
            }
        }

        [Fact]
        public void Every_legend_entry_names_a_drawn_series_of_its_chart_and_no_two_series_share_a_colour()
        {
            foreach (string svg in Svgs(FakeRuns.Report()).Where(s => s.Contains("class=\"legend\"")))
            {
                var legend = Regex.Matches(svg, "<g class=\"legend\" data-series=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
                var series = Regex.Matches(svg, "<path class=\"series\" data-series=\"([^\"]+)\" d=\"M[^\"]+\" stroke=\"(#[0-9a-f]{6})\"").Select(m => (Name: m.Groups[1].Value, Color: m.Groups[2].Value)).ToArray();
                Assert.NotEmpty(legend);
                Assert.Equal(legend.OrderBy(n => n), series.Select(s => s.Name).Distinct().OrderBy(n => n));
                Assert.Equal(series.Length, series.Select(s => s.Color).Distinct().Count());
            }
        }

        [Fact]
        public void Seeds_show_as_mean_and_std_in_the_table_and_as_bands_in_the_charts()
        {
            string html = FakeRuns.Report(seeds: 3);
            // AdamW's accuracies over seeds 42, 43, 44 as FakeRuns makes them, mean and sample std by hand.
            double[] acc = { 0.83 + 0.003 * (42 % 7), 0.83 + 0.003 * (43 % 7), 0.83 + 0.003 * (44 % 7) };
            double mean = acc.Average(), std = Math.Sqrt(acc.Sum(a => (a - mean) * (a - mean)) / 2);
            Assert.Contains($"{(mean * 100).ToString("F2", CultureInfo.InvariantCulture)} ± {(std * 100).ToString("F2", CultureInfo.InvariantCulture)} %", html);
            Assert.True(Regex.Matches(html, "<path class=\"band\"").Count >= 3 * FakeRuns.Optimizers.Length, "one band per optimizer in the accuracy, test loss and training loss charts");
            Assert.Contains("over 3 seeds", html);
        }

        [Fact]
        public void Report_is_self_contained()
        {
            string html = FakeRuns.Report();
            Assert.DoesNotContain("<script src", html);
            Assert.DoesNotContain("<link", html);
            Assert.DoesNotContain("https://", html);
            Assert.Contains("840 GB", html);
        }

        [Theory]
        [InlineData(0.775, 0.9, true, "77.5 %,80.0 %,82.5 %,85.0 %,87.5 %,90.0 %")]
        [InlineData(0.2, 2.2, false, "0.0,0.5,1.0,1.5,2.0,2.5")]
        [InlineData(1, 469, false, "0,100,200,300,400,500")]
        public void Ticks_cover_the_data_and_are_labelled_with_their_exact_values(double min, double max, bool percent, string expected)
        {
            var ticks = Svg.NiceTicks(min, max, 5);
            Assert.True(ticks[0] <= min && ticks[^1] >= max, $"ticks {string.Join(", ", ticks)} do not cover [{min}, {max}]");
            var labels = Svg.TickLabels(ticks, percent);
            Assert.Equal(expected, string.Join(",", labels));
            for (int i = 0; i < ticks.Length; i++)
                Assert.Equal(ticks[i] * (percent ? 100 : 1), double.Parse(labels[i].TrimEnd(' ', '%'), CultureInfo.InvariantCulture), 9);
        }

        [Fact]
        public void Every_registry_optimizer_and_catalog_rule_has_its_own_colour()
        {
            var names = OptimizerRegistry.All.Select(r => r.Name).Concat(CatalogRule.All.Select(r => r.Name)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            var colours = names.Select(Palette.For).ToArray();
            var clashes = names.Zip(colours).GroupBy(p => p.Second).Where(g => g.Count() > 1).Select(g => string.Join(" = ", g.Select(p => p.First))).ToArray();
            Assert.True(clashes.Length == 0, "same colour: " + string.Join("; ", clashes));
        }
    }
}
