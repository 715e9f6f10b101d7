using System;
using System.IO;
using System.Linq;

namespace Fused.Demo.Data
{
    /// <summary>Finds and loads Fashion-MNIST (60,000 training and 10,000 test images of 28×28 clothes, 10 classes).</summary>
    public static class FashionMnist
    {
        public const int TrainCount = 60_000;
        public const int TestCount = 10_000;
        public const int Side = 28;
        public const int PixelCount = Side * Side;
        public const int ClassCount = 10;

        /// <summary>Where Debian's dataset-fashion-mnist package puts the files.</summary>
        public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

        /// <summary>Environment variable naming another directory holding the four files.</summary>
        public const string DirectoryVariable = "FUSED_FASHION_MNIST";

        public static readonly string[] ClassNames =
            { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };

        // Mean and standard deviation of the training pixels scaled to [0, 1]: centred inputs train faster.
        private const float PixelMean = 0.2860f;
        private const float PixelStd = 0.3530f;

        private static readonly string[] FileStems =
            { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

        public static string InstallHint =>
            $"Install it with `apt-get install dataset-fashion-mnist` (files go to {DebianDirectory}), " +
            $"or point {DirectoryVariable} (or --data) at a directory holding the four IDX files " +
            $"({string.Join(", ", FileStems)}, plain or .gz).";

        /// <summary>
        /// The directory to load from: the explicit one if given (and only it), else $FUSED_FASHION_MNIST, else
        /// Debian's; null when none has the files.
        /// </summary>
        public static string? Locate(string? explicitDirectory = null)
        {
            var candidates = explicitDirectory is not null
                ? new[] { explicitDirectory }
                : new[] { Environment.GetEnvironmentVariable(DirectoryVariable), DebianDirectory };
            return candidates.FirstOrDefault(d => !string.IsNullOrWhiteSpace(d) && FileStems.All(stem => FindFile(d!, stem) != null));
        }

        /// <summary>Loads train and test sets from <paramref name="directory"/> (or the located one).</summary>
        /// <exception cref="FileNotFoundException">No directory holds the dataset; the message says how to install it.</exception>
        /// <exception cref="IdxFormatException">A file is damaged.</exception>
        public static (Dataset Train, Dataset Test) Load(string? directory = null)
        {
            string? found = Locate(directory);
            if (found is null)
            {
                string where = directory ?? Environment.GetEnvironmentVariable(DirectoryVariable) ?? DebianDirectory;
                throw new FileNotFoundException($"Fashion-MNIST not found (looked in {where}). {InstallHint}");
            }

            return (LoadSplit(found, "train", TrainCount), LoadSplit(found, "t10k", TestCount));
        }

        private static Dataset LoadSplit(string directory, string prefix, int count)
        {
            string imagesPath = FindFile(directory, prefix + "-images-idx3-ubyte")!;
            string labelsPath = FindFile(directory, prefix + "-labels-idx1-ubyte")!;
            var images = IdxReader.ReadImages(imagesPath, count);
            if (images.Rows != Side || images.Cols != Side)
                throw new IdxFormatException(imagesPath, $"images are {images.Rows}x{images.Cols}, Fashion-MNIST images are {Side}x{Side}");
            byte[] labels = IdxReader.ReadLabels(labelsPath, count, ClassCount);
            return new Dataset(Normalize(images.Pixels), labels, PixelCount, ClassCount);
        }

        /// <summary>Bytes 0..255 to centred floats: (p/255 − mean)/std.</summary>
        public static float[] Normalize(byte[] pixels)
        {
            var result = new float[pixels.Length];
            for (int i = 0; i < pixels.Length; i++) result[i] = (pixels[i] / 255f - PixelMean) / PixelStd;
            return result;
        }

        private static string? FindFile(string directory, string stem)
        {
            foreach (string name in new[] { stem, stem + ".gz" })
            {
                string path = Path.Combine(directory, name);
                if (File.Exists(path)) return path;
            }

            return null;
        }
    }
}
