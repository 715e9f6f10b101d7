using System;
using System.IO;
using System.IO.Compression;
using Fused.Demo.Data;
using Xunit;

namespace Fused.Demo.Tests
{
    public sealed class IdxReaderTests : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("fused-idx-").FullName;

        public void Dispose() => Directory.Delete(_directory, recursive: true);

        private static byte[] ImageFile(int count, int rows, int cols, int? dataBytes = null, byte dims = 3, byte type = 0x08)
        {
            int data = dataBytes ?? count * rows * cols;
            var bytes = new byte[16 + data];
            bytes[2] = type;
            bytes[3] = dims;
            WriteBigEndian(bytes, 4, count);
            WriteBigEndian(bytes, 8, rows);
            WriteBigEndian(bytes, 12, cols);
            for (int i = 0; i < data; i++) bytes[16 + i] = (byte)(i % 251);
            return bytes;
        }

        private static byte[] LabelFile(params byte[] labels)
        {
            var bytes = new byte[8 + labels.Length];
            bytes[2] = 0x08;
            bytes[3] = 1;
            WriteBigEndian(bytes, 4, labels.Length);
            labels.CopyTo(bytes, 8);
            return bytes;
        }

        private static void WriteBigEndian(byte[] bytes, int offset, int value)
        {
            bytes[offset] = (byte)(value >> 24);
            bytes[offset + 1] = (byte)(value >> 16);
            bytes[offset + 2] = (byte)(value >> 8);
            bytes[offset + 3] = (byte)value;
        }

        private string Write(string name, byte[] bytes, bool gzip = false)
        {
            string path = Path.Combine(_directory, name);
            if (!gzip)
            {
                File.WriteAllBytes(path, bytes);
                return path;
            }

            using var file = File.Create(path);
            using var stream = new GZipStream(file, CompressionLevel.Fastest);
            stream.Write(bytes);
            return path;
        }

        [Fact]
        public void Reads_a_valid_image_file()
        {
            var images = IdxReader.ReadImages(Write("images-idx3-ubyte", ImageFile(3, 4, 5)), expectedCount: 3);
            Assert.Equal(3, images.Count);
            Assert.Equal(4, images.Rows);
            Assert.Equal(5, images.Cols);
            Assert.Equal(60, images.Pixels.Length);
            Assert.Equal(59, images.Pixels[59]);
        }

        [Fact]
        public void Reads_gzipped_files_the_same_as_plain_ones()
        {
            var plain = IdxReader.ReadImages(Write("a-idx3-ubyte", ImageFile(2, 3, 3)));
            var gzipped = IdxReader.ReadImages(Write("a-idx3-ubyte.gz", ImageFile(2, 3, 3), gzip: true));
            Assert.Equal(plain.Pixels, gzipped.Pixels);
            Assert.Equal(new byte[] { 1, 0, 9 }, IdxReader.ReadLabels(Write("l-idx1-ubyte.gz", LabelFile(1, 0, 9), gzip: true)));
        }

        [Fact]
        public void Bad_magic_number_names_the_file_and_the_problem()
        {
            var bytes = ImageFile(2, 2, 2);
            bytes[0] = 0x1F;
            string path = Write("bad-magic", bytes);
            var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("bad magic number", e.Message);
        }

        [Fact]
        public void Wrong_dimension_count_in_the_magic_is_rejected()
        {
            string path = Write("labels-as-images", LabelFile(1, 2, 3));
            var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));
            Assert.Contains("1 dimension(s), expected 3", e.Message);
        }

        [Fact]
        public void Non_byte_data_type_is_rejected()
        {
            string path = Write("floats", ImageFile(1, 1, 1, type: 0x0D));
            Assert.Contains("not unsigned byte", Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path)).Message);
        }

        [Fact]
        public void Truncated_data_says_how_much_is_missing()
        {
            string path = Write("truncated", ImageFile(10, 28, 28, dataBytes: 1000));
            var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("truncated", e.Message);
            Assert.Contains("7840", e.Message);
            Assert.Contains("1000", e.Message);
        }

        [Fact]
        public void Truncated_header_is_rejected()
        {
            string path = Write("short", new byte[] { 0, 0, 8, 3, 0, 0 });
            Assert.Contains("truncated header", Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path)).Message);
        }

        [Fact]
        public void Trailing_bytes_are_rejected()
        {
            string path = Write("long", ImageFile(1, 2, 2, dataBytes: 6));
            Assert.Contains("unexpected bytes", Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path)).Message);
        }

        [Fact]
        public void Wrong_count_is_reported_against_the_expected_one()
        {
            string path = Write("count", ImageFile(5, 2, 2));
            var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path, expectedCount: 60000));
            Assert.Contains("expected 60000 images but the header says 5", e.Message);
        }

        [Fact]
        public void Label_outside_the_classes_is_rejected()
        {
            string path = Write("labels", LabelFile(3, 10));
            Assert.Contains("label 1 is 10", Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(path)).Message);
        }

        [Fact]
        public void Corrupt_gzip_is_reported_as_a_format_error()
        {
            string path = Write("broken.gz", new byte[] { 0x1F, 0x8B, 8, 0, 1, 2, 3 });
            Assert.Contains("gzip", Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path)).Message);
        }

        [Fact]
        public void Missing_dataset_says_how_to_install_it()
        {
            var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(Path.Combine(_directory, "nowhere")));
            Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        }
    }
}
