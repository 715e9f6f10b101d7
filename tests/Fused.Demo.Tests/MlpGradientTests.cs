using System;
using System.Linq;
using Fused.Demo.Model;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>The float32 backward pass against central finite differences of a float64 re-implementation of the forward pass.</summary>
    public sealed class MlpGradientTests
    {
        [Fact]
        public void Backward_matches_finite_differences_on_a_tiny_network()
        {
            int[] sizes = { 6, 5, 4, 3 };
            const int batch = 4;
            var mlp = new Mlp(sizes, batch, seed: 11);
            var rng = new SplitMix64(5);
            // Non-zero biases so their gradients and the ReLU masks are exercised.
            foreach (var p in mlp.Parameters.Where(p => !p.IsMatrix))
                for (int i = 0; i < p.Count; i++) p.Value[i] = (float)(rng.NextGaussian() * 0.1);
            var inputs = Enumerable.Range(0, batch * sizes[0]).Select(_ => (float)rng.NextGaussian()).ToArray();
            var labels = new byte[] { 0, 2, 1, 2 };

            float loss = mlp.ForwardBackward(inputs, labels, batch);
            Assert.Equal(Loss64(mlp, sizes, inputs, labels, batch), loss, 4);

            long checkedCount = GradientCheck.AgainstFiniteDifferences(mlp.Parameters, (p, i, v) => Loss64(mlp, sizes, inputs, labels, batch, p, i, v), h: 1e-4);
            Assert.Equal(mlp.ParameterCount, checkedCount);
        }

        [Fact]
        public void Same_seed_gives_the_same_initial_weights()
        {
            var a = Mlp.FashionMnist(8, 42);
            var b = Mlp.FashionMnist(8, 42);
            var c = Mlp.FashionMnist(8, 43);
            Assert.Equal(a.Parameters[0].Value, b.Parameters[0].Value);
            Assert.NotEqual(a.Parameters[0].Value, c.Parameters[0].Value);
            Assert.Equal(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, a.ParameterCount);
        }

        // Mean softmax cross-entropy in float64, optionally with one parameter element replaced.
        private static double Loss64(Mlp mlp, int[] sizes, float[] inputs, byte[] labels, int batch, Parameter? changed = null, int index = -1, double value = 0)
        {
            double Get(Parameter p, int i) => p == changed && i == index ? value : p.Value[i];
            double total = 0;
            for (int b = 0; b < batch; b++)
            {
                double[] current = inputs.Skip(b * sizes[0]).Take(sizes[0]).Select(v => (double)v).ToArray();
                for (int l = 0; l < sizes.Length - 1; l++)
                {
                    var w = mlp.Parameters[2 * l];
                    var bias = mlp.Parameters[2 * l + 1];
                    var next = new double[sizes[l + 1]];
                    for (int o = 0; o < next.Length; o++)
                    {
                        double sum = Get(bias, o);
                        for (int k = 0; k < current.Length; k++) sum += Get(w, o * sizes[l] + k) * current[k];
                        next[o] = l < sizes.Length - 2 ? Math.Max(0, sum) : sum;
                    }

                    current = next;
                }

                double max = current.Max();
                double logSum = Math.Log(current.Sum(z => Math.Exp(z - max))) + max;
                total += logSum - current[labels[b]];
            }

            return total / batch;
        }
    }
}
