using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Fused.Demo.Report;
using Fused.Demo.Training;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Demo.Tests
{
    /// <summary>
    /// The HTML report in a real browser: Debian's Chromium (/usr/bin/chromium, package `chromium`), driven headless by
    /// Microsoft.Playwright through the Node driver shipped inside its NuGet package (no `playwright install`; no
    /// browser download). The report is built from synthetic runs plus the real widget computations, so no training
    /// data is needed. Under CI=true a missing Chromium fails; elsewhere the test says so and returns.
    /// </summary>
    public sealed class ReportBrowserTests
    {
        public const string ChromiumPath = "/usr/bin/chromium";

        private static readonly string[] ChromiumArgs =
        {
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        };

        private readonly ITestOutputHelper _output;

        public ReportBrowserTests(ITestOutputHelper output) => _output = output;

        private static RunResult FakeRun(string name, double accuracy) => new(
            name, name + " on every tensor", 20,
            Enumerable.Range(0, 20).Select(i => (float)(2.3 * Math.Exp(-i / 8.0) + 0.3)).ToArray(),
            new[] { new EvaluationPoint(10, 0.5, 0.9, accuracy - 0.05), new EvaluationPoint(20, 1, 0.7, accuracy) },
            0.35, accuracy, 0.7, 12.5, 1.5, 1_880_000, 235_146, 1.2);

        private bool ChromiumAvailable()
        {
            if (File.Exists(ChromiumPath)) return true;
            string message = $"{ChromiumPath} not found: install Debian's Chromium (`apt-get install -y chromium`; `./build.sh deps` does it).";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
                Assert.Fail("CI=true but " + message);
            _output.WriteLine("SKIPPED: " + message);
            return false;
        }

        // Per chart: its title, size on the page, and the drawn marks (geometry from getBBox, so what the browser laid out).
        private const string ChartsScript = """
            () => [...document.querySelectorAll('svg')].map(svg => {
              const box = svg.getBoundingClientRect();
              const drawn = el => !el.closest('clipPath') && !el.closest('.legend');
              const size = el => { const b = el.getBBox(); return [b.width, b.height]; };
              const paths = [...svg.querySelectorAll('path')].filter(drawn)
                .filter(p => (p.getAttribute('d') || '').trim().length > 0)
                .filter(p => { const [w, h] = size(p); return w > 0 || h > 0; });
              const rects = [...svg.querySelectorAll('rect')].filter(drawn)
                .filter(r => !r.classList.contains('frame') && (r.getAttribute('fill') || '').startsWith('#'))
                .filter(r => { const [w, h] = size(r); return w > 0 && h > 0; });
              const circles = [...svg.querySelectorAll('circle')].filter(drawn)
                .filter(c => { const [w, h] = size(c); return w > 0 && h > 0; });
              const images = [...svg.querySelectorAll('image')]
                .filter(i => { const [w, h] = size(i); return w > 0 && h > 0; });
              return {
                title: svg.getAttribute('aria-label') || '(untitled)',
                width: box.width, height: box.height,
                paths: paths.length, rects: rects.length, circles: circles.length, images: images.length,
                series: svg.querySelectorAll('path.series, path.trajectory').length,
                drawnSeries: [...svg.querySelectorAll('path.series, path.trajectory')].filter(p => paths.includes(p)).length,
              };
            })
            """;

        [Fact]
        public async Task Report_renders_in_Chromium_without_errors_and_every_chart_draws()
        {
            if (!ChromiumAvailable()) return;
            var watch = Stopwatch.StartNew();
            string folder = Path.Combine(Path.GetTempPath(), "fused-report-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(folder);
            string file = Path.Combine(folder, "report.html");
            var setup = new RunSetup(2000, 10000, new TrainingOptions(), 2, "OpenBLAS", "", 0.5);
            File.WriteAllText(file, HtmlReport.Build(new ReportInput(setup, new[] { FakeRun("AdamW", 0.85), FakeRun("Lion", 0.83), FakeRun("Muon+AdamW", 0.86) })));
            _output.WriteLine($"report: {file} ({new FileInfo(file).Length:N0} bytes, built in {watch.Elapsed.TotalSeconds:F1} s)");

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ChromiumArgs,
                Timeout = 60_000,
            });
            _output.WriteLine($"Chromium {browser.Version} via Playwright, launched at {watch.Elapsed.TotalSeconds:F1} s");
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });

            var problems = new List<string>();
            page.Console += (_, message) => { if (message.Type is "error" or "warning") lock (problems) problems.Add($"console {message.Type}: {message.Text}"); };
            page.PageError += (_, error) => { lock (problems) problems.Add("page error: " + error); };
            page.RequestFailed += (_, request) => { lock (problems) problems.Add($"request failed: {request.Url} ({request.Failure})"); };
            page.Request += (_, request) =>
            {
                // Self-contained: the only loads are the file itself and inline data: URLs.
                if (!request.Url.StartsWith("file:", StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
                    lock (problems) problems.Add("external request: " + request.Url);
            };

            var response = await page.GotoAsync(new Uri(file).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = 30_000 });
            Assert.NotNull(response);
            Assert.True(response!.Ok, $"loading {file}: status {response.Status}");
            Assert.Equal("Fused · Fashion-MNIST with generated optimizers", await page.TitleAsync());

            var charts = (await page.EvaluateAsync<JsonElement>(ChartsScript)).EnumerateArray().Select(c => new
            {
                Title = c.GetProperty("title").GetString()!,
                Width = c.GetProperty("width").GetDouble(),
                Height = c.GetProperty("height").GetDouble(),
                Paths = c.GetProperty("paths").GetInt32(),
                Rects = c.GetProperty("rects").GetInt32(),
                Circles = c.GetProperty("circles").GetInt32(),
                Images = c.GetProperty("images").GetInt32(),
                Series = c.GetProperty("series").GetInt32(),
                DrawnSeries = c.GetProperty("drawnSeries").GetInt32(),
            }).ToArray();
            foreach (var c in charts)
                _output.WriteLine($"  {c.Title}: {c.Width:F0}×{c.Height:F0} px, {c.Paths} paths ({c.DrawnSeries} of {c.Series} series drawn), {c.Rects} bars, {c.Circles} dots, {c.Images} images");

            // Loss, accuracy, 2 memory bar charts, 3 landscapes, decay, spectrum (as ReportTests counts in the markup).
            Assert.Equal(9, charts.Length);
            foreach (var c in charts)
            {
                Assert.True(c.Width >= 200 && c.Height >= 100, $"chart '{c.Title}' is laid out at {c.Width}×{c.Height} px");
                Assert.True(c.Paths + c.Rects + c.Circles > 0, $"chart '{c.Title}' draws nothing the browser can measure");
                Assert.True(c.DrawnSeries == c.Series, $"chart '{c.Title}': only {c.DrawnSeries} of its {c.Series} series/trajectory paths have drawn geometry");
            }

            Assert.All(charts.Where(c => c.Title is "Training loss" or "Test accuracy"), c => Assert.True(c.Series >= 3 && c.Paths >= 3, $"'{c.Title}': {c.Paths} drawn paths for 3 runs"));
            Assert.All(charts.Where(c => c.Title.StartsWith("Optimizer state", StringComparison.Ordinal)), c => Assert.Equal(3, c.Rects));
            var landscapes = charts.Where(c => c.Images > 0).ToArray();
            Assert.Equal(3, landscapes.Length);
            Assert.All(landscapes, c => Assert.Equal(Widgets.LandscapeTrajectories.PicturedRules.Count, c.DrawnSeries)); // one trajectory per pictured rule

            byte[] png = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true, Type = ScreenshotType.Png });
            string shot = Path.Combine(folder, "report.png");
            await File.WriteAllBytesAsync(shot, png);
            Assert.True(png.Length > 8 && png[0] == 0x89 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', "the screenshot is not a PNG");
            int width = BigEndian(png, 16), height = BigEndian(png, 20);
            _output.WriteLine($"screenshot: {shot} ({png.Length:N0} bytes, {width}×{height} px); total {watch.Elapsed.TotalSeconds:F1} s");
            Assert.Equal(1280, width);
            Assert.True(height > 2000, $"full-page screenshot is only {height} px tall");
            Assert.True(png.Length > 150_000, $"screenshot is {png.Length:N0} bytes: too small for a page of charts (blank?)");

            // The one script works: hovering a rule's name highlights its paths.
            await page.HoverAsync(".legend-list li");
            Assert.True(await page.EvaluateAsync<bool>("() => document.body.classList.contains('focus') && document.querySelectorAll('.trajectory.on').length > 0"), "hovering a legend entry did not highlight its trajectories");

            lock (problems) Assert.True(problems.Count == 0, "the browser reported:\n" + string.Join("\n", problems));
            if (Environment.GetEnvironmentVariable("FUSED_KEEP_TEMP") != "1") Directory.Delete(folder, recursive: true);
        }

        private static int BigEndian(byte[] bytes, int offset) => (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
    }
}
