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
    public sealed class Mlp : IImageClassifier
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
                // Every weight but the classifier head is hidden (Muon's domain in the seeds' routing).
                _weights[l] = Parameter.Matrix($"fc{l + 1}.weight", fanOut, fanIn, hidden: l < layers - 1);
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
                Dense.Forward(w, _biases[l], current, batch, z);
                if (l < _weights.Length - 1) Dense.Relu(z);
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
            double loss = Dense.MeanCrossEntropy(logits, classes, batch, labels.Slice(0, batch), _deltas[last]);

            for (int l = last; l >= 0; l--)
            {
                var w = _weights[l];
                var d = _deltas[l].AsSpan(0, batch * w.Rows);
                ReadOnlySpan<float> input = l == 0 ? inputs.Slice(0, batch * w.Cols) : _activations[l - 1].AsSpan(0, batch * w.Cols);
                // Delta of the layer below: (d · W) ⊙ ReLU'(its pre-activation).
                var below = l == 0 ? Span<float>.Empty : _deltas[l - 1].AsSpan(0, batch * w.Cols);
                Dense.Backward(w, _biases[l], input, d, batch, below);
                if (l == 0) break;
                Dense.ReluBackward(below, _activations[l - 1].AsSpan(0, batch * w.Cols));
            }

            return (float)loss;
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
