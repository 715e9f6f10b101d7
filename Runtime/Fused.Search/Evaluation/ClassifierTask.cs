using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// A dense tanh network with a softmax cross-entropy loss, trained on minibatches (or the full
    /// batch) of a training set and scored by the mean loss on an evaluation set. With no hidden layer
    /// it is (multinomial) logistic regression. Weights are matrices (rows = outputs), biases vectors;
    /// each is its own tensor to the rule.
    /// </summary>
    public sealed class ClassifierTask : TensorTask
    {
        private readonly ClassificationData _train, _eval;
        private readonly int[] _sizes;
        private readonly int _batch;
        private readonly int[] _order;
        private readonly List<(ShapeInfo, float[])> _parameters = new List<(ShapeInfo, float[])>();
        private readonly double _baseLr;

        public ClassifierTask(string name, ClassificationData train, ClassificationData eval, int[] hidden, int batch, int steps, double baseLearningRate, ulong seed)
        {
            Name = name;
            _train = train;
            _eval = eval;
            _sizes = new[] { train.FeatureCount }.Concat(hidden).Append(train.ClassCount).ToArray();
            _batch = Math.Min(batch, train.Count);
            Steps = steps;
            _baseLr = baseLearningRate;
            var rng = new SearchRandom(seed);
            for (int l = 0; l + 1 < _sizes.Length; l++)
            {
                int fanIn = _sizes[l], fanOut = _sizes[l + 1];
                _parameters.Add((ShapeInfo.Matrix(fanOut, fanIn), Gaussian(rng, (long)fanOut * fanIn, 1.0 / Math.Sqrt(fanIn))));
                _parameters.Add((ShapeInfo.Vector(fanOut), new float[fanOut]));
            }
            _order = Enumerable.Range(0, train.Count).ToArray();
            for (int i = _order.Length - 1; i > 0; i--) { int j = rng.Next(i + 1); (_order[i], _order[j]) = (_order[j], _order[i]); }
        }

        public override string Name { get; }
        public override int Steps { get; }
        public override double BaseLearningRate => _baseLr;
        public override double LossFloor => 1e-4;
        protected override IReadOnlyList<(ShapeInfo shape, float[] init)> Parameters => _parameters;

        /// <summary>Multinomial logistic regression on teacher-labelled synthetic data, full batch.</summary>
        public static ClassifierTask LogisticRegression(int count = 256, int features = 16, int classes = 2, int steps = 100, ulong seed = 3)
        {
            var data = ClassificationData.TeacherLabelled(count, features, classes, 0.1, seed);
            return new ClassifierTask($"logistic(n={count},d={features})", data, data, Array.Empty<int>(), count, steps, 0.1, seed + 100);
        }

        /// <summary>
        /// An MLP on Fashion-MNIST (14×14) samples [offset, offset + train + eval) of a split. Missing files are an
        /// error unless <paramref name="allowSynthetic"/> asks for Gaussian clusters instead (never silently: a
        /// synthetic stand-in reorders rankings completely).
        /// </summary>
        public static ClassifierTask FashionMlp(int[] hidden, int train = 1024, int eval = 512, int offset = 0, bool trainSplit = true,
            int batch = 32, int steps = 100, ulong seed = 4, string? directory = null, bool allowSynthetic = false)
        {
            directory ??= FashionMnist.DefaultDirectory;
            if (!allowSynthetic) FashionMnist.Require(directory, trainSplit);
            ClassificationData all = FashionMnist.Available(directory, trainSplit)
                ? FashionMnist.Load(directory, trainSplit, offset + train + eval).Slice(offset, train + eval)
                : ClassificationData.Clusters(train + eval, 196, 10, seed + (trainSplit ? 0UL : 1000UL) + (ulong)offset);
            string arch = string.Join("-", new[] { all.FeatureCount }.Concat(hidden).Append(10));
            return new ClassifierTask($"mlp({arch},{all.Source}@{offset})", all.Slice(0, train), all.Slice(train, eval), hidden, batch, steps, 0.01, seed);
        }

        protected override void Gradient(float[][] p, float[][] g, int step)
        {
            int b = _batch;
            var rows = new int[b];
            int start = (int)(((long)(step - 1) * b) % _train.Count);
            for (int i = 0; i < b; i++) rows[i] = _order[(start + i) % _train.Count];
            var acts = Forward(p, _train, rows);
            // Softmax − one-hot, averaged over the batch.
            int layers = _sizes.Length - 1;
            var delta = Softmax(acts[layers], b, _sizes[layers]);
            for (int i = 0; i < b; i++) delta[i * _sizes[layers] + _train.Labels[rows[i]]] -= 1f;
            for (int i = 0; i < delta.Length; i++) delta[i] /= b;
            for (int l = layers - 1; l >= 0; l--)
            {
                int fanIn = _sizes[l], fanOut = _sizes[l + 1];
                var w = p[2 * l];
                var gw = g[2 * l];
                var gb = g[2 * l + 1];
                Array.Clear(gw);
                Array.Clear(gb);
                var input = acts[l];
                for (int n = 0; n < b; n++)
                    for (int o = 0; o < fanOut; o++)
                    {
                        float d = delta[n * fanOut + o];
                        if (d == 0f) continue;
                        gb[o] += d;
                        int wo = o * fanIn, io = n * fanIn;
                        for (int k = 0; k < fanIn; k++) gw[wo + k] += d * input[io + k];
                    }
                if (l == 0) break;
                var next = new float[b * fanIn];
                for (int n = 0; n < b; n++)
                    for (int o = 0; o < fanOut; o++)
                    {
                        float d = delta[n * fanOut + o];
                        int wo = o * fanIn, no = n * fanIn;
                        for (int k = 0; k < fanIn; k++) next[no + k] += d * w[wo + k];
                    }
                for (int i = 0; i < next.Length; i++) next[i] *= 1f - input[i] * input[i]; // tanh'
                delta = next;
            }
        }

        protected override double Loss(float[][] p)
        {
            var rows = Enumerable.Range(0, _eval.Count).ToArray();
            var acts = Forward(p, _eval, rows);
            int classes = _sizes[^1];
            var probs = Softmax(acts[^1], rows.Length, classes);
            double loss = 0;
            for (int n = 0; n < rows.Length; n++) loss -= Math.Log(Math.Max(probs[n * classes + _eval.Labels[n]], 1e-30f));
            return loss / rows.Length;
        }

        /// <summary>Accuracy on the evaluation set (for reports).</summary>
        public double Accuracy(float[][] p)
        {
            var rows = Enumerable.Range(0, _eval.Count).ToArray();
            var logits = Forward(p, _eval, rows)[^1];
            int classes = _sizes[^1], correct = 0;
            for (int n = 0; n < rows.Length; n++)
            {
                int best = 0;
                for (int c = 1; c < classes; c++) if (logits[n * classes + c] > logits[n * classes + best]) best = c;
                if (best == _eval.Labels[n]) correct++;
            }
            return (double)correct / rows.Length;
        }

        /// <summary>Activations of every layer (index 0 the inputs, last the logits).</summary>
        private float[][] Forward(float[][] p, ClassificationData data, int[] rows)
        {
            int b = rows.Length, layers = _sizes.Length - 1;
            var acts = new float[layers + 1][];
            acts[0] = new float[b * _sizes[0]];
            for (int n = 0; n < b; n++) data.Row(rows[n]).CopyTo(acts[0].AsSpan(n * _sizes[0], _sizes[0]));
            for (int l = 0; l < layers; l++)
            {
                int fanIn = _sizes[l], fanOut = _sizes[l + 1];
                var w = p[2 * l];
                var bias = p[2 * l + 1];
                var input = acts[l];
                var output = new float[b * fanOut];
                for (int n = 0; n < b; n++)
                {
                    var x = input.AsSpan(n * fanIn, fanIn);
                    for (int o = 0; o < fanOut; o++)
                    {
                        float s = bias[o];
                        var wr = w.AsSpan(o * fanIn, fanIn);
                        for (int k = 0; k < fanIn; k++) s += wr[k] * x[k];
                        output[n * fanOut + o] = l + 1 < layers ? MathF.Tanh(s) : s;
                    }
                }
                acts[l + 1] = output;
            }
            return acts;
        }

        private static float[] Softmax(float[] logits, int rows, int classes)
        {
            var result = new float[logits.Length];
            for (int n = 0; n < rows; n++)
            {
                float max = float.NegativeInfinity;
                for (int c = 0; c < classes; c++) max = Math.Max(max, logits[n * classes + c]);
                double sum = 0;
                for (int c = 0; c < classes; c++) sum += Math.Exp(logits[n * classes + c] - max);
                for (int c = 0; c < classes; c++) result[n * classes + c] = (float)(Math.Exp(logits[n * classes + c] - max) / sum);
            }
            return result;
        }
    }
}
