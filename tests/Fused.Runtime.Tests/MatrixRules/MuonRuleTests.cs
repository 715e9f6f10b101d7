using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Xunit;

namespace Fused.Runtime.Tests.MatrixRules
{
    /// <summary>
    /// The DSL-declared Muon and MuonH against float64 references written from seed 000's muon_step
    /// and seed 003's hyperball update — not from the IR, the generator or the runtime's Newton-Schulz.
    /// </summary>
    public class MuonRuleTests
    {
        private static double[,] NewtonSchulzReference(double[,] m)
        {
            int rows = m.GetLength(0), cols = m.GetLength(1);
            double norm = 0;
            foreach (var value in m) norm += value * value;
            norm = Math.Sqrt(norm);
            bool transpose = rows > cols;
            int r = transpose ? cols : rows, c = transpose ? rows : cols;
            var x0 = new double[r, c];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                    x0[i, j] = (transpose ? m[j, i] : m[i, j]) / (norm + 1e-7);
            double a = 3.4445, b = -4.7750, cc = 2.0315;
            var x = x0;
            for (int step = 0; step < 5; step++)
            {
                var A = Mul(x, Transpose(x));
                var AA = Mul(A, A);
                var B = new double[r, r];
                for (int i = 0; i < r; i++) for (int j = 0; j < r; j++) B[i, j] = b * A[i, j] + cc * AA[i, j];
                var BX = Mul(B, x);
                var next = new double[r, c];
                for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) next[i, j] = a * x[i, j] + BX[i, j];
                x = next;
            }
            return transpose ? Transpose(x) : x;
        }

        private static double[,] Mul(double[,] p, double[,] q)
        {
            int n = p.GetLength(0), k = p.GetLength(1), m = q.GetLength(1);
            var r = new double[n, m];
            for (int i = 0; i < n; i++)
                for (int l = 0; l < k; l++)
                {
                    double pil = p[i, l];
                    for (int j = 0; j < m; j++) r[i, j] += pil * q[l, j];
                }
            return r;
        }

        private static double[,] Transpose(double[,] p)
        {
            var r = new double[p.GetLength(1), p.GetLength(0)];
            for (int i = 0; i < p.GetLength(0); i++) for (int j = 0; j < p.GetLength(1); j++) r[j, i] = p[i, j];
            return r;
        }

        [Theory]
        [InlineData(24, 40)]
        [InlineData(40, 24)]
        [InlineData(33, 33)]
        public void Muon_step_matches_seed_muon_step_in_float64(int rows, int cols)
        {
            var rnd = new Random(rows * 1000 + cols);
            int n = rows * cols;
            float[] Rand(double scale) => Enumerable.Range(0, n).Select(_ => (float)((rnd.NextDouble() - 0.5) * scale)).ToArray();
            var w = Rand(1); var m = Rand(0.1);
            float lr = 0.02f, beta = 0.95f;
            // Seed 000's muon_step has plain momentum and no shape scaling (scale = 1 when rows <= cols).
            var hypers = new Muon.Hyperparameters { Lr = lr, Beta = beta, Nesterov = 0f, MoonshotScale = 0f, WeightDecay = 0f }.ToArray();
            using var pool = new WorkerPool(2, pinThreads: false);
            using var runner = new CpuRuleRunner(Muon.Rule, pool);
            for (int step = 1; step <= 3; step++)
            {
                var g = Rand(0.05);
                // Reference from the current float32 state, in float64.
                var mRef = new double[rows, cols];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) mRef[i, j] = (double)beta * m[i * cols + j] + g[i * cols + j];
                var x = NewtonSchulzReference(mRef);
                double scale = Math.Sqrt(Math.Max(1.0, (double)rows / cols));
                var wRef = new double[n];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) wRef[i * cols + j] = w[i * cols + j] - lr * scale * x[i, j];

                runner.Step(hypers, step, ShapeInfo.Matrix(rows, cols), w, g, m);

                double errM = 0, normM = 0, errU = 0, normU = 0;
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++)
                    {
                        int k = i * cols + j;
                        errM = Math.Max(errM, Math.Abs(m[k] - mRef[i, j]));
                        normM = Math.Max(normM, Math.Abs(mRef[i, j]));
                    }
                for (int k = 0; k < n; k++)
                {
                    double updateRef = lr * scale * x[k / cols, k % cols];
                    errU += Math.Pow(w[k] - wRef[k], 2);
                    normU += updateRef * updateRef;
                }
                Assert.True(errM <= 1e-6 * normM, $"momentum off by {errM} (scale {normM})");
                // float32 Newton-Schulz vs float64: relative Frobenius error of the update.
                double rel = Math.Sqrt(errU / normU);
                Assert.True(rel < 2e-3, $"step {step}: update relative error {rel}");
                // Continue from the kernel's state (teacher forcing keeps errors from compounding).
            }
        }

        [Fact]
        public void MuonH_keeps_the_weight_on_the_sphere_of_its_initial_norm()
        {
            int rows = 32, cols = 48, n = rows * cols;
            var rnd = new Random(7);
            var w = Enumerable.Range(0, n).Select(_ => (float)(rnd.NextDouble() - 0.5)).ToArray();
            double r0 = Math.Sqrt(w.Sum(x => (double)x * x));
            var m = new float[n];
            var radius = new float[1];
            var hypers = new MuonH.Hyperparameters { Lr = 0.05f }.ToArray();
            using var runner = new CpuRuleRunner(MuonH.Rule, new WorkerPool(1));
            for (int step = 1; step <= 20; step++)
            {
                var g = Enumerable.Range(0, n).Select(_ => (float)(rnd.NextDouble() - 0.5)).ToArray();
                var before = (float[])w.Clone();
                runner.Step(hypers, step, ShapeInfo.Matrix(rows, cols), w, g, m, radius);
                double norm = Math.Sqrt(w.Sum(x => (double)x * x));
                Assert.True(Math.Abs(norm - r0) <= 1e-5 * r0, $"step {step}: ‖W‖ = {norm}, R = {r0}");
                Assert.Equal(r0, radius[0], 5);
                Assert.True(before.Zip(w).Any(p => p.First != p.Second), "the weight must move");
            }
        }
    }
}
