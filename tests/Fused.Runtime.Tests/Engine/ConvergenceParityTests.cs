using System;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.Engine
{
    /// <summary>
    /// Convergence parity of low-precision state: a small MLP trained by minibatch AdamW through the engine, several
    /// seeds per state precision. The tolerance is not picked: it is the seed-to-seed noise of the fp32 runs. At every
    /// checkpoint the mean held-out loss of the bf16 (or 8-bit) runs must lie within 4 standard errors of the fp32
    /// mean, the standard error of a difference of two means of <see cref="Seeds"/> runs with the fp32 spread.
    /// </summary>
    public class ConvergenceParityTests
    {
        private const int Inputs = 16, Hidden = 32, Train = 4096, Test = 1024, Batch = 32, Steps = 300, Every = 25;

        /// <summary>Runs per precision (seed = student initialisation, minibatch order and rounding stream).</summary>
        private const int Seeds = 6;

        private readonly ITestOutputHelper _output;

        public ConvergenceParityTests(ITestOutputHelper output) => _output = output;

        [Theory]
        [InlineData(StatePrecision.BFloat16)]
        [InlineData(StatePrecision.Int8Blockwise)]
        public void Held_out_loss_of_low_precision_state_stays_within_the_seed_noise_of_fp32(StatePrecision precision)
        {
            var data = new Task(2024);
            var fp32 = Enumerable.Range(1, Seeds).Select(s => data.Run(StatePrecision.Float32, s)).ToArray();
            var low = Enumerable.Range(1, Seeds).Select(s => data.Run(precision, s)).ToArray();
            int points = fp32[0].Length;

            Assert.True(Mean(fp32, points - 1) < 0.8 * Mean(fp32, 0), $"fp32 did not learn: {Mean(fp32, 0):F4} -> {Mean(fp32, points - 1):F4}");
            Assert.True(Enumerable.Range(0, Seeds).Any(s => fp32[s][points - 1] != low[s][points - 1]), $"{precision} runs equal fp32 exactly: the state precision did not take effect");

            for (int c = FirstCompared; c < points; c++)
            {
                var (mean32, meanLow, sd32, tolerance) = Compare(fp32, low, c);
                _output.WriteLine($"step {c * Every,3}: fp32 {mean32:F4} ± {sd32:F4} (seed sd), {precision} {meanLow:F4}, |diff| {Math.Abs(meanLow - mean32):F4} <= {tolerance:F4}");
                Assert.True(sd32 > 0, "fp32 seeds gave identical losses: no noise to compare against");
                Assert.True(Math.Abs(meanLow - mean32) <= tolerance,
                    $"step {c * Every}: mean held-out loss fp32 {mean32:F5} (seed sd {sd32:F5}), {precision} {meanLow:F5}: differ by more than 4 standard errors ({tolerance:F5})");
            }
        }

        [Fact]
        public void The_tolerance_is_tight_enough_to_see_a_halved_learning_rate()
        {
            // Power check of the comparison above: fp32 runs at lr 1.5e-3 instead of 3e-3 must fall outside it.
            var data = new Task(2024);
            var reference = Enumerable.Range(1, Seeds).Select(s => data.Run(StatePrecision.Float32, s)).ToArray();
            var slower = Enumerable.Range(1, Seeds).Select(s => data.Run(StatePrecision.Float32, s, lr: 1.5e-3f)).ToArray();
            int outside = 0;
            for (int c = FirstCompared; c < reference[0].Length; c++)
            {
                var (mean32, meanSlow, _, tolerance) = Compare(reference, slower, c);
                _output.WriteLine($"step {c * Every,3}: lr 3e-3 {mean32:F4}, lr 1.5e-3 {meanSlow:F4}, |diff| {Math.Abs(meanSlow - mean32):F4} vs {tolerance:F4}");
                if (Math.Abs(meanSlow - mean32) > tolerance) outside++;
            }
            Assert.True(outside >= 2, $"a halved learning rate left only {outside} checkpoint(s) outside the tolerance");
        }

        /// <summary>From step 50: the first checkpoints are dominated by the initialisation.</summary>
        private const int FirstCompared = 2;

        private static (double Mean32, double MeanOther, double Sd32, double Tolerance) Compare(double[][] fp32, double[][] other, int c)
        {
            double mean32 = Mean(fp32, c), meanOther = Mean(other, c);
            double sd32 = Math.Sqrt(fp32.Sum(r => (r[c] - mean32) * (r[c] - mean32)) / (Seeds - 1));
            return (mean32, meanOther, sd32, 4 * sd32 * Math.Sqrt(2.0 / Seeds));
        }

        private static double Mean(double[][] runs, int c) => runs.Average(r => r[c]);

        /// <summary>Binary classification of 16 Gaussian inputs labelled by a random teacher network (fixed data).</summary>
        private sealed class Task
        {
            private readonly float[] _xTrain = new float[Train * Inputs], _yTrain = new float[Train];
            private readonly float[] _xTest = new float[Test * Inputs], _yTest = new float[Test];

            public Task(int seed)
            {
                var rnd = new Random(seed);
                var teacher1 = Gaussians(rnd, 8 * Inputs, 2.0 / Math.Sqrt(Inputs));
                var teacher2 = Gaussians(rnd, 8, 2.0 / Math.Sqrt(8));
                void Fill(float[] x, float[] y, int n)
                {
                    for (int s = 0; s < n; s++)
                    {
                        for (int j = 0; j < Inputs; j++) x[s * Inputs + j] = (float)Gaussian(rnd);
                        double z = 0;
                        for (int h = 0; h < 8; h++)
                        {
                            double a = 0;
                            for (int j = 0; j < Inputs; j++) a += teacher1[h * Inputs + j] * x[s * Inputs + j];
                            z += teacher2[h] * Math.Tanh(a);
                        }
                        y[s] = rnd.NextDouble() < 1 / (1 + Math.Exp(-2 * z)) ? 1f : 0f;
                    }
                }
                Fill(_xTrain, _yTrain, Train);
                Fill(_xTest, _yTest, Test);
            }

            /// <summary>Held-out loss at steps 0, 25, ..., 300.</summary>
            public double[] Run(StatePrecision precision, int seed, float lr = 3e-3f)
            {
                var rnd = new Random(seed);
                var w1 = Gaussians(rnd, Hidden * Inputs, 1 / Math.Sqrt(Inputs)).Select(v => (float)v).ToArray();
                var b1 = new float[Hidden];
                var w2 = Gaussians(rnd, Hidden, 1 / Math.Sqrt(Hidden)).Select(v => (float)v).ToArray();
                var b2 = new float[1];
                var g1 = new float[w1.Length];
                var gb1 = new float[Hidden];
                var g2 = new float[Hidden];
                var gb2 = new float[1];
                using var optimizer = new OptimizerBuilder()
                    .AddParameter("w1", new[] { Hidden, Inputs }, w1, g1).AddParameter("b1", new[] { Hidden }, b1, gb1)
                    .AddParameter("w2", new[] { 1, Hidden }, w2, g2).AddParameter("b2", new[] { 1 }, b2, gb2)
                    .Route(p => true, AdamW.Rule, g => g.Set(("lr", lr), ("weightDecay", 0f)).State(precision))
                    .Seed((ulong)seed).Threads(1).Build();

                var losses = new double[Steps / Every + 1];
                var hidden = new double[Hidden];
                for (int step = 0; step <= Steps; step++)
                {
                    if (step % Every == 0) losses[step / Every] = Loss(w1, b1, w2, b2, hidden);
                    if (step == Steps) break;
                    Array.Clear(g1);
                    Array.Clear(gb1);
                    Array.Clear(g2);
                    gb2[0] = 0;
                    for (int k = 0; k < Batch; k++)
                    {
                        int s = rnd.Next(Train);
                        double z = Forward(_xTrain, s, w1, b1, w2, b2, hidden);
                        double p = 1 / (1 + Math.Exp(-z));
                        double dz = (p - _yTrain[s]) / Batch;
                        gb2[0] += (float)dz;
                        for (int h = 0; h < Hidden; h++)
                        {
                            g2[h] += (float)(dz * hidden[h]);
                            double da = dz * w2[h] * (1 - hidden[h] * hidden[h]);
                            gb1[h] += (float)da;
                            for (int j = 0; j < Inputs; j++) g1[h * Inputs + j] += (float)(da * _xTrain[s * Inputs + j]);
                        }
                    }
                    optimizer.Step();
                }
                return losses;
            }

            private double Loss(float[] w1, float[] b1, float[] w2, float[] b2, double[] hidden)
            {
                double loss = 0;
                for (int s = 0; s < Test; s++)
                {
                    double z = Forward(_xTest, s, w1, b1, w2, b2, hidden);
                    // log(1 + e^z) − y·z, stable.
                    loss += Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z))) - _yTest[s] * z;
                }
                return loss / Test;
            }

            private static double Forward(float[] x, int s, float[] w1, float[] b1, float[] w2, float[] b2, double[] hidden)
            {
                double z = b2[0];
                for (int h = 0; h < Hidden; h++)
                {
                    double a = b1[h];
                    for (int j = 0; j < Inputs; j++) a += w1[h * Inputs + j] * x[s * Inputs + j];
                    hidden[h] = Math.Tanh(a);
                    z += w2[h] * hidden[h];
                }
                return z;
            }
        }

        private static double Gaussian(Random rnd) => Math.Sqrt(-2 * Math.Log(1 - rnd.NextDouble())) * Math.Cos(2 * Math.PI * rnd.NextDouble());

        private static double[] Gaussians(Random rnd, int n, double scale) => Enumerable.Range(0, n).Select(_ => scale * Gaussian(rnd)).ToArray();
    }
}
