using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Matrix;
using ILGPU;
using ILGPU.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Ilgpu.Tests
{
    /// <summary>
    /// Newton–Schulz on the device (<see cref="IlgpuNewtonSchulz"/> with Fused's <see cref="TiledGemm"/>) on ILGPU's CPU
    /// accelerator at small sizes — wide, tall, square, tile edges, one row — against Muon's Newton–Schulz in float64
    /// written here from the seeds' reference code (X = G / (‖G‖ + 1e-7); on the small side, five times A = X·Xᵀ,
    /// B = b·A + c·A², X = a·X + B·X with (a, b, c) = (3.4445, −4.7750, 2.0315)). The device sums in float32 and in
    /// another order than the host's BLAS, so the comparison has a tolerance: 2e-5 of the largest |X|. Measured here:
    /// 3e-7 to 1.6e-6 (float32 rounding through five iterations of a polynomial whose slope reaches ~3.4); the bound is
    /// about ten times that, and far below what a wrong coefficient, transpose or tile edge gives (1e-2 and more).
    /// </summary>
    [Collection(CpuAcceleratorCollection.Name)]
    public sealed class IlgpuNewtonSchulzTests
    {
        private const double Tolerance = 2e-5;
        private readonly CpuAcceleratorFixture _fixture;
        private readonly ITestOutputHelper _output;

        public IlgpuNewtonSchulzTests(CpuAcceleratorFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        [Theory]
        [InlineData(7, 13)]
        [InlineData(33, 9)]
        [InlineData(20, 20)]
        [InlineData(21, 34)]
        [InlineData(1, 17)]
        public void Device_Newton_Schulz_matches_a_float64_reference_from_the_formula(int rows, int cols)
        {
            var rnd = new Random(rows * 1000 + cols);
            var g = Enumerable.Range(0, rows * cols).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
            var device = OnDevice(g, rows, cols);
            var reference = Reference(g, rows, cols);
            double scale = reference.Max(Math.Abs), worst = 0;
            for (int i = 0; i < g.Length; i++) worst = Math.Max(worst, Math.Abs(device[i] - reference[i]) / scale);
            _output.WriteLine($"{rows}x{cols}: max |device - float64| = {worst:G3} of max |X| ({scale:G4})");
            Assert.True(worst <= Tolerance, $"{rows}x{cols}: device Newton-Schulz differs from the float64 reference by {worst:G3} of max |X| (allowed {Tolerance})");
            // And it did orthogonalise: the result is not the normalised input.
            double norm = Math.Sqrt(g.Sum(v => (double)v * v));
            Assert.True(Enumerable.Range(0, g.Length).Max(i => Math.Abs(device[i] - g[i] / norm)) > 1e-2, "the device returned its input");
        }

        [Fact]
        public void The_host_pass_and_the_device_pass_agree_within_the_same_tolerance()
        {
            const int rows = 24, cols = 31;
            var rnd = new Random(5);
            var g = Enumerable.Range(0, rows * cols).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
            var host = (float[])g.Clone();
            new MatrixPasses(new NewtonSchulzOptions(useSymmetricProducts: false, gramAspectRatioThreshold: double.PositiveInfinity)).Orthogonalize(host.AsSpan(), rows, cols);
            var device = OnDevice(g, rows, cols);
            double scale = host.Max(v => Math.Abs(v));
            double worst = Enumerable.Range(0, g.Length).Max(i => Math.Abs((double)device[i] - host[i])) / scale;
            _output.WriteLine($"host vs device: {worst:G3} of max |X|");
            Assert.True(worst <= Tolerance, $"host and device Newton-Schulz differ by {worst:G3} of max |X|");
        }

        [Fact]
        public void The_tiled_GEMM_computes_every_transpose_combination()
        {
            var rnd = new Random(3);
            const int m = 9, n = 7, k = 11;
            var a = Enumerable.Range(0, m * k).Select(_ => (float)(rnd.NextDouble() - 0.5)).ToArray();
            var b = Enumerable.Range(0, k * n).Select(_ => (float)(rnd.NextDouble() - 0.5)).ToArray();
            var acc = _fixture.Accelerator;
            using var gemm = new TiledGemm(acc, acc.LoadKernel);
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    // Stored transposed when asked, so op(A) and op(B) are always the same matrices.
                    var aStored = ta ? Transpose(a, m, k) : a;
                    var bStored = tb ? Transpose(b, k, n) : b;
                    using var da = acc.Allocate1D(aStored);
                    using var db = acc.Allocate1D(bStored);
                    using var dc = acc.Allocate1D<float>(m * n);
                    gemm.Gemm(ta, tb, m, n, k, 0.5f, da.View, db.View, dc.View);
                    var c = dc.GetAsArray1D();
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double expected = 0;
                            for (int p = 0; p < k; p++) expected += (double)a[i * k + p] * b[p * n + j];
                            Assert.True(Math.Abs(c[i * n + j] - 0.5 * expected) < 1e-6, $"transA {ta}, transB {tb}: C[{i},{j}] = {c[i * n + j]}, expected {0.5 * expected}");
                        }
                }
            _output.WriteLine($"{gemm.Name}");
        }

        [Fact]
        public void Muon_through_the_backend_with_Newton_Schulz_on_the_device_runs_it_there()
        {
            using var onDevice = new IlgpuBackend(Muon.Rule, _fixture.Accelerator, placement: NewtonSchulzPlacement.Device);
            using var auto = new IlgpuBackend(Muon.Rule, _fixture.Accelerator);
            Assert.StartsWith("tiled GEMM", onDevice.NewtonSchulzRunsOn);
            Assert.Null(onDevice.HostMatrix);
            Assert.Equal("host", auto.NewtonSchulzRunsOn); // the CPU accelerator keeps the host pass (and the CPU's bits)

            // One step over a matrix: the element passes' launches plus Newton-Schulz's (3 for the norm, 1 to scale, 5 per
            // iteration), and one more wait than the passes need (the norm's partials), none for the temporary.
            var schedule = Muon.Rule.Schedule;
            var shapes = new[] { Fused.ShapeInfo.Matrix(9, 14) };
            var executor = new Fused.Execution.ScheduleExecutor(schedule, onDevice);
            onDevice.SetTensors(shapes);
            executor.SetShapes(shapes);
            int grad = Enumerable.Range(0, schedule.ProgramBufferCount).Single(b => schedule.Buffers[b].Name == "grad");
            onDevice.Upload(0, grad, Enumerable.Range(0, 9 * 14).Select(i => (float)Math.Sin(i)).ToArray()); // a zero matrix stops after its norm
            long waits = onDevice.Synchronizations;
            executor.Step(Muon.Rule.DefaultHyperparameters(), 1);
            long passLaunches = schedule.Passes.Sum(p => 1 + 2 * p.Reductions.Count + p.ColumnSums.Count);
            int readBacks = schedule.Passes.Count(p => p.RowWise || p.Reductions.Count > 0 || p.ColumnSums.Count > 0);
            Assert.Equal(passLaunches + 4 + 5 * NewtonSchulzOptions.Default.Steps, onDevice.Launches);
            Assert.Equal(readBacks + 1 + 1, onDevice.Synchronizations - waits); // + the norm, + the end of the step
        }

        private float[] OnDevice(float[] g, int rows, int cols)
        {
            var acc = _fixture.Accelerator;
            using var ns = new IlgpuNewtonSchulz(acc, new TiledGemm(acc, acc.LoadKernel), acc.LoadAutoGroupedKernel);
            using var x = acc.Allocate1D(g);
            ns.Orthogonalize(x.View, rows, cols);
            return x.GetAsArray1D();
        }

        private static float[] Transpose(float[] x, int rows, int cols)
        {
            var t = new float[x.Length];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
            return t;
        }

        /// <summary>The seeds' Muon Newton–Schulz in float64.</summary>
        private static double[] Reference(float[] g, int rows, int cols)
        {
            const double a = 3.4445, b = -4.7750, c = 2.0315;
            bool tall = rows > cols;
            int r = tall ? cols : rows, q = tall ? rows : cols; // X is r×q, r ≤ q
            double norm = Math.Sqrt(g.Sum(v => (double)v * v));
            var x = new double[r, q];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                {
                    double v = g[i * cols + j] / (norm + 1e-7);
                    if (tall) x[j, i] = v; else x[i, j] = v;
                }
            for (int step = 0; step < 5; step++)
            {
                var A = new double[r, r];
                for (int i = 0; i < r; i++)
                    for (int j = 0; j < r; j++)
                        for (int p = 0; p < q; p++) A[i, j] += x[i, p] * x[j, p];
                var B = new double[r, r];
                for (int i = 0; i < r; i++)
                    for (int j = 0; j < r; j++)
                    {
                        double aa = 0;
                        for (int p = 0; p < r; p++) aa += A[i, p] * A[p, j];
                        B[i, j] = b * A[i, j] + c * aa;
                    }
                var next = new double[r, q];
                for (int i = 0; i < r; i++)
                    for (int j = 0; j < q; j++)
                    {
                        double bx = 0;
                        for (int p = 0; p < r; p++) bx += B[i, p] * x[p, j];
                        next[i, j] = a * x[i, j] + bx;
                    }
                x = next;
            }
            var result = new double[rows * cols];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) result[i * cols + j] = tall ? x[j, i] : x[i, j];
            return result;
        }
    }
}
