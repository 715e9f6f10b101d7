using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Demo.Model
{
    /// <summary>Sizes of the <see cref="Cnn"/>: square images of <paramref name="Side"/> pixels (a multiple of 4).</summary>
    public sealed record CnnShape(int Side, int InputChannels, int Channels1, int Channels2, int Classes)
    {
        public int PooledSide => Side / 4;
        public int Features => PooledSide * PooledSide * Channels2;

        public string Description =>
            $"conv3×3({InputChannels}→{Channels1})-ReLU-pool2-conv3×3({Channels1}→{Channels2})-ReLU-pool2-fc({Features}→{Classes})";
    }

    /// <summary>
    /// A small convolutional net: conv3×3-ReLU-maxpool2 twice, then a fully connected head. Activations are
    /// channels-last [batch, y, x, channel]; each convolution is im2col then one GEMM (<see cref="Dense"/>) with the
    /// kernel stored as a 2-D matrix [out channels, 3·3·in channels], which is also the shape Muon orthogonalises.
    /// Parameters: conv1.weight/bias, conv2.weight/bias, fc.weight/bias.
    /// </summary>
    public sealed class Cnn : IImageClassifier
    {
        private readonly CnnShape _s;
        private readonly int _maxBatch;
        private readonly Parameter _conv1, _bias1, _conv2, _bias2, _fc, _fcBias;
        // Forward buffers, kept for the backward pass.
        private readonly float[] _cols1, _a1, _p1, _cols2, _a2, _p2, _logits;
        private readonly int[] _arg1, _arg2;
        // Backward buffers.
        private readonly float[] _dLogits, _dP2, _dA2, _dCols2, _dP1, _dA1;

        public Cnn(CnnShape shape, int maxBatch, ulong seed)
        {
            if (shape.Side < 4 || shape.Side % 4 != 0) throw new ArgumentException($"the CNN needs a side that is a multiple of 4, got {shape.Side}", nameof(shape));
            if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "batch size must be at least 1");
            _s = shape;
            _maxBatch = maxBatch;
            _conv1 = Parameter.Matrix("conv1.weight", shape.Channels1, 9 * shape.InputChannels, hidden: true);
            _bias1 = Parameter.Vector("conv1.bias", shape.Channels1);
            _conv2 = Parameter.Matrix("conv2.weight", shape.Channels2, 9 * shape.Channels1, hidden: true);
            _bias2 = Parameter.Vector("conv2.bias", shape.Channels2);
            _fc = Parameter.Matrix("fc.weight", shape.Classes, shape.Features);
            _fcBias = Parameter.Vector("fc.bias", shape.Classes);
            Parameters = new[] { _conv1, _bias1, _conv2, _bias2, _fc, _fcBias };
            // He (Kaiming) normal init for the ReLU layers; biases start at zero.
            var rng = new SplitMix64(seed);
            foreach (var w in new[] { _conv1, _conv2, _fc })
            {
                double std = Math.Sqrt(2.0 / w.Cols);
                for (int i = 0; i < w.Count; i++) w.Value[i] = (float)(rng.NextGaussian() * std);
            }

            int pixels1 = maxBatch * shape.Side * shape.Side, pixels2 = pixels1 / 4, pixels3 = pixels2 / 4;
            _cols1 = new float[pixels1 * 9 * shape.InputChannels];
            _a1 = new float[pixels1 * shape.Channels1];
            _p1 = new float[pixels2 * shape.Channels1];
            _arg1 = new int[_p1.Length];
            _cols2 = new float[pixels2 * 9 * shape.Channels1];
            _a2 = new float[pixels2 * shape.Channels2];
            _p2 = new float[pixels3 * shape.Channels2];
            _arg2 = new int[_p2.Length];
            _logits = new float[maxBatch * shape.Classes];
            _dLogits = new float[_logits.Length];
            _dP2 = new float[_p2.Length];
            _dA2 = new float[_a2.Length];
            _dCols2 = new float[_cols2.Length];
            _dP1 = new float[_p1.Length];
            _dA1 = new float[_a1.Length];
        }

        /// <summary>The demo's CNN on Fashion-MNIST: 28×28×1 → 16 → 32 channels → 10 classes (about 20 k weights).</summary>
        public static CnnShape DefaultShape { get; } = new CnnShape(28, 1, 16, 32, 10);

        public CnnShape Shape => _s;
        public IReadOnlyList<Parameter> Parameters { get; }
        public long ParameterCount => Parameters.Sum(p => (long)p.Count);
        public int InputSize => _s.Side * _s.Side * _s.InputChannels;
        public int ClassCount => _s.Classes;

        public ReadOnlySpan<float> Forward(ReadOnlySpan<float> inputs, int batch)
        {
            if (batch < 1 || batch > _maxBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be between 1 and {_maxBatch}");
            if (inputs.Length < batch * InputSize) throw new ArgumentException($"{inputs.Length} inputs for {batch} images of {InputSize}", nameof(inputs));
            int side = _s.Side, half = side / 2, pixels1 = batch * side * side, pixels2 = pixels1 / 4;
            Convolution.Im2Col(inputs, batch, side, _s.InputChannels, _cols1);
            Dense.Forward(_conv1, _bias1, _cols1, pixels1, _a1);
            Dense.Relu(_a1.AsSpan(0, pixels1 * _s.Channels1));
            Convolution.MaxPool(_a1, batch, side, _s.Channels1, _p1, _arg1);
            Convolution.Im2Col(_p1, batch, half, _s.Channels1, _cols2);
            Dense.Forward(_conv2, _bias2, _cols2, pixels2, _a2);
            Dense.Relu(_a2.AsSpan(0, pixels2 * _s.Channels2));
            Convolution.MaxPool(_a2, batch, half, _s.Channels2, _p2, _arg2);
            // The pooled NHWC block of one image is its feature row for the head.
            Dense.Forward(_fc, _fcBias, _p2, batch, _logits);
            return _logits.AsSpan(0, batch * _s.Classes);
        }

        public float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<byte> labels, int batch)
        {
            if (labels.Length < batch) throw new ArgumentException($"{labels.Length} labels for a batch of {batch}", nameof(labels));
            var logits = Forward(inputs, batch);
            double loss = Dense.MeanCrossEntropy(logits, _s.Classes, batch, labels.Slice(0, batch), _dLogits);
            int side = _s.Side, half = side / 2, pixels1 = batch * side * side, pixels2 = pixels1 / 4, pixels3 = pixels2 / 4;

            Dense.Backward(_fc, _fcBias, _p2, _dLogits, batch, _dP2);
            Convolution.MaxPoolBackward(_dP2, _arg2, pixels3 * _s.Channels2, _dA2.AsSpan(0, pixels2 * _s.Channels2));
            Dense.ReluBackward(_dA2.AsSpan(0, pixels2 * _s.Channels2), _a2);
            Dense.Backward(_conv2, _bias2, _cols2, _dA2, pixels2, _dCols2);
            Convolution.Col2Im(_dCols2, batch, half, _s.Channels1, _dP1);
            Convolution.MaxPoolBackward(_dP1, _arg1, pixels2 * _s.Channels1, _dA1.AsSpan(0, pixels1 * _s.Channels1));
            Dense.ReluBackward(_dA1.AsSpan(0, pixels1 * _s.Channels1), _a1);
            Dense.Backward(_conv1, _bias1, _cols1, _dA1, pixels1, Span<float>.Empty);
            return (float)loss;
        }
    }
}
