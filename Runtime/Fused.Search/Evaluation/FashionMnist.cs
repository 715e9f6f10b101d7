using System;
using System.IO;
using System.IO.Compression;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// Reads Fashion-MNIST from IDX files (gzipped or not), as shipped by Debian's
    /// <c>dataset-fashion-mnist</c> in /usr/share/datasets/fashion-mnist, and downsamples the 28×28
    /// images to 14×14 by 2×2 averaging (scaled to [0, 1]) to keep proxies cheap.
    /// </summary>
    public static class FashionMnist
    {
        public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

        /// <summary>True when both files of the split exist.</summary>
        public static bool Available(string directory, bool train) =>
            Find(directory, ImagesName(train)) != null && Find(directory, LabelsName(train)) != null;

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, bool), Lazy<ClassificationData>> Splits =
            new System.Collections.Concurrent.ConcurrentDictionary<(string, bool), Lazy<ClassificationData>>();

        /// <summary>Throws a one-line <see cref="FileNotFoundException"/> naming the directory and the remedy when a split is missing.</summary>
        public static void Require(string directory, bool train)
        {
            if (!Available(directory, train))
                throw new FileNotFoundException($"Fashion-MNIST {(train ? "train" : "t10k")} files not found in {directory}: install the Debian package dataset-fashion-mnist, or point --data at a directory with the IDX files (.gz or not)");
        }

        /// <summary>A whole split, decoded once per process and shared (read-only).</summary>
        public static ClassificationData LoadSplit(string directory, bool train)
        {
            Require(directory, train);
            return Splits.GetOrAdd((Path.GetFullPath(directory), train), k => new Lazy<ClassificationData>(() => Load(k.Item1, k.Item2, int.MaxValue))).Value;
        }

        /// <summary>The first <paramref name="limit"/> samples of the training or test split.</summary>
        public static ClassificationData Load(string directory, bool train, int limit)
        {
            var images = ReadIdx(Find(directory, ImagesName(train)) ?? throw new FileNotFoundException("no image file in " + directory), out var imageDims);
            var labels = ReadIdx(Find(directory, LabelsName(train)) ?? throw new FileNotFoundException("no label file in " + directory), out var labelDims);
            if (imageDims.Length != 3 || labelDims.Length != 1 || imageDims[0] != labelDims[0])
                throw new InvalidDataException("unexpected IDX dimensions");
            int count = Math.Min(limit, imageDims[0]);
            int rows = imageDims[1], cols = imageDims[2], outRows = rows / 2, outCols = cols / 2;
            var x = new float[count * outRows * outCols];
            var y = new int[count];
            for (int n = 0; n < count; n++)
            {
                y[n] = labels[n];
                int baseIn = n * rows * cols, baseOut = n * outRows * outCols;
                for (int r = 0; r < outRows; r++)
                    for (int c = 0; c < outCols; c++)
                    {
                        int sum = images[baseIn + 2 * r * cols + 2 * c] + images[baseIn + 2 * r * cols + 2 * c + 1]
                                + images[baseIn + (2 * r + 1) * cols + 2 * c] + images[baseIn + (2 * r + 1) * cols + 2 * c + 1];
                        x[baseOut + r * outCols + c] = sum / (4f * 255f);
                    }
            }
            return new ClassificationData(x, y, outRows * outCols, 10, "fashion-mnist " + (train ? "train" : "t10k"));
        }

        private static string ImagesName(bool train) => train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
        private static string LabelsName(bool train) => train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte";

        private static string? Find(string directory, string name)
        {
            foreach (var candidate in new[] { Path.Combine(directory, name + ".gz"), Path.Combine(directory, name) })
                if (File.Exists(candidate)) return candidate;
            return null;
        }

        /// <summary>An IDX file of unsigned bytes: magic 0x0000080D (D = dimension count), big-endian sizes, data.</summary>
        public static byte[] ReadIdx(string path, out int[] dims)
        {
            using var file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var bytes = memory.ToArray();
            if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08)
                throw new InvalidDataException($"{path} is not an IDX file of unsigned bytes");
            int d = bytes[3];
            dims = new int[d];
            long total = 1;
            for (int i = 0; i < d; i++)
            {
                int o = 4 + 4 * i;
                dims[i] = (bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3];
                total *= dims[i];
            }
            int header = 4 + 4 * d;
            if (bytes.Length - header < total) throw new InvalidDataException($"{path} is truncated");
            return bytes.AsSpan(header, (int)total).ToArray();
        }
    }
}
