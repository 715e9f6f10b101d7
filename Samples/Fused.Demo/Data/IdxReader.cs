using System;
using System.IO;
using System.IO.Compression;

namespace Fused.Demo.Data
{
    /// <summary>
    /// Reads the IDX files MNIST and Fashion-MNIST ship in: a big-endian header (two zero bytes, a type
    /// code, the number of dimensions, then one 32-bit size per dimension) followed by the data. Only
    /// unsigned-byte data (type 0x08) is accepted. Files ending in .gz are decompressed on the fly.
    /// </summary>
    public static class IdxReader
    {
        /// <summary>Type code of unsigned-byte data, the only one these datasets use.</summary>
        public const byte UnsignedByteType = 0x08;

        /// <summary>Reads an image file: magic 0x00000803, dimensions [count, rows, cols].</summary>
        public static IdxImages ReadImages(string path, int? expectedCount = null)
        {
            var (dims, data) = Read(path, expectedDimensions: 3);
            if (expectedCount is int count && dims[0] != count)
                throw new IdxFormatException(path, $"expected {count} images but the header says {dims[0]}");
            return new IdxImages(dims[0], dims[1], dims[2], data);
        }

        /// <summary>Reads a label file: magic 0x00000801, dimensions [count].</summary>
        public static byte[] ReadLabels(string path, int? expectedCount = null, int classCount = 10)
        {
            var (dims, data) = Read(path, expectedDimensions: 1);
            if (expectedCount is int count && dims[0] != count)
                throw new IdxFormatException(path, $"expected {count} labels but the header says {dims[0]}");
            for (int i = 0; i < data.Length; i++)
                if (data[i] >= classCount)
                    throw new IdxFormatException(path, $"label {i} is {data[i]}, outside the {classCount} classes 0..{classCount - 1}");
            return data;
        }

        /// <summary>Reads any unsigned-byte IDX file with the given number of dimensions.</summary>
        public static (int[] Dimensions, byte[] Data) Read(string path, int expectedDimensions)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {path}", path);
            byte[] bytes;
            try
            {
                bytes = ReadAllBytes(path);
            }
            catch (InvalidDataException e)
            {
                throw new IdxFormatException(path, $"not a valid gzip stream ({e.Message})");
            }

            try
            {
                return Parse(path, bytes, expectedDimensions);
            }
            catch (IdxFormatException e) when (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                // A damaged .gz often decompresses to too few bytes rather than failing: say where the bytes came from.
                throw new IdxFormatException(path, e.Problem + " (after gzip decompression)");
            }
        }

        /// <summary>Parses IDX bytes; <paramref name="path"/> is only used in error messages.</summary>
        public static (int[] Dimensions, byte[] Data) Parse(string path, ReadOnlySpan<byte> bytes, int expectedDimensions)
        {
            if (bytes.Length < 4)
                throw new IdxFormatException(path, $"file is {bytes.Length} bytes, too short for the 4-byte IDX magic number");
            uint magic = ReadBigEndian(bytes, 0);
            uint expectedMagic = (uint)(UnsignedByteType << 8 | expectedDimensions);
            if (bytes[0] != 0 || bytes[1] != 0)
                throw new IdxFormatException(path, $"bad magic number 0x{magic:X8}: an IDX file starts with two zero bytes (expected 0x{expectedMagic:X8})");
            if (bytes[2] != UnsignedByteType)
                throw new IdxFormatException(path, $"bad magic number 0x{magic:X8}: data type 0x{bytes[2]:X2} is not unsigned byte (0x08)");
            if (bytes[3] != expectedDimensions)
                throw new IdxFormatException(path, $"bad magic number 0x{magic:X8}: {bytes[3]} dimension(s), expected {expectedDimensions} (0x{expectedMagic:X8})");

            int headerLength = 4 + 4 * expectedDimensions;
            if (bytes.Length < headerLength)
                throw new IdxFormatException(path, $"truncated header: {bytes.Length} bytes, the header of a {expectedDimensions}-dimensional file needs {headerLength}");

            var dims = new int[expectedDimensions];
            long expectedData = 1;
            for (int d = 0; d < expectedDimensions; d++)
            {
                uint size = ReadBigEndian(bytes, 4 + 4 * d);
                if (size == 0 || size > int.MaxValue)
                    throw new IdxFormatException(path, $"dimension {d} has size {size}; sizes must be between 1 and {int.MaxValue}");
                dims[d] = (int)size;
                expectedData *= size;
                if (expectedData > int.MaxValue)
                    throw new IdxFormatException(path, "the dimensions describe more than 2 GB of data");
            }

            long actualData = bytes.Length - headerLength;
            if (actualData < expectedData)
                throw new IdxFormatException(path, $"truncated: the header ({string.Join("x", dims)}) needs {expectedData} data bytes but the file has {actualData}");
            if (actualData > expectedData)
                throw new IdxFormatException(path, $"{actualData - expectedData} unexpected bytes after the {expectedData} data bytes the header ({string.Join("x", dims)}) describes");

            return (dims, bytes.Slice(headerLength).ToArray());
        }

        private static byte[] ReadAllBytes(string path)
        {
            if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return File.ReadAllBytes(path);
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var buffer = new MemoryStream();
            gzip.CopyTo(buffer);
            return buffer.ToArray();
        }

        private static uint ReadBigEndian(ReadOnlySpan<byte> bytes, int offset)
            => (uint)(bytes[offset] << 24 | bytes[offset + 1] << 16 | bytes[offset + 2] << 8 | bytes[offset + 3]);
    }

    /// <summary>Raw images as read from an IDX file: <see cref="Count"/> images of <see cref="Rows"/>×<see cref="Cols"/> bytes.</summary>
    public sealed record IdxImages(int Count, int Rows, int Cols, byte[] Pixels);
}
