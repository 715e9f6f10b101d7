using System;
using System.Linq;
using System.Text.RegularExpressions;
using Fused.Demo.Report;
using Fused.Demo.Training;
using Fused.Demo.Widgets;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>The HTML report: self-contained, one SVG per chart, each with drawn content.</summary>
    public sealed class ReportTests
    {
        private static RunResult FakeRun(string name, double accuracy) => new(
            name, name + " on every tensor", 20,
            Enumerable.Range(0, 20).Select(i => (float)(2.3 * Math.Exp(-i / 8.0) + 0.3)).ToArray(),
            new[] { new EvaluationPoint(10, 0.5, 0.9, accuracy - 0.05), new EvaluationPoint(20, 1, 0.7, accuracy) },
            0.35, accuracy, 0.7, 12.5, 1.5, 1_880_000, 235_146, 1.2);

        private static string BuildReport()
        {
            var setup = new RunSetup(2000, 10000, new TrainingOptions(), 2, "OpenBLAS", "", 0.5);
            return HtmlReport.Build(new ReportInput(setup, new[] { FakeRun("AdamW", 0.85), FakeRun("Lion", 0.83), FakeRun("Muon+AdamW", 0.86) }));
        }

        [Fact]
        public void Every_chart_is_an_svg_with_drawn_content()
        {
            string html = BuildReport();
            var svgs = Regex.Matches(html, "<svg .*?</svg>", RegexOptions.Singleline).Select(m => m.Value).ToArray();
            // Loss, accuracy, 2 memory bar charts, 3 landscapes, decay, spectrum.
            Assert.Equal(9, svgs.Length);
            foreach (string svg in svgs)
            {
                string title = Regex.Match(svg, "aria-label=\"([^\"]*)\"").Groups[1].Value;
                var paths = Regex.Matches(svg, "<path[^>]* d=\"(M[^\"]+)\"").Select(m => m.Groups[1].Value).Where(d => d.Contains(" L")).ToArray();
                var bars = Regex.Matches(svg, "<rect [^>]*width=\"([0-9.]+)\" height=\"([0-9.]+)\"[^>]*fill=\"#").Where(m => double.Parse(m.Groups[1].Value) > 0 && double.Parse(m.Groups[2].Value) > 0).ToArray();
                Assert.True(paths.Length + bars.Length > 0, $"chart '{title}' draws nothing");
            }
        }

        [Fact]
        public void Line_charts_and_landscapes_have_path_data_for_every_series()
        {
            string html = BuildReport();
            var landscapes = Regex.Matches(html, "<svg .*?</svg>", RegexOptions.Singleline).Select(m => m.Value).Where(s => s.Contains("class=\"trajectory\"")).ToArray();
            Assert.Equal(Landscape.All.Count, landscapes.Length);
            foreach (string svg in landscapes)
                Assert.Equal(Widgets.LandscapeTrajectories.PicturedRules.Count, Regex.Matches(svg, "class=\"trajectory\"[^>]* d=\"M[^\"]+ L").Count);
            Assert.Contains("<image", html);
            Assert.Contains("data:image/png;base64,", html);
        }

        [Fact]
        public void Report_is_self_contained()
        {
            string html = BuildReport();
            Assert.DoesNotContain("<script src", html);
            Assert.DoesNotContain("<link", html);
            Assert.DoesNotContain("https://", html);
            Assert.Contains("840 GB", html);
        }
    }
}
