using System;

namespace Fused.Demo.Data
{
    /// <summary>Images as normalised float rows (one image per row of <see cref="Features"/>) and their class labels.</summary>
    public sealed class Dataset
    {
        public Dataset(float[] images, byte[] labels, int featureCount, int classCount)
        {
            if (images.Length != labels.Length * featureCount)
                throw new ArgumentException($"{images.Length} floats is not {labels.Length} images of {featureCount} features");
            Images = images;
            Labels = labels;
            FeatureCount = featureCount;
            ClassCount = classCount;
        }

        /// <summary>Row-major [Count, FeatureCount].</summary>
        public float[] Images { get; }
        public byte[] Labels { get; }
        public int Count => Labels.Length;
        public int FeatureCount { get; }
        public int ClassCount { get; }

        public ReadOnlySpan<float> Image(int index) => Images.AsSpan(index * FeatureCount, FeatureCount);

        /// <summary>The first <paramref name="count"/> examples (the files are not sorted by class, so a prefix is a fair sample).</summary>
        public Dataset Take(int count)
        {
            if (count >= Count) return this;
            if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "a subset needs at least one example");
            return new Dataset(Images.AsSpan(0, count * FeatureCount).ToArray(), Labels.AsSpan(0, count).ToArray(), FeatureCount, ClassCount);
        }
    }
}
