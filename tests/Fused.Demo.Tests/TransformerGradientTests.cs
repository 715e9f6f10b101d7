using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Model;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>
    /// The transformer's float32 forward and backward against a float64 re-implementation written from the formulas
    /// (embeddings, LayerNorm, causal multi-head attention by explicit loops, tanh-GELU MLP, head, cross-entropy) and
    /// central finite differences of it, at odd sizes (context 5, batch 3).
    /// </summary>
    public sealed class TransformerGradientTests
    {
        private static readonly TransformerShape Tiny = new TransformerShape(Vocabulary: 7, Context: 5, Width: 8, Heads: 2, Layers: 2);
        private const int Batch = 3;

        [Fact]
        public void Forward_matches_the_float64_reference()
        {
            var (model, tokens, _) = Setup(seed: 3);
            var logits = model.Forward(tokens, Batch).ToArray();
            var expected = Reference(model, tokens, null, -1, 0).Logits;
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - logits[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"logit {i}: {logits[i]} vs float64 {expected[i]}");
        }

        [Fact]
        public void Backward_matches_finite_differences()
        {
            var (model, tokens, targets) = Setup(seed: 8);
            float loss = model.ForwardBackward(tokens, targets, Batch);
            Assert.Equal(Reference(model, tokens, targets, null, -1, 0), loss, 4);

            long checkedCount = GradientCheck.AgainstFiniteDifferences(model.Parameters,
                (p, i, v) => Reference(model, tokens, targets, p, i, v), h: 1e-6, absolute: 2e-5);
            Assert.Equal(model.ParameterCount, checkedCount);
            // Every tensor receives gradient (the test is not passing on a path that never carries any). The vocabulary
            // is larger than the tokens drawn, so only the embedding rows of tokens present are required to be non-zero.
            Assert.All(model.Parameters, p => Assert.Contains(p.Gradient, g => Math.Abs(g) > 1e-6));
        }

        [Fact]
        public void Hidden_matrices_are_the_attention_and_mlp_weights_only()
        {
            var model = new Transformer(Tiny, 1, 1);
            Assert.Equal(
                new[] { "block1.attention.qkv", "block1.attention.out", "block1.mlp.up", "block1.mlp.down", "block2.attention.qkv", "block2.attention.out", "block2.mlp.up", "block2.mlp.down" },
                model.Parameters.Where(p => p.IsHidden).Select(p => p.Name));
            long d = Tiny.Width, v = Tiny.Vocabulary;
            Assert.Equal(v * d + Tiny.Context * d + Tiny.Layers * (4 * d + 12 * d * d) + 2 * d + v * d, model.ParameterCount);
        }

        private static (Transformer Model, int[] Tokens, int[] Targets) Setup(ulong seed)
        {
            var model = new Transformer(Tiny, Batch, seed);
            var rng = new SplitMix64(seed * 31 + 7);
            // Weights well above the GPT init scale and random norm gains/biases, so attention is far from uniform and every term matters.
            foreach (var p in model.Parameters)
            {
                double std = p.IsMatrix ? 1.0 / Math.Sqrt(p.Cols) : 0.3;
                double mean = p.Name.EndsWith(".gain", StringComparison.Ordinal) ? 1 : 0;
                for (int i = 0; i < p.Count; i++) p.Value[i] = (float)(mean + rng.NextGaussian() * std);
            }

            foreach (var embedding in model.Parameters.Where(p => p.Name.StartsWith("embed.", StringComparison.Ordinal)))
                for (int i = 0; i < embedding.Count; i++) embedding.Value[i] = (float)rng.NextGaussian();
            // Every token id appears, so every embedding row gets a gradient.
            var tokens = Enumerable.Range(0, Batch * Tiny.Context).Select(i => i < Tiny.Vocabulary ? i : rng.NextInt(Tiny.Vocabulary)).ToArray();
            var targets = Enumerable.Range(0, Batch * Tiny.Context).Select(_ => rng.NextInt(Tiny.Vocabulary)).ToArray();
            return (model, tokens, targets);
        }

        private static double Reference(Transformer model, int[] tokens, int[] targets, Parameter? changed, int index, double value)
        {
            var logits = Reference(model, tokens, changed, index, value).Logits;
            int v = Tiny.Vocabulary;
            double total = 0;
            for (int r = 0; r < targets.Length; r++)
            {
                var row = logits.Skip(r * v).Take(v).ToArray();
                double max = row.Max();
                total += Math.Log(row.Sum(z => Math.Exp(z - max))) + max - row[targets[r]];
            }

            return total / targets.Length;
        }

        private static (double[] Logits, int Unused) Reference(Transformer model, int[] tokens, Parameter? changed, int index, double value)
        {
            var byName = model.Parameters.ToDictionary(p => p.Name);
            double W(string name, int row, int col)
            {
                var p = byName[name];
                int i = row * p.Cols + col;
                return p == changed && i == index ? value : p.Value[i];
            }

            double V(string name, int i) => W(name, 0, i);
            int t = Tiny.Context, d = Tiny.Width, heads = Tiny.Heads, dh = d / heads, hidden = 4 * d, vocabulary = Tiny.Vocabulary;
            var logits = new List<double>();
            for (int b = 0; b < Batch; b++)
            {
                var x = new double[t, d];
                for (int p = 0; p < t; p++)
                    for (int i = 0; i < d; i++)
                        x[p, i] = W("embed.tokens", tokens[b * t + p], i) + W("embed.positions", p, i);

                for (int l = 1; l <= Tiny.Layers; l++)
                {
                    string n = $"block{l}";
                    var h = Norm(x, $"{n}.norm1", V);
                    var qkv = Linear(h, $"{n}.attention.qkv", 3 * d, W);
                    var attended = new double[t, d];
                    for (int head = 0; head < heads; head++)
                        for (int p = 0; p < t; p++)
                        {
                            // Scores against positions 0..p only (causal), softmax, weighted sum of values.
                            var scores = new double[p + 1];
                            for (int u = 0; u <= p; u++)
                            {
                                double s = 0;
                                for (int e = 0; e < dh; e++) s += qkv[p, head * dh + e] * qkv[u, d + head * dh + e];
                                scores[u] = s / Math.Sqrt(dh);
                            }

                            double max = scores.Max();
                            double sum = scores.Sum(s => Math.Exp(s - max));
                            for (int u = 0; u <= p; u++)
                            {
                                double weight = Math.Exp(scores[u] - max) / sum;
                                for (int e = 0; e < dh; e++) attended[p, head * dh + e] += weight * qkv[u, 2 * d + head * dh + e];
                            }
                        }

                    Add(x, Linear(attended, $"{n}.attention.out", d, W));
                    var up = Linear(Norm(x, $"{n}.norm2", V), $"{n}.mlp.up", hidden, W);
                    for (int p = 0; p < t; p++)
                        for (int j = 0; j < hidden; j++)
                        {
                            double u = up[p, j];
                            up[p, j] = 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
                        }

                    Add(x, Linear(up, $"{n}.mlp.down", d, W));
                }

                var head2 = Linear(Norm(x, "norm", V), "head.weight", vocabulary, W);
                for (int p = 0; p < t; p++)
                    for (int c = 0; c < vocabulary; c++) logits.Add(head2[p, c]);
            }

            return (logits.ToArray(), 0);
        }

        // y[p, o] = Σᵢ W[o, i]·x[p, i].
        private static double[,] Linear(double[,] x, string name, int outputs, Func<string, int, int, double> w)
        {
            int rows = x.GetLength(0), inputs = x.GetLength(1);
            var y = new double[rows, outputs];
            for (int p = 0; p < rows; p++)
                for (int o = 0; o < outputs; o++)
                {
                    double s = 0;
                    for (int i = 0; i < inputs; i++) s += w(name, o, i) * x[p, i];
                    y[p, o] = s;
                }

            return y;
        }

        // LayerNorm of each row with biased variance and ε = 1e-5, then ·gain + bias.
        private static double[,] Norm(double[,] x, string name, Func<string, int, double> v)
        {
            int rows = x.GetLength(0), width = x.GetLength(1);
            var y = new double[rows, width];
            for (int p = 0; p < rows; p++)
            {
                double mean = 0, variance = 0;
                for (int i = 0; i < width; i++) mean += x[p, i] / width;
                for (int i = 0; i < width; i++) variance += (x[p, i] - mean) * (x[p, i] - mean) / width;
                for (int i = 0; i < width; i++)
                    y[p, i] = (x[p, i] - mean) / Math.Sqrt(variance + 1e-5) * v($"{name}.gain", i) + v($"{name}.bias", i);
            }

            return y;
        }

        private static void Add(double[,] x, double[,] y)
        {
            for (int p = 0; p < x.GetLength(0); p++)
                for (int i = 0; i < x.GetLength(1); i++) x[p, i] += y[p, i];
        }
    }
}
