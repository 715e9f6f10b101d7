using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Matrix;
using MathNet.Numerics.LinearAlgebra;
using Xunit;

namespace Fused.Runtime.Tests.MatrixRules
{
    /// <summary>
    /// The DSL-declared Shampoo (with Adam grafting) against a float64 reference written from seed
    /// 003's formulas: L += GGᵀ, R += GᵀG, direction L^(−1/4) G R^(−1/4) with the inverse roots from an
    /// eigendecomposition (MathNet, float64), refreshed every k steps, scaled to the Adam step's norm.
    /// </summary>
    public class ShampooRuleTests
    {
        private static Matrix<double> InverseFourthRoot(Matrix<double> a, double eps)
        {
            var evd = a.Evd(Symmetricity.Symmetric);
            var q = evd.EigenVectors;
            var d = evd.EigenValues.Select(l => Math.Pow(Math.Max(l.Real, 0) + eps, -0.25)).ToArray();
            return q * Matrix<double>.Build.DiagonalOfDiagonalArray(d) * q.Transpose();
        }

        [Theory]
        [InlineData(12, 20, 1)]
        [InlineData(20, 12, 2)]
        public void Shampoo_step_matches_a_float64_reference(int rows, int cols, int rootEvery)
        {
            int n = rows * cols;
            var rnd = new Random(rows * 31 + cols);
            var w = Enumerable.Range(0, n).Select(_ => (float)(rnd.NextDouble() - 0.5)).ToArray();
            var m = new float[n];
            var v = new float[n];
            var h = new Shampoo.Hyperparameters { Lr = 0.01f, WeightDecay = 0.01f };
            var hypers = h.ToArray();
            double eps = 1e-6;
            using var runner = new CpuRuleRunner(Shampoo.Rule, new WorkerPool(1), shampoo: new ShampooOptions { RootEvery = rootEvery, Epsilon = eps });
            var L = Matrix<double>.Build.Dense(rows, rows);
            var R = Matrix<double>.Build.Dense(cols, cols);
            Matrix<double>? lRoot = null, rRoot = null;
            for (int t = 1; t <= 5; t++)
            {
                var g = Enumerable.Range(0, n).Select(_ => (float)((rnd.NextDouble() - 0.5) * 0.1)).ToArray();
                // float64 reference from the current float32 state
                double b1 = h.Beta1, b2 = h.Beta2, e = h.Eps, lr = h.Lr, wd = h.WeightDecay;
                var G = Matrix<double>.Build.Dense(rows, cols, (i, j) => g[i * cols + j]);
                L += G * G.Transpose();
                R += G.Transpose() * G;
                if (lRoot is null || (t - 1) % rootEvery == 0) { lRoot = InverseFourthRoot(L, eps); rRoot = InverseFourthRoot(R, eps); }
                var P = lRoot * G * rRoot!;
                var adam = new double[n];
                for (int k = 0; k < n; k++)
                {
                    double mk = b1 * m[k] + (1 - b1) * g[k], vk = b2 * v[k] + (1 - b2) * (double)g[k] * g[k];
                    adam[k] = mk / (1 - Math.Pow(b1, t)) / (Math.Sqrt(vk / (1 - Math.Pow(b2, t))) + e);
                }
                double graft = Math.Sqrt(adam.Sum(x => x * x)) / Math.Sqrt(P.Enumerate().Sum(x => x * x));
                var expected = new double[n];
                for (int k = 0; k < n; k++) expected[k] = w[k] - lr * (graft * P[k / cols, k % cols] + wd * w[k]);

                runner.Step(hypers, t, ShapeInfo.Matrix(rows, cols), w, g, m, v);

                double err = 0, norm = 0;
                for (int k = 0; k < n; k++)
                {
                    double step = expected[k] - (expected[k] + lr * (graft * P[k / cols, k % cols] + wd * w[k]));
                    err += Math.Pow(w[k] - expected[k], 2);
                    norm += Math.Pow(lr * graft * P[k / cols, k % cols], 2);
                }
                // float32 statistics and eigendecomposition vs float64: relative error of the update.
                Assert.True(Math.Sqrt(err / norm) < 2e-3, $"step {t}: update relative error {Math.Sqrt(err / norm)}");
                for (int k = 0; k < n; k++) w[k] = (float)expected[k]; // teacher forcing
            }
        }

        [Fact]
        public void Tensors_above_the_maximum_side_are_refused_clearly()
        {
            using var runner = new CpuRuleRunner(Shampoo.Rule, new WorkerPool(1), shampoo: new ShampooOptions { MaxDimension = 8 });
            int n = 4 * 9;
            var ex = Assert.Throws<NotSupportedException>(() =>
                runner.Step(Shampoo.Rule.DefaultHyperparameters(), 1, ShapeInfo.Matrix(4, 9), new float[n], Enumerable.Repeat(0.1f, n).ToArray(), new float[n], new float[n]));
            Assert.Contains("4x9", ex.Message);
        }

        [Fact]
        public void State_bytes_count_both_factors_and_their_roots() =>
            Assert.Equal(2L * 4 * (12 * 12 + 20 * 20), MatrixPasses.ShampooStateBytes(12, 20));
    }
}
