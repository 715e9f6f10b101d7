using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Matrix;

namespace Fused.Demo.Model
{
    /// <summary>
    /// A multi-layer perceptron with ReLU hidden layers and a softmax cross-entropy head, e.g.
    /// 784→256→128→10. Batches are row-major [batch, features]; every matmul is one Blas.Sgemm.
    /// Layer i has weight "fc{i}.weight" [out, in] and bias "fc{i}.bias" [out].
    /// </summary>
    public sealed class Mlp
    {
        private readonly Parameter[] _weights;
        private readonly Parameter[] _biases;
        private readonly int _maxBatch;
        // Per layer: pre-activations (and, in place, post-ReLU activations) of the last forward pass.
        private readonly float[][] _activations;
        private readonly float[][] _deltas;

        public Mlp(IReadOnlyList<int> layerSizes, int maxBatch, ulong seed)
        {
            if (layerSizes.Count < 2) throw new ArgumentException("an MLP needs at least an input and an output size", nameof(layerSizes));
            if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "batch size must be at least 1");
            LayerSizes = layerSizes.ToArray();
            _maxBatch = maxBatch;
            int layers = layerSizes.Count - 1;
            _weights = new Parameter[layers];
            _biases = new Parameter[layers];
            _activations = new float[layers][];
            _deltas = new float[layers][];
            var rng = new SplitMix64(seed);
            for (int l = 0; l < layers; l++)
            {
                int fanIn = layerSizes[l], fanOut = layerSizes[l + 1];
                _weights[l] = Parameter.Matrix($"fc{l + 1}.weight", fanOut, fanIn);
                _biases[l] = Parameter.Vector($"fc{l + 1}.bias", fanOut);
                // He (Kaiming) normal init suits ReLU; biases start at zero.
                double std = Math.Sqrt(2.0 / fanIn);
                var w = _weights[l].Value;
                for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextGaussian() * std);
                _activations[l] = new float[maxBatch * fanOut];
                _deltas[l] = new float[maxBatch * fanOut];
            }

            Parameters = Enumerable.Range(0, layers).SelectMany(l => new[] { _weights[l], _biases[l] }).ToArray();
        }

        /// <summary>The default demo network: 784→256→128→10.</summary>
        public static Mlp FashionMnist(int maxBatch, ulong seed) => new Mlp(new[] { 784, 256, 128, 10 }, maxBatch, seed);

        public int[] LayerSizes { get; }
        public int InputSize => LayerSizes[0];
        public int ClassCount => LayerSizes[^1];

        /// <summary>All tensors in layer order: weight then bias.</summary>
        public IReadOnlyList<Parameter> Parameters { get; }

        public long ParameterCount => Parameters.Sum(p => (long)p.Count);

        /// <summary>Logits of the last forward pass, [batch, classes].</summary>
        public ReadOnlySpan<float> Logits(int batch) => _activations[^1].AsSpan(0, batch * ClassCount);

        /// <summary>Forward pass; returns the logits [batch, classes] (valid until the next call).</summary>
        public ReadOnlySpan<float> Forward(ReadOnlySpan<float> inputs, int batch)
        {
            CheckBatch(inputs, batch);
            ReadOnlySpan<float> current = inputs;
            for (int l = 0; l < _weights.Length; l++)
            {
                var w = _weights[l];
                var z = _activations[l].AsSpan(0, batch * w.Rows);
                // Start from the bias in every row, then z += x · Wᵀ.
                for (int b = 0; b < batch; b++) _biases[l].Value.CopyTo(z.Slice(b * w.Rows, w.Rows));
                Blas.Sgemm(false, true, batch, w.Rows, w.Cols, 1f, current, w.Cols, w.Value, w.Cols, 1f, z, w.Rows);
                if (l < _weights.Length - 1)
                    for (int i = 0; i < z.Length; i++) if (z[i] < 0) z[i] = 0;
                current = z;
            }

            return current;
        }

        /// <summary>
        /// Forward and backward on one batch: fills every <see cref="Parameter.Gradient"/> with the
        /// gradient of the mean cross-entropy and returns that loss.
        /// </summary>
        public float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<byte> labels, int batch)
        {
            if (labels.Length < batch) throw new ArgumentException($"{labels.Length} labels for a batch of {batch}", nameof(labels));
            var logits = Forward(inputs, batch);
            int classes = ClassCount;
            int last = _weights.Length - 1;
            var delta = _deltas[last].AsSpan(0, batch * classes);
            double loss = 0;
            for (int b = 0; b < batch; b++)
            {
                var row = logits.Slice(b * classes, classes);
                var d = delta.Slice(b * classes, classes);
                loss += SoftmaxCrossEntropy(row, labels[b], d);
                // d(mean loss)/d(logits) = (softmax − onehot)/batch.
                for (int c = 0; c < classes; c++) d[c] /= batch;
            }

            for (int l = last; l >= 0; l--)
            {
                var w = _weights[l];
                var d = _deltas[l].AsSpan(0, batch * w.Rows);
                ReadOnlySpan<float> input = l == 0 ? inputs.Slice(0, batch * w.Cols) : _activations[l - 1].AsSpan(0, batch * w.Cols);
                // dW = dᵀ · input  ([out, batch] · [batch, in]); db = column sums of d.
                Blas.Sgemm(true, false, w.Rows, w.Cols, batch, 1f, d, w.Rows, input, w.Cols, 0f, w.Gradient, w.Cols);
                var db = _biases[l].Gradient.AsSpan();
                db.Clear();
                for (int b = 0; b < batch; b++)
                {
                    var dRow = d.Slice(b * w.Rows, w.Rows);
                    for (int o = 0; o < dRow.Length; o++) db[o] += dRow[o];
                }

                if (l == 0) break;
                // Delta of the layer below: (d · W) ⊙ ReLU'(its pre-activation); the stored activation is post-ReLU, > 0 exactly where ReLU' = 1.
                var below = _deltas[l - 1].AsSpan(0, batch * w.Cols);
                Blas.Sgemm(false, false, batch, w.Cols, w.Rows, 1f, d, w.Rows, w.Value, w.Cols, 0f, below, w.Cols);
                var activation = _activations[l - 1].AsSpan(0, batch * w.Cols);
                for (int i = 0; i < below.Length; i++) if (activation[i] <= 0) below[i] = 0;
            }

            return (float)(loss / batch);
        }

        /// <summary>Mean loss and accuracy over a dataset, in batches of at most the construction batch size.</summary>
        public (double Loss, double Accuracy) Evaluate(ReadOnlySpan<float> images, ReadOnlySpan<byte> labels)
        {
            int count = labels.Length;
            double loss = 0;
            int correct = 0;
            Span<float> scratch = stackalloc float[ClassCount];
            for (int start = 0; start < count; start += _maxBatch)
            {
                int batch = Math.Min(_maxBatch, count - start);
                var logits = Forward(images.Slice(start * InputSize, batch * InputSize), batch);
                for (int b = 0; b < batch; b++)
                {
                    var row = logits.Slice(b * ClassCount, ClassCount);
                    loss += SoftmaxCrossEntropy(row, labels[start + b], scratch);
                    if (ArgMax(row) == labels[start + b]) correct++;
                }
            }

            return (loss / count, (double)correct / count);
        }

        /// <summary>−log softmax(logits)[label], with softmax − onehot written to <paramref name="gradient"/>.</summary>
        public static double SoftmaxCrossEntropy(ReadOnlySpan<float> logits, int label, Span<float> gradient)
        {
            float max = float.NegativeInfinity;
            foreach (float v in logits) max = Math.Max(max, v);
            double sum = 0;
            for (int c = 0; c < logits.Length; c++) sum += Math.Exp(logits[c] - max);
            double logSum = Math.Log(sum) + max;
            for (int c = 0; c < logits.Length; c++)
                gradient[c] = (float)Math.Exp(logits[c] - logSum) - (c == label ? 1f : 0f);
            return logSum - logits[label];
        }

        public static int ArgMax(ReadOnlySpan<float> values)
        {
            int best = 0;
            for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
            return best;
        }

        private void CheckBatch(ReadOnlySpan<float> inputs, int batch)
        {
            if (batch < 1 || batch > _maxBatch)
                throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be between 1 and {_maxBatch}");
            if (inputs.Length < batch * InputSize)
                throw new ArgumentException($"{inputs.Length} inputs for {batch} rows of {InputSize}", nameof(inputs));
        }
    }
}
