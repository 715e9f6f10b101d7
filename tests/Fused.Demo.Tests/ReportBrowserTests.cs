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
    /// data is needed. Under CI=true a missing Chromium fails; elsewhere the test says so and returns. Layout is checked at
    /// 1400 and 820 px: every legend entry has a drawn series, no text leaves its box.
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

        // Every legend entry against the drawn series of its chart, and every piece of text against the box it must stay in:
        // SVG text inside its chart's viewBox (and a legend's text inside its entry), HTML text not wider than its element,
        // and the page not wider than the window.
        private const string LayoutScript = """
            () => {
              const problems = [];
              const svgs = [...document.querySelectorAll('svg')];
              for (const svg of svgs) {
                const title = svg.getAttribute('aria-label') || '(untitled)';
                const drawn = [...svg.querySelectorAll('path.series')].filter(p => { const b = p.getBBox(); return b.width > 0 || b.height > 0; });
                for (const entry of svg.querySelectorAll('g.legend')) {
                  const name = entry.dataset.series;
                  if (!drawn.some(p => p.dataset.series === name)) problems.push(`${title}: legend entry '${name}' has no drawn series`);
                  const box = entry.querySelector('rect').getBBox(), text = entry.querySelector('text').getBBox();
                  if (text.x < box.x - 0.5 || text.x + text.width > box.x + box.width + 0.5) problems.push(`${title}: legend text '${name}' (${text.width.toFixed(1)} px) overflows its entry (${box.width.toFixed(1)} px)`);
                }
                const view = svg.viewBox.baseVal;
                for (const t of svg.querySelectorAll('text')) {
                  const b = t.getBBox();
                  if (t.closest('g[transform]') || t.hasAttribute('transform')) continue;
                  if (b.x < view.x - 0.5 || b.y < view.y - 0.5 || b.x + b.width > view.x + view.width + 0.5 || b.y + b.height > view.y + view.height + 0.5)
                    problems.push(`${title}: text '${t.textContent}' at ${b.x.toFixed(0)},${b.y.toFixed(0)} (${b.width.toFixed(0)}×${b.height.toFixed(0)}) is outside the ${view.width}×${view.height} chart`);
                }
              }
              for (const el of document.querySelectorAll('td, th, figcaption, p, dd, dt, li, h1, h2, h3, .panel-title, figure, .table-wrap')) {
                if (el.scrollWidth > el.clientWidth + 1) problems.push(`<${el.tagName.toLowerCase()} class='${el.className}'> '${el.textContent.slice(0, 40)}' is ${el.scrollWidth} px wide in a ${el.clientWidth} px box`);
              }
              const page = document.documentElement;
              if (page.scrollWidth > window.innerWidth) problems.push(`the page is ${page.scrollWidth} px wide in a ${window.innerWidth} px window`);
              return { problems, legends: document.querySelectorAll('g.legend').length, texts: document.querySelectorAll('svg text').length };
            }
            """;

        [Theory]
        [InlineData(1400)]
        [InlineData(820)]
        public async Task Every_legend_entry_has_a_drawn_series_and_no_text_overflows_its_box(int width)
        {
            if (!ChromiumAvailable()) return;
            string folder = Path.Combine(Path.GetTempPath(), "fused-report-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(folder);
            string file = Path.Combine(folder, "report.html");
            File.WriteAllText(file, FakeRuns.Report());
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs, Timeout = 60_000 });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = 900 } });
            await page.GotoAsync(new Uri(file).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = 30_000 });
            var layout = await page.EvaluateAsync<JsonElement>(LayoutScript);
            var problems = layout.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToArray();
            int legends = layout.GetProperty("legends").GetInt32();
            _output.WriteLine($"{width} px: {legends} legend entries, {layout.GetProperty("texts").GetInt32()} SVG texts checked; {problems.Length} problem(s)");
            foreach (string p in problems) _output.WriteLine("  " + p);
            // 3 optimizers in accuracy, test loss and training loss, the schedule's one line, the decay chart's four.
            Assert.Equal(3 * FakeRuns.Optimizers.Length + 1 + 4, legends);
            Assert.True(problems.Length == 0, $"at {width} px:\n" + string.Join("\n", problems));
            if (Environment.GetEnvironmentVariable("FUSED_KEEP_TEMP") != "1") Directory.Delete(folder, recursive: true);
        }

        [Fact]
        public async Task Report_renders_in_Chromium_without_errors_and_every_chart_draws()
        {
            if (!ChromiumAvailable()) return;
            var watch = Stopwatch.StartNew();
            string folder = Path.Combine(Path.GetTempPath(), "fused-report-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(folder);
            string file = Path.Combine(folder, "report.html");
            File.WriteAllText(file, FakeRuns.Report());
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

            // Per model 4 line charts, 2 memory bar charts, a panel per drawn rule and landscape, decay, spectrum (as ReportTests counts).
            var paths = Widgets.Landscape.All.Select(l => Widgets.LandscapeTrajectories.Compute(l)).ToArray();
            Assert.Equal(4 + 2 + paths.Sum(p => p.Count(t => t.Drawn)) + 2, charts.Length);
            foreach (var c in charts)
            {
                Assert.True(c.Width >= 150 && c.Height >= 100, $"chart '{c.Title}' is laid out at {c.Width}×{c.Height} px");
                Assert.True(c.Paths + c.Rects + c.Circles > 0, $"chart '{c.Title}' draws nothing the browser can measure");
                Assert.True(c.DrawnSeries == c.Series, $"chart '{c.Title}': only {c.DrawnSeries} of its {c.Series} series/trajectory paths have drawn geometry");
            }

            Assert.All(charts.Where(c => c.Title.EndsWith("test accuracy", StringComparison.Ordinal) || c.Title.EndsWith("test loss", StringComparison.Ordinal)),
                c => Assert.True(c.DrawnSeries == 3 && c.Circles == 3 * 2, $"'{c.Title}': {c.DrawnSeries} drawn lines and {c.Circles} points for 3 optimizers × 2 evaluations"));
            Assert.All(charts.Where(c => c.Title.StartsWith("Optimizer state", StringComparison.Ordinal)), c => Assert.Equal(3, c.Rects));
            var landscapes = charts.Where(c => c.Images > 0).ToArray();
            Assert.Equal(paths.Sum(p => p.Count(t => t.Drawn)), landscapes.Length);
            Assert.All(landscapes, c => Assert.Equal(1, c.DrawnSeries)); // one trajectory per small multiple

            byte[] png = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true, Type = ScreenshotType.Png });
            string shot = Path.Combine(folder, "report.png");
            await File.WriteAllBytesAsync(shot, png);
            Assert.True(png.Length > 8 && png[0] == 0x89 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', "the screenshot is not a PNG");
            int width = BigEndian(png, 16), height = BigEndian(png, 20);
            _output.WriteLine($"screenshot: {shot} ({png.Length:N0} bytes, {width}×{height} px); total {watch.Elapsed.TotalSeconds:F1} s");
            Assert.Equal(1280, width);
            Assert.True(height > 2000, $"full-page screenshot is only {height} px tall");
            Assert.True(png.Length > 150_000, $"screenshot is {png.Length:N0} bytes: too small for a page of charts (blank?)");

            // The one script works: hovering a legend entry picks out that optimizer's lines.
            await page.HoverAsync("g.legend[data-series='Lion']");
            Assert.True(await page.EvaluateAsync<bool>("() => document.body.classList.contains('focus') && [...document.querySelectorAll('.series.on')].every(p => p.dataset.series === 'Lion') && document.querySelectorAll('.series.on').length >= 3"), "hovering a legend entry did not pick out its series");

            lock (problems) Assert.True(problems.Count == 0, "the browser reported:\n" + string.Join("\n", problems));
            if (Environment.GetEnvironmentVariable("FUSED_KEEP_TEMP") != "1") Directory.Delete(folder, recursive: true);
        }

        private static int BigEndian(byte[] bytes, int offset) => (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
    }
}
