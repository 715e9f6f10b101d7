using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// Adafactor (factored second moment, RMS clipping, relative step) run by the CPU runner against a
    /// float64 reference written here from the paper's algorithm and the reference implementations'
    /// conventions (row/column means of g² + ε₁, V̂ = R·C / mean(R), β₂ = 1 − t^decay, step
    /// min(maxStep, 1/√t)·max(ε₂, RMS(θ))), step by step with teacher forcing and the tolerance of
    /// <see cref="ReferenceTests"/>. Shapes cover a single element, a vector (one row: the column
    /// means are then the exact second moment), matrices with reduction-block tails, more rows than
    /// ColSum groups, and more columns than one unit of work.
    /// </summary>
    public sealed class AdafactorReferenceTests
    {
        private const double Tolerance = ReferenceTests.Tolerance;
        private const int Steps = 10;
        private static readonly (int rows, int cols)[] Shapes = { (1, 1), (1, 37), (3, 7), (37, 101), (64, 1031), (130, 5), (65, 4099) };
        private static readonly double[] GradScales = { 1e-4, 1e-2, 1, 30 };

        private static readonly Adafactor.Hyperparameters[] Sets =
        {
            new Adafactor.Hyperparameters(),
            new Adafactor.Hyperparameters { Eps2 = 1e-2f, ClipThreshold = 0.5f, DecayRate = -0.5f, MaxStep = 0.05f, WeightDecay = 0.1f },
        };

        private readonly ITestOutputHelper _out;
        public AdafactorReferenceTests(ITestOutputHelper output) { _out = output; }

        public static IEnumerable<object[]> Cases() =>
            from set in Enumerable.Range(0, Sets.Length)
            from shape in Shapes
            select new object[] { set, shape.rows, shape.cols };

        /// <summary>One step of Adafactor in float64; p, r, c are updated in place.</summary>
        internal static void Reference(double[] p, double[] g, double[] r, double[] c, int rows, int cols, Adafactor.Hyperparameters h, int t)
        {
            double eps1 = h.Eps1, eps2 = h.Eps2, clip = h.ClipThreshold, decay = h.DecayRate, maxStep = h.MaxStep, wd = h.WeightDecay;
            double beta2 = 1 - Math.Pow(t, decay);
            int n = rows * cols;
            double rmsParam = Math.Sqrt(p.Sum(x => x * x) / n);
            for (int i = 0; i < rows; i++)
            {
                double mean = 0;
                for (int j = 0; j < cols; j++) mean += g[i * cols + j] * g[i * cols + j] + eps1;
                r[i] = beta2 * r[i] + (1 - beta2) * (mean / cols);
            }
            for (int j = 0; j < cols; j++)
            {
                double mean = 0;
                for (int i = 0; i < rows; i++) mean += g[i * cols + j] * g[i * cols + j] + eps1;
                c[j] = beta2 * c[j] + (1 - beta2) * (mean / rows);
            }
            double rowMean = r.Average();
            var u = new double[n];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    u[i * cols + j] = g[i * cols + j] / Math.Sqrt(r[i] / rowMean * c[j]);
            double rmsU = Math.Sqrt(u.Sum(x => x * x) / n);
            double divisor = Math.Max(1, rmsU / clip);
            double alpha = Math.Min(maxStep, 1 / Math.Sqrt(t)) * Math.Max(eps2, rmsParam);
            for (int e = 0; e < n; e++) p[e] -= alpha * (u[e] / divisor + wd * p[e]);
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void MatchesFloat64ReferenceStepByStep(int set, int rows, int cols)
        {
            var h = Sets[set];
            double worst = 0;
            long compared = 0;
            foreach (int seed in new[] { 0, 1, 2 })
            {
                int shapeIndex = Array.IndexOf(Shapes, (rows, cols));
                double gScale = GradScales[(seed + shapeIndex + set) % GradScales.Length];
                var random = new Random(TestData.Seed("Adafactor", set, rows, cols, seed));
                int n = rows * cols;
                bool zeroParam = seed == 2;
                var param = zeroParam ? new float[n] : TestData.Gaussian(random, n, 1.0);
                var rowState = new float[rows];
                var colState = new float[cols];
                string where = $"Adafactor (set {set}, {rows}x{cols}, seed {seed}, grad scale {gScale:G3}{(zeroParam ? ", zero θ₀" : "")})";
                using var pool = new WorkerPool(1);
                using var runner = new CpuRuleRunner(Adafactor.Rule, pool);
                for (int t = 1; t <= Steps; t++)
                {
                    // Step 1 of seed 1 has a zero gradient: g² is ε₁ everywhere.
                    var grad = seed == 1 && t == 1 ? new float[n] : TestData.Gaussian(random, n, gScale);
                    var before = new[] { (float[])param.Clone(), (float[])rowState.Clone(), (float[])colState.Clone() };
                    var p = TestData.Widen(param);
                    var r = TestData.Widen(rowState);
                    var c = TestData.Widen(colState);
                    Reference(p, TestData.Widen(grad), r, c, rows, cols, h, t);

                    runner.Step(h.ToArray(), t, ShapeInfo.Matrix(rows, cols), param, grad, rowState, colState);

                    foreach (var (name, got, want, input) in new[] { ("param", param, p, before[0]), ("rowMeans", rowState, r, before[1]), ("colMeans", colState, c, before[2]) })
                    {
                        double rms = Math.Sqrt(want.Sum(x => x * x) / want.Length);
                        for (int i = 0; i < want.Length; i++)
                        {
                            double err = Math.Abs(got[i] - want[i]);
                            double scale = Math.Abs(want[i]) + rms + Math.Abs(input[i]);
                            Assert.True(err <= Tolerance * scale,
                                $"{where}: step {t}, {name}[{i}]: kernel {got[i]:R}, float64 reference {want[i]:R}, |diff| {err:E3} > {Tolerance:E0}·{scale:E3}");
                            if (scale > 0) worst = Math.Max(worst, err / scale);
                            compared++;
                        }
                    }
                }
            }
            ErrorLog.Record("Adafactor", worst);
            _out.WriteLine($"Adafactor set {set} {rows}x{cols}: {compared} values compared, worst |got-ref|/(|ref|+rms+|in|) = {worst:E3}");
        }

        [Fact]
        public void A_vector_keeps_the_exact_second_moment_in_its_column_state()
        {
            // One row: the column means are per-element means over one row, i.e. g² itself (plus ε₁).
            var random = new Random(7);
            int n = 53;
            var param = TestData.Gaussian(random, n, 1);
            var grad = TestData.Gaussian(random, n, 0.3);
            var rowState = new float[1];
            var colState = new float[n];
            using var runner = new CpuRuleRunner(Adafactor.Rule, new WorkerPool(1));
            runner.Step(new Adafactor.Hyperparameters().ToArray(), 1, ShapeInfo.Vector(n), param, grad, rowState, colState);
            for (int i = 0; i < n; i++)
                Assert.Equal((double)grad[i] * grad[i], colState[i], 6);
        }

        [Fact]
        public void State_of_the_wrong_length_is_a_clear_error()
        {
            using var runner = new CpuRuleRunner(Adafactor.Rule, new WorkerPool(1));
            var e = Assert.Throws<ArgumentException>(() => runner.Step(new Adafactor.Hyperparameters().ToArray(), 1, ShapeInfo.Matrix(4, 6),
                new float[24], new float[24], new float[6], new float[6]));
            Assert.Contains("rowMeans", e.Message);
            Assert.Contains("expected 4", e.Message);
        }
    }
}
