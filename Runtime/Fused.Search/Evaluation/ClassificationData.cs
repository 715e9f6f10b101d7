using System;

namespace Fused.Search.Evaluation
{
    /// <summary>A labelled data set held as float features (row-major, one row per sample) and class labels.</summary>
    public sealed class ClassificationData
    {
        public ClassificationData(float[] features, int[] labels, int featureCount, int classCount, string source)
        {
            if (features.Length != labels.Length * featureCount) throw new ArgumentException("features and labels disagree");
            Features = features;
            Labels = labels;
            FeatureCount = featureCount;
            ClassCount = classCount;
            Source = source;
        }

        public float[] Features { get; }
        public int[] Labels { get; }
        public int FeatureCount { get; }
        public int ClassCount { get; }
        public int Count => Labels.Length;
        /// <summary>Where the data came from (file set or "synthetic"), for reports.</summary>
        public string Source { get; }

        public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * FeatureCount, FeatureCount);

        /// <summary>Samples [start, start + count).</summary>
        public ClassificationData Slice(int start, int count) =>
            new ClassificationData(Features.AsSpan(start * FeatureCount, count * FeatureCount).ToArray(),
                Labels.AsSpan(start, count).ToArray(), FeatureCount, ClassCount, Source);

        /// <summary>Linearly separable-ish data from a random teacher, with label noise (for logistic regression).</summary>
        public static ClassificationData TeacherLabelled(int count, int features, int classes, double labelNoise, ulong seed)
        {
            var rng = new SearchRandom(seed);
            var teacher = new double[classes * features];
            for (int i = 0; i < teacher.Length; i++) teacher[i] = rng.NextGaussian();
            var x = new float[count * features];
            var y = new int[count];
            for (int n = 0; n < count; n++)
            {
                for (int f = 0; f < features; f++) x[n * features + f] = (float)(rng.NextGaussian() * (1 + f % 4));
                int best = 0; double bestScore = double.NegativeInfinity;
                for (int c = 0; c < classes; c++)
                {
                    double s = 0;
                    for (int f = 0; f < features; f++) s += teacher[c * features + f] * x[n * features + f];
                    if (s > bestScore) { bestScore = s; best = c; }
                }
                y[n] = rng.Chance(labelNoise) ? rng.Next(classes) : best;
            }
            return new ClassificationData(x, y, features, classes, "synthetic");
        }

        /// <summary>Gaussian class clusters: the stand-in for images when the Fashion-MNIST files are missing.</summary>
        public static ClassificationData Clusters(int count, int features, int classes, ulong seed)
        {
            var rng = new SearchRandom(seed);
            var centres = new double[classes * features];
            for (int i = 0; i < centres.Length; i++) centres[i] = rng.NextGaussian() * 0.5;
            var x = new float[count * features];
            var y = new int[count];
            for (int n = 0; n < count; n++)
            {
                int c = rng.Next(classes);
                y[n] = c;
                for (int f = 0; f < features; f++) x[n * features + f] = (float)(centres[c * features + f] + rng.NextGaussian());
            }
            return new ClassificationData(x, y, features, classes, "synthetic");
        }
    }
}
