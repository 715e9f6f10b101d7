using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Fused.Runtime.Checkpoints;
using Xunit;

namespace Fused.Runtime.Tests.Checkpoints
{
    public sealed class SafeTensorsTests : IDisposable
    {
        private readonly Random _rng = new Random(Environment.TickCount ^ 0x7e);
        private readonly string _dir;

        public SafeTensorsTests()
        {
            _dir = Path.Combine(Path.GetTempPath(), "fused-ckpt-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string PathOf(string name) => Path.Combine(_dir, name);

        private sealed class Sample
        {
            public float[] Weights = Array.Empty<float>();
            public double[] Doubles = Array.Empty<double>();
            public long[] Steps = Array.Empty<long>();
            public ushort[] Half = Array.Empty<ushort>();
            public byte[] Codes = Array.Empty<byte>();
        }

        private Sample MakeSample()
        {
            var s = new Sample
            {
                Weights = Enumerable.Range(0, 3 * 5 * 7).Select(_ => (float)(_rng.NextDouble() * 2 - 1)).ToArray(),
                Doubles = Enumerable.Range(0, 13).Select(_ => _rng.NextDouble() * 1e10).ToArray(),
                Steps = new[] { _rng.NextInt64(), -1L, long.MaxValue },
                Half = Enumerable.Range(0, 9).Select(_ => (ushort)_rng.Next(0x10000)).ToArray(),
                Codes = Enumerable.Range(0, 1001).Select(_ => (byte)_rng.Next(256)).ToArray(),
            };
            return s;
        }

        private static SafeTensorsWriter WriterFor(Sample s) => new SafeTensorsWriter()
            .Add("layer.0.weight", new long[] { 3, 5, 7 }, s.Weights)
            .Add("doubles", new long[] { 13 }, s.Doubles)
            .Add("step", new long[] { 3 }, s.Steps)
            .AddBFloat16("half", new long[] { 3, 3 }, s.Half)
            .AddBytes("codes", new long[] { 1001 }, s.Codes)
            .Add("empty", SafeTensorsDType.F32, new long[] { 0, 4 }, ReadOnlyMemory<byte>.Empty)
            .AddMetadata("format", "fused")
            .AddMetadata("optimizer", "AdamW \"quoted\" ünïcode");

        [Fact]
        public void RoundTrip_PreservesTensorsBitsShapesOrderAndMetadata()
        {
            var s = MakeSample();
            string path = PathOf("model.safetensors");
            WriterFor(s).Write(path);
            var file = SafeTensorsFile.Load(path);

            Assert.Equal(new[] { "layer.0.weight", "doubles", "step", "half", "codes", "empty" }, file.Tensors.Select(t => t.Name));
            Assert.Equal(new long[] { 3, 5, 7 }, file["layer.0.weight"].Shape);
            Assert.Equal(SafeTensorsDType.F32, file["layer.0.weight"].DType);
            Assert.Equal(s.Weights, file["layer.0.weight"].AsSpan<float>().ToArray());
            Assert.Equal(s.Doubles, file["doubles"].AsSpan<double>().ToArray());
            Assert.Equal(s.Steps, file["step"].AsSpan<long>().ToArray());
            Assert.Equal(SafeTensorsDType.BF16, file["half"].DType);
            Assert.Equal(s.Half, file["half"].AsSpan<ushort>().ToArray());
            Assert.Equal(s.Codes, file["codes"].Data.ToArray());
            Assert.Equal(0, file["empty"].ElementCount);
            Assert.Equal(new long[] { 0, 4 }, file["empty"].Shape);
            Assert.Equal("fused", file.Metadata["format"]);
            Assert.Equal("AdamW \"quoted\" ünïcode", file.Metadata["optimizer"]);
            Assert.Matches("^[0-9a-f]{64}$", file.Metadata["fused.sha256"]);
            Assert.Throws<InvalidOperationException>(() => file["half"].AsSpan<float>());
            Assert.Throws<System.Collections.Generic.KeyNotFoundException>(() => file["missing"]);

            // Layout per the format: u64 LE header length, header padded with spaces, data 8-aligned.
            byte[] bytes = File.ReadAllBytes(path);
            long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0, (8 + n) % 8);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
            Assert.StartsWith("{", header);
            Assert.EndsWith("}", header.TrimEnd(' ')); // only spaces after the JSON
            Assert.True(MemoryMarshal.AsBytes(s.Weights.AsSpan()).SequenceEqual(bytes.AsSpan((int)(8 + n), s.Weights.Length * 4)));
            Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        }

        [Fact]
        public void WriterRejectsInconsistentTensors()
        {
            var w = new SafeTensorsWriter();
            var e = Assert.Throws<ArgumentException>(() => w.Add("x", new long[] { 2, 3 }, new float[5]));
            Assert.Contains("needs 24 bytes, data has 20", e.Message);
            w.Add("x", new long[] { 5 }, new float[5]);
            Assert.Throws<ArgumentException>(() => w.Add("x", new long[] { 5 }, new float[5]));
            Assert.Throws<ArgumentException>(() => w.Add("y", new long[] { -1 }, new float[0]));
            Assert.Throws<ArgumentException>(() => w.Add("__metadata__", new long[] { 1 }, new float[1]));
            Assert.Throws<ArgumentException>(() => w.AddMetadata("fused.sha256", "x"));
        }

        private string WriteSample(string name = "ckpt.safetensors")
        {
            string path = PathOf(name);
            WriterFor(MakeSample()).Write(path);
            return path;
        }

        private static CheckpointException LoadFails(string path)
            => Assert.Throws<CheckpointException>(() => SafeTensorsFile.Load(path));

        [Fact]
        public void TruncatedFile_IsReportedWithSizes()
        {
            string path = WriteSample();
            byte[] bytes = File.ReadAllBytes(path);
            long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            long data = bytes.Length - 8 - n;
            File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 48).ToArray());
            var e = LoadFails(path);
            Assert.Equal($"checkpoint '{path}' is truncated: header says {data} bytes of tensor data, file has {data - 48}", e.Message);
            Assert.Equal(path, e.FilePath);

            File.WriteAllBytes(path, bytes.AsSpan(0, 5).ToArray());
            Assert.Contains("too short for the 8-byte header length", LoadFails(path).Message);

            File.WriteAllBytes(path, bytes.AsSpan(0, 8 + (int)n / 2).ToArray());
            Assert.Contains("points past the end of the file", LoadFails(path).Message);
        }

        [Fact]
        public void HeaderLengthPastTheEnd_OrAbove100MB_IsRejected()
        {
            string path = WriteSample();
            byte[] bytes = File.ReadAllBytes(path);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
            File.WriteAllBytes(path, bytes);
            Assert.Contains($"header length {bytes.Length} points past the end of the file ({bytes.Length} bytes)", LoadFails(path).Message);

            BinaryPrimitives.WriteUInt64LittleEndian(bytes, 200_000_000);
            File.WriteAllBytes(path, bytes);
            Assert.Contains("larger than the 100000000-byte limit", LoadFails(path).Message);
        }

        [Fact]
        public void EveryDataBitFlip_FailsTheChecksum()
        {
            string path = WriteSample();
            byte[] original = File.ReadAllBytes(path);
            long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(original);
            // A sample of positions spread over the data section, every bit of each.
            for (int trial = 0; trial < 40; trial++)
            {
                int position = (int)(8 + n) + _rng.Next(original.Length - 8 - (int)n);
                byte[] bytes = (byte[])original.Clone();
                bytes[position] ^= (byte)(1 << _rng.Next(8));
                File.WriteAllBytes(path, bytes);
                Assert.Contains("failed its checksum", LoadFails(path).Message);
            }
        }

        [Fact]
        public void EveryHeaderBitFlip_IsDetected()
        {
            // Every single-bit corruption of the length prefix and the JSON header must be rejected: some break
            // the JSON, some the table's consistency, the rest (e.g. a renamed tensor) the checksum.
            string path = PathOf("small.safetensors");
            new SafeTensorsWriter()
                .Add("w", new long[] { 2, 3 }, new float[] { 1, 2, 3, 4, 5, 6 })
                .Add("s", new long[] { 1 }, new long[] { 7 })
                .AddMetadata("k", "v")
                .Write(path);
            byte[] original = File.ReadAllBytes(path);
            int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
            for (int position = 0; position < headerEnd; position++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    byte[] bytes = (byte[])original.Clone();
                    bytes[position] ^= (byte)(1 << bit);
                    File.WriteAllBytes(path, bytes);
                    try
                    {
                        SafeTensorsFile.Load(path);
                        Assert.Fail($"flip of bit {bit} at byte {position} ('{(char)original[position]}') went unnoticed");
                    }
                    catch (CheckpointException)
                    {
                    }
                }
            }
        }

        /// <summary>Writes a file with a hand-made header (no checksum) for the validation cases.</summary>
        private string WriteRaw(string header, int dataBytes)
        {
            string path = PathOf("raw.safetensors");
            byte[] json = Encoding.UTF8.GetBytes(header);
            byte[] bytes = new byte[8 + json.Length + dataBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
            json.CopyTo(bytes, 8);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        [Theory]
        [InlineData("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "unsupported dtype 'F16'")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "shape [3] of F32 needs 12 bytes but data_offsets span 8")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8, "overlapping tensors")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap in its data section")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 9, "5 trailing bytes")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "not a non-negative integer")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "not a non-negative integer")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "invalid data_offsets")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "without data_offsets")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4, "unexpected or repeated field 'extra'")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "duplicate header entry 'a'")]
        [InlineData("{\"__metadata__\":{\"k\":1}}", 0, "metadata 'k' that is a Number")]
        [InlineData("[1,2]", 0, "not an object")]
        [InlineData("{\"a\":", 0, "malformed JSON header")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4, "needs too many bytes")]
        public void InvalidHeaders_AreRejectedWithTheProblemNamed(string header, int dataBytes, string problem)
        {
            string path = WriteRaw(header, dataBytes);
            var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Load(path, requireChecksum: false));
            Assert.Contains(problem, e.Message);
            Assert.StartsWith($"checkpoint '{path}'", e.Message);
        }

        [Fact]
        public void MissingChecksum_IsRejectedUnlessAllowed()
        {
            string path = WriteRaw("{\"a\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8);
            Assert.Contains("has no checksum", LoadFails(path).Message);
            var file = SafeTensorsFile.Load(path, requireChecksum: false);
            Assert.Empty(file["a"].Shape);
            Assert.Equal(0L, file["a"].AsSpan<long>()[0]);
        }

        [Fact]
        public void MissingFile_IsACheckpointException()
        {
            var e = LoadFails(PathOf("nope.safetensors"));
            Assert.Contains("could not be read", e.Message);
        }

        [Fact]
        public void InterruptedWrite_LeavesThePreviousFileIntact_AndNoTemporaryFile()
        {
            string path = WriteSample("atomic.safetensors");
            byte[] before = File.ReadAllBytes(path);

            var writer = new SafeTensorsWriter().Add("other", new long[] { 4 }, new float[] { 9, 9, 9, 9 });
            writer.AfterHeaderWritten = _ => throw new IOException("simulated crash: disk unplugged");
            var e = Assert.Throws<CheckpointException>(() => writer.Write(path));
            Assert.Contains("simulated crash", e.Message);

            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(_dir));
            SafeTensorsFile.Load(path);

            // Without the fault the same writer replaces the file.
            writer.AfterHeaderWritten = null;
            writer.Write(path);
            Assert.Equal(new float[] { 9, 9, 9, 9 }, SafeTensorsFile.Load(path)["other"].AsSpan<float>().ToArray());
            Assert.Single(Directory.GetFiles(_dir));
        }

        private static string? FindPython()
        {
            // The interpreter itself, not the pyenv shim (a shell script that takes seconds to start).
            string versions = "/root/.pyenv/versions";
            var candidates = (Directory.Exists(versions)
                    ? Directory.GetDirectories(versions).Select(d => Path.Combine(d, "bin", "python3"))
                    : Enumerable.Empty<string>())
                .Append("/usr/bin/python3");
            foreach (string candidate in candidates)
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }

        private const string PythonReader = @"
import json, struct, sys
path = sys.argv[1]
with open(path, 'rb') as f:
    raw = f.read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
meta = header.pop('__metadata__', {})
fmt = {'F32': 'f', 'F64': 'd', 'I64': 'q', 'U8': 'B', 'BF16': 'H'}
out = {'meta': meta}
for name, t in header.items():
    b, e = t['data_offsets']
    count = (e - b) // struct.calcsize(fmt[t['dtype']])
    out[name] = {'dtype': t['dtype'], 'shape': t['shape'], 'sum': sum(struct.unpack('<%d%s' % (count, fmt[t['dtype']]), data[b:e]))}
print(json.dumps(out))
";

        private const string PythonWriter = @"
import json, struct, sys
values = [1.5, -2.25, 3.0]
data = struct.pack('<3d', *values) + struct.pack('<2q', 5, -6)
header = {'x': {'dtype': 'F64', 'shape': [3], 'data_offsets': [0, 24]}, 'n': {'dtype': 'I64', 'shape': [2], 'data_offsets': [24, 40]}, '__metadata__': {'by': 'python'}}
h = json.dumps(header).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + data)
";

        private static string RunPython(string python, string script, string argument)
        {
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(60_000), "python timed out");
            Assert.True(process.ExitCode == 0, error);
            return output;
        }

        [Fact]
        public void InteropsWithAnIndependentPurePythonParser_WhenPythonIsPresent()
        {
            string? python = FindPython();
            if (python == null)
            {
                return; // optional check: no interpreter on this machine
            }

            var s = MakeSample();
            string path = PathOf("py.safetensors");
            WriterFor(s).Write(path);
            using var parsed = System.Text.Json.JsonDocument.Parse(RunPython(python, PythonReader, path));
            var root = parsed.RootElement;
            Assert.Equal("fused", root.GetProperty("meta").GetProperty("format").GetString());
            Assert.Equal("AdamW \"quoted\" ünïcode", root.GetProperty("meta").GetProperty("optimizer").GetString());
            Assert.Equal(new long[] { 3, 5, 7 }, root.GetProperty("layer.0.weight").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal(s.Weights.Sum(v => (double)v), root.GetProperty("layer.0.weight").GetProperty("sum").GetDouble(), 9);
            Assert.Equal(s.Codes.Sum(b => (long)b), root.GetProperty("codes").GetProperty("sum").GetInt64());
            Assert.Equal(s.Half.Sum(b => (long)b), root.GetProperty("half").GetProperty("sum").GetInt64());
            Assert.Equal("BF16", root.GetProperty("half").GetProperty("dtype").GetString());

            string fromPython = PathOf("from-python.safetensors");
            RunPython(python, PythonWriter, fromPython);
            var file = SafeTensorsFile.Load(fromPython, requireChecksum: false);
            Assert.Equal(new[] { 1.5, -2.25, 3.0 }, file["x"].AsSpan<double>().ToArray());
            Assert.Equal(new long[] { 5, -6 }, file["n"].AsSpan<long>().ToArray());
            Assert.Equal("python", file.Metadata["by"]);
        }
    }
}
