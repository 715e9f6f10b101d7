using System;
using System.Collections.Generic;
using Fused.Demo.Data;

namespace Fused.Demo.Model
{
    /// <summary>An image classifier (MLP or CNN) on a labelled image dataset such as Fashion-MNIST.</summary>
    public sealed class ImageClassification : IModelTask
    {
        private readonly Dataset _train;
        private readonly Dataset _test;
        private readonly Func<int, ulong, IImageClassifier> _create;

        /// <param name="create">Builds the network from (max batch, seed).</param>
        public ImageClassification(string name, string description, Dataset train, Dataset test, Func<int, ulong, IImageClassifier> create)
        {
            Name = name;
            Description = description;
            _train = train;
            _test = test;
            _create = create;
        }

        /// <summary>The MLP with <paramref name="layerSizes"/> (784→256→128→10 by default).</summary>
        public static ImageClassification Mlp(Dataset train, Dataset test, IReadOnlyList<int> layerSizes)
        {
            if (train.FeatureCount != layerSizes[0])
                throw new ArgumentException($"the model takes {layerSizes[0]} inputs, the images have {train.FeatureCount}");
            return new ImageClassification("mlp", $"MLP {string.Join("→", layerSizes)}, ReLU, softmax cross-entropy", train, test,
                (batch, seed) => new Mlp(layerSizes, batch, seed));
        }

        /// <summary>The default CNN on 28×28 single-channel images.</summary>
        public static ImageClassification Cnn(Dataset train, Dataset test)
        {
            if (train.FeatureCount != FashionMnist.PixelCount)
                throw new ArgumentException($"the CNN takes {FashionMnist.Side}×{FashionMnist.Side} images ({FashionMnist.PixelCount} pixels), these have {train.FeatureCount}");
            return new ImageClassification("cnn", $"CNN {Model.Cnn.DefaultShape.Description}, softmax cross-entropy", train, test,
                (batch, seed) => new Cnn(Model.Cnn.DefaultShape, batch, seed));
        }

        public string Name { get; }
        public string Description { get; }
        public int TrainingExampleCount => _train.Count;

        public IModel Create(ulong seed, int maxBatch) => new Bound(_create(maxBatch, seed), _train, _test, maxBatch);

        /// <summary>The network with its batch buffers: gathers the examples' images and labels, evaluates in batches.</summary>
        private sealed class Bound : IModel
        {
            private readonly IImageClassifier _network;
            private readonly Dataset _train;
            private readonly Dataset _test;
            private readonly int _maxBatch;
            private readonly float[] _images;
            private readonly byte[] _labels;

            public Bound(IImageClassifier network, Dataset train, Dataset test, int maxBatch)
            {
                _network = network;
                _train = train;
                _test = test;
                _maxBatch = maxBatch;
                _images = new float[maxBatch * train.FeatureCount];
                _labels = new byte[maxBatch];
            }

            public IReadOnlyList<Parameter> Parameters => _network.Parameters;

            public float TrainBatch(ReadOnlySpan<int> examples)
            {
                int features = _train.FeatureCount;
                for (int b = 0; b < examples.Length; b++)
                {
                    _train.Image(examples[b]).CopyTo(_images.AsSpan(b * features, features));
                    _labels[b] = _train.Labels[examples[b]];
                }

                return _network.ForwardBackward(_images, _labels, examples.Length);
            }

            public (double Loss, double Accuracy) Evaluate()
            {
                int count = _test.Count, classes = _network.ClassCount, features = _test.FeatureCount;
                double loss = 0;
                int correct = 0;
                Span<float> scratch = stackalloc float[classes];
                for (int start = 0; start < count; start += _maxBatch)
                {
                    int batch = Math.Min(_maxBatch, count - start);
                    var logits = _network.Forward(_test.Images.AsSpan(start * features, batch * features), batch);
                    for (int b = 0; b < batch; b++)
                    {
                        var row = logits.Slice(b * classes, classes);
                        loss += CrossEntropy.Loss(row, _test.Labels[start + b], scratch);
                        if (CrossEntropy.ArgMax(row) == _test.Labels[start + b]) correct++;
                    }
                }

                return (loss / count, (double)correct / count);
            }
        }
    }
}
