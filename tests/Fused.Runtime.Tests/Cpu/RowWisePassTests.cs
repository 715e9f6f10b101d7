using System;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Xunit;

namespace Fused.Runtime.Tests.Cpu
{
    /// <summary>Row-wise passes against a float64 reference written from the rule's formula.</summary>
    public class RowWisePassTests
    {
        [Theory]
        [InlineData(1, 7, 1)]
        [InlineData(65, 33, 1)]
        [InlineData(300, 257, 2)] // above the parallel threshold: row groups split across workers
        [InlineData(129, 1030, 2)]
        public void Column_sum_state_survives_the_passes_after_it(int rows, int cols, int threads)
        {
            var rnd = new Random(rows * 31 + cols);
            int n = rows * cols;
            var param = new float[n];
            var grad = new float[n];
            for (int i = 0; i < n; i++) { param[i] = (float)(rnd.NextDouble() - 0.5); grad[i] = (float)(rnd.NextDouble() - 0.5) * 0.1f; }
            var colSq = new float[cols];
            var expectedParam = new double[n];
            var expectedCol = new double[cols];
            const double lr = 1e-2;
            for (int j = 0; j < cols; j++)
                for (int i = 0; i < rows; i++) expectedCol[j] += (double)grad[i * cols + j] * grad[i * cols + j];
            var u = new double[n];
            double sumU2 = 0;
            for (int i = 0; i < n; i++) { u[i] = grad[i] / Math.Sqrt(expectedCol[i % cols] + 1e-12); sumU2 += u[i] * u[i]; }
            double rms = Math.Max(Math.Sqrt(sumU2 / n), 1e-12);
            for (int i = 0; i < n; i++) expectedParam[i] = param[i] - lr * u[i] / rms;

            using var pool = new WorkerPool(threads, pinThreads: false);
            using var runner = new CpuRuleRunner(ColumnSquares.Rule, pool);
            runner.Step(new[] { (float)lr }, 1, ShapeInfo.Matrix(rows, cols), param, grad, colSq);

            for (int j = 0; j < cols; j++)
                Assert.True(Math.Abs(colSq[j] - expectedCol[j]) <= 1e-6 * expectedCol[j] + 1e-30, $"colSq[{j}] = {colSq[j]:R}, expected {expectedCol[j]:R}");
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(param[i] - expectedParam[i]) <= 1e-6 * Math.Abs(expectedParam[i]) + 1e-7, $"param[{i}] = {param[i]:R}, expected {expectedParam[i]:R}");
        }
    }
}
