using System;
using System.Linq;
using Fused.Demo.Model;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>
    /// The CNN's float32 forward and backward (im2col + GEMM) against a float64 direct convolution written from
    /// the definition, and central finite differences of it, on an odd batch of random images.
    /// </summary>
    public sealed class CnnGradientTests
    {
        private static readonly CnnShape Tiny = new CnnShape(Side: 8, InputChannels: 2, Channels1: 3, Channels2: 4, Classes: 3);

        [Fact]
        public void Forward_matches_a_direct_float64_convolution()
        {
            var (cnn, inputs, _) = Setup(batch: 3, seed: 21);
            var logits = cnn.Forward(inputs, 3).ToArray();
            for (int b = 0; b < 3; b++)
            {
                var expected = Logits64(cnn, inputs, b);
                for (int c = 0; c < Tiny.Classes; c++)
                    Assert.True(Math.Abs(expected[c] - logits[b * Tiny.Classes + c]) <= 1e-4 * (1 + Math.Abs(expected[c])),
                        $"image {b} class {c}: {logits[b * Tiny.Classes + c]} vs float64 {expected[c]}");
            }
        }

        [Fact]
        public void Backward_matches_finite_differences()
        {
            const int batch = 3;
            var (cnn, inputs, labels) = Setup(batch, seed: 5);
            float loss = cnn.ForwardBackward(inputs, labels, batch);
            Assert.Equal(Loss64(cnn, inputs, labels, batch), loss, 4);

            long checkedCount = GradientCheck.AgainstFiniteDifferences(cnn.Parameters, (p, i, v) => Loss64(cnn, inputs, labels, batch, p, i, v), h: 1e-6);
            Assert.Equal(cnn.ParameterCount, checkedCount);
            // Some gradient of every tensor is non-zero: the test is not passing on dead units.
            Assert.All(cnn.Parameters, p => Assert.Contains(p.Gradient, g => Math.Abs(g) > 1e-6));
        }

        [Fact]
        public void Default_shape_is_the_documented_network()
        {
            var cnn = new Cnn(Cnn.DefaultShape, 2, 1);
            Assert.Equal(16 * 9 + 16 + 32 * 9 * 16 + 32 + 10 * 7 * 7 * 32 + 10, cnn.ParameterCount);
            Assert.Equal(new[] { "conv1.weight", "conv2.weight" }, cnn.Parameters.Where(p => p.IsHidden).Select(p => p.Name));
        }

        private static (Cnn Cnn, float[] Inputs, byte[] Labels) Setup(int batch, ulong seed)
        {
            var cnn = new Cnn(Tiny, batch, seed);
            var rng = new SplitMix64(seed * 7 + 1);
            // Non-zero biases so their gradients and the ReLU masks are exercised.
            foreach (var p in cnn.Parameters.Where(p => !p.IsMatrix))
                for (int i = 0; i < p.Count; i++) p.Value[i] = (float)(rng.NextGaussian() * 0.1);
            var inputs = Enumerable.Range(0, batch * Tiny.Side * Tiny.Side * Tiny.InputChannels).Select(_ => (float)rng.NextGaussian()).ToArray();
            var labels = Enumerable.Range(0, batch).Select(_ => (byte)rng.NextInt(Tiny.Classes)).ToArray();
            return (cnn, inputs, labels);
        }

        private static double Loss64(Cnn cnn, float[] inputs, byte[] labels, int batch, Parameter? changed = null, int index = -1, double value = 0)
        {
            double total = 0;
            for (int b = 0; b < batch; b++)
            {
                var z = Logits64(cnn, inputs, b, changed, index, value);
                double max = z.Max();
                total += Math.Log(z.Sum(v => Math.Exp(v - max))) + max - z[labels[b]];
            }

            return total / batch;
        }

        // One image through the network in float64, from the definitions: x[y, x, c] channels-last, kernel element
        // (o, ky, kx, c) at column (ky·3 + kx)·C + c of the 2-D weight, zero padding, 2×2 max pooling, head on the
        // pooled [y, x, c] features.
        private static double[] Logits64(Cnn cnn, float[] inputs, int image, Parameter? changed = null, int index = -1, double value = 0)
        {
            var p = cnn.Parameters;
            double Get(Parameter t, int i) => t == changed && i == index ? value : t.Value[i];
            int side = Tiny.Side, cin = Tiny.InputChannels;
            var x = new double[side, side, cin];
            for (int y = 0; y < side; y++)
                for (int xx = 0; xx < side; xx++)
                    for (int c = 0; c < cin; c++)
                        x[y, xx, c] = inputs[((image * side + y) * side + xx) * cin + c];
            var a1 = Pool(Relu(Conv(x, p[0], p[1], Get)));
            var a2 = Pool(Relu(Conv(a1, p[2], p[3], Get)));
            int s = a2.GetLength(0), ch = a2.GetLength(2);
            var logits = new double[Tiny.Classes];
            for (int k = 0; k < Tiny.Classes; k++)
            {
                double sum = Get(p[5], k);
                for (int y = 0; y < s; y++)
                    for (int xx = 0; xx < s; xx++)
                        for (int c = 0; c < ch; c++)
                            sum += Get(p[4], k * p[4].Cols + (y * s + xx) * ch + c) * a2[y, xx, c];
                logits[k] = sum;
            }

            return logits;
        }

        private static double[,,] Conv(double[,,] x, Parameter w, Parameter bias, Func<Parameter, int, double> get)
        {
            int side = x.GetLength(0), cin = x.GetLength(2), cout = w.Rows;
            var y = new double[side, side, cout];
            for (int i = 0; i < side; i++)
                for (int j = 0; j < side; j++)
                    for (int o = 0; o < cout; o++)
                    {
                        double sum = get(bias, o);
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int si = i + ky - 1, sj = j + kx - 1;
                                if (si < 0 || sj < 0 || si >= side || sj >= side) continue;
                                for (int c = 0; c < cin; c++) sum += get(w, o * w.Cols + (ky * 3 + kx) * cin + c) * x[si, sj, c];
                            }

                        y[i, j, o] = sum;
                    }

            return y;
        }

        private static double[,,] Relu(double[,,] x)
        {
            var y = (double[,,])x.Clone();
            for (int i = 0; i < y.GetLength(0); i++)
                for (int j = 0; j < y.GetLength(1); j++)
                    for (int c = 0; c < y.GetLength(2); c++)
                        y[i, j, c] = Math.Max(0, y[i, j, c]);
            return y;
        }

        private static double[,,] Pool(double[,,] x)
        {
            int half = x.GetLength(0) / 2, ch = x.GetLength(2);
            var y = new double[half, half, ch];
            for (int i = 0; i < half; i++)
                for (int j = 0; j < half; j++)
                    for (int c = 0; c < ch; c++)
                        y[i, j, c] = Math.Max(Math.Max(x[2 * i, 2 * j, c], x[2 * i, 2 * j + 1, c]), Math.Max(x[2 * i + 1, 2 * j, c], x[2 * i + 1, 2 * j + 1, c]));
            return y;
        }
    }
}
