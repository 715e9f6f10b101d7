using System;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Search.Evaluation;
using Fused.Search.Storage;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>
    /// The meta-validation's arithmetic (mean, standard error, Student's t bound, the success criterion) against
    /// references written from the formulas, and `fused search validate` end to end at the smoke scale.
    /// </summary>
    public class MetaValidationTests
    {
        /// <summary>P(T ≤ t) for Student's t with ν degrees of freedom: with x = √ν·tan θ the density becomes cos^(ν−1) θ on (−π/2, π/2).</summary>
        private static double StudentCdf(double t, int nu)
        {
            double Integral(double upper)
            {
                const int n = 20000; // Simpson, even
                double a = -Math.PI / 2, h = (upper - a) / n, sum = 0;
                for (int i = 0; i <= n; i++)
                {
                    double w = i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2;
                    sum += w * Math.Pow(Math.Cos(a + i * h), nu - 1);
                }
                return sum * h / 3;
            }
            return Integral(Math.Atan(t / Math.Sqrt(nu))) / Integral(Math.PI / 2);
        }

        private static double StudentQuantile95(int nu)
        {
            double lo = 0, hi = 20;
            for (int i = 0; i < 60; i++)
            {
                double mid = (lo + hi) / 2;
                if (StudentCdf(mid, nu) < 0.95) lo = mid; else hi = mid;
            }
            return (lo + hi) / 2;
        }

        [Fact]
        public void The_t_quantiles_are_Students_one_sided_95_percent_points()
        {
            for (int nu = 1; nu <= 10; nu++)
                Assert.InRange(MetaTaskResult.StudentT95Quantile(nu) - StudentQuantile95(nu), -6e-4, 6e-4);
            Assert.Equal(Math.Tan(0.45 * Math.PI), StudentQuantile95(1), 6); // the reference itself: Cauchy's closed form
        }

        [Theory]
        [InlineData(2)]
        [InlineData(5)]
        [InlineData(9)]
        public void A_tasks_bound_is_mean_minus_t_times_the_standard_error_of_the_seeds(int seeds)
        {
            var rng = new Random(4242 + seeds);
            var speedups = Enumerable.Range(0, seeds).Select(_ => rng.NextDouble() * 2 - 0.7).ToArray();
            double mean = speedups.Sum() / seeds;
            double sd = Math.Sqrt(speedups.Sum(v => (v - mean) * (v - mean)) / (seeds - 1));
            double se = sd / Math.Sqrt(seeds);
            var r = MetaTaskResult.FromSpeedups("t", 0.01, speedups);
            Assert.Equal(mean, r.Mean, 12);
            Assert.Equal(se, r.StandardError, 12);
            Assert.Equal(mean - StudentQuantile95(seeds - 1) * se, r.LowerBound95, 3);
        }

        private static MetaTaskResult Task(params double[] speedups) => MetaTaskResult.FromSpeedups("t", 0.01, speedups);

        [Fact]
        public void Success_needs_two_clear_wins_and_no_task_below_the_floor()
        {
            var win = Task(0.30, 0.25, 0.35, 0.28, 0.32);          // mean 0.30, bound well above 0
            var noisyWin = Task(0.90, -0.40, 0.80, -0.30, 0.50);   // mean 0.30, bound below 0: not a win
            var small = Task(0.05, 0.06, 0.04, 0.05, 0.05);        // bound above 0, mean below 0.1: not a win
            var slightLoss = Task(-0.08, -0.09, -0.07, -0.08, -0.08);
            var loss = Task(-0.12, -0.10, -0.13, -0.11, -0.12);    // mean −0.116: below the floor
            Assert.True(new MetaResult("p", new[] { win, win, slightLoss }).Succeeds);
            Assert.True(new MetaResult("p", new[] { win, win, win }).Succeeds);
            Assert.False(new MetaResult("p", new[] { win, win, loss }).Succeeds);
            Assert.False(new MetaResult("p", new[] { win, noisyWin, small }).Succeeds);
            Assert.False(new MetaResult("p", new[] { win, small, small }).Succeeds);
        }

        /// <summary>
        /// AdamW's own program, validated as a file in a fair-start database, is tuned AdamW on every held-out task (its β2
        /// and wd read relative to AdamW's tuning): every paired seed scores 0 at AdamW's tuned lr, while Lion does not.
        /// A second run reads AdamW's tuning from the database and prints the same table.
        /// </summary>
        [Fact]
        public void Validating_AdamW_itself_gives_zero_on_every_seed_and_the_cache_reproduces_the_table()
        {
            if (!FashionMnist.Available(FashionMnist.DefaultDirectory, true) || !FashionMnist.Available(FashionMnist.DefaultDirectory, false))
            {
                Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "Fashion-MNIST must be installed on CI (dataset-fashion-mnist)");
                return;
            }
            string dir = Path.Combine(Path.GetTempPath(), "fused-validate-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string db = Path.Combine(dir, "search.db");
                using (SearchSession.Open(new SearchOptions { DatabasePath = db, Proxies = ProxySuiteKind.Tiny, MaxGenerations = 0, Threads = 1 })) { }
                string file = Path.Combine(dir, "adamw.ir");
                File.WriteAllText(file, WarmStarts.AdamWText);
                var request = new MetaValidationRequest { DatabasePath = db, Scale = MetaValidationScale.Smoke, Program = file, Threads = 2 };

                var first = new StringWriter();
                var rows = MetaValidationRunner.Validate(first, request, CancellationToken.None);
                var adamw = rows.Single(r => r.Program == "adamw");
                var lion = rows.Single(r => r.Program == MetaValidationRunner.LionControl);
                Assert.All(adamw.Tasks, t => Assert.All(t.Speedups, s => Assert.Equal(0.0, s)));
                Assert.Contains(lion.Tasks.SelectMany(t => t.Speedups), s => Math.Abs(s) > 0.05);
                Assert.False(adamw.Succeeds);

                using (var d = new SearchDatabase(db))
                    Assert.NotNull(d.GetMeta("metavalidation_smoke:" + "adamw_tuned:" + new MetaValidation(MetaValidationScale.Smoke).Tasks[0].Name + ":1"));
                var second = new StringWriter();
                MetaValidationRunner.Validate(second, request, CancellationToken.None);
                static string Table(StringWriter w) => string.Join("\n", w.ToString().Split('\n').Where(l => l.StartsWith('|') || l.StartsWith("  ")));
                Assert.Equal(Table(first), Table(second));
                Assert.Contains("not met by adamw", first.ToString());

                // AdamW's measured tuning carried to a new database as a file: imported, not re-measured, same table.
                string file2 = Path.Combine(dir, "adamw-heldout-smoke.cache");
                using (var d = new SearchDatabase(db))
                    ReferenceCacheFile.Write(file2, d.MetaWithPrefix("metavalidation_smoke:"));
                string fresh = Path.Combine(dir, "fresh.db");
                using (SearchSession.Open(new SearchOptions { DatabasePath = fresh, Proxies = ProxySuiteKind.Tiny, MaxGenerations = 0, Threads = 1 })) { }
                var third = new StringWriter();
                MetaValidationRunner.Validate(third, request with { DatabasePath = fresh, AdamWCacheFile = file2 }, CancellationToken.None);
                Assert.Contains("18 of 18 entries imported", third.ToString());
                Assert.Equal(Table(first), Table(third));
            }
            finally { Directory.Delete(dir, recursive: true); }
        }
    }
}
