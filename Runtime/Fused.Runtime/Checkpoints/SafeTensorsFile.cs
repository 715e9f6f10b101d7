using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Unicode;

namespace Fused.Runtime.Checkpoints
{
    /// <summary>
    /// A safetensors file loaded into memory and fully validated: header length, JSON, dtypes, shapes against
    /// byte ranges, offsets inside the data section, gap-free non-overlapping coverage of the data section, and
    /// the <c>fused.sha256</c> checksum (table + data). Every failure is a <see cref="CheckpointException"/> naming
    /// the file and the problem.
    /// </summary>
    /// <remarks>Each tensor gets its own array, so files larger than 2 GB load as long as no single tensor exceeds
    /// <see cref="Array.MaxLength"/> bytes.</remarks>
    public sealed class SafeTensorsFile
    {
        /// <summary>Largest accepted JSON header (the reference implementation's limit).</summary>
        public const long MaxHeaderBytes = 100_000_000;

        private readonly Dictionary<string, SafeTensor> _byName;

        private SafeTensorsFile(string path, List<SafeTensor> tensors, Dictionary<string, string> metadata)
        {
            Path = path;
            Tensors = tensors;
            Metadata = metadata;
            _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        }

        /// <summary>The file the checkpoint was loaded from.</summary>
        public string Path { get; }

        /// <summary>Tensors in data-offset order.</summary>
        public IReadOnlyList<SafeTensor> Tensors { get; }

        /// <summary>The <c>__metadata__</c> entries (including "fused.sha256" when present).</summary>
        public IReadOnlyDictionary<string, string> Metadata { get; }

        /// <summary>The tensor named <paramref name="name"/>.</summary>
        /// <exception cref="KeyNotFoundException">No such tensor.</exception>
        public SafeTensor this[string name] => _byName.TryGetValue(name, out var t)
            ? t
            : throw new KeyNotFoundException($"checkpoint '{Path}' has no tensor '{name}'");

        /// <summary>Looks a tensor up by name.</summary>
        public bool TryGetTensor(string name, out SafeTensor tensor) => _byName.TryGetValue(name, out tensor!);

        /// <summary>Loads and validates a checkpoint.</summary>
        /// <param name="path">The file.</param>
        /// <param name="requireChecksum">When true (default), a file without "fused.sha256" is rejected; pass false
        /// to read files written by other tools (a checksum that is present is always verified).</param>
        /// <exception cref="CheckpointException">The file is missing, unreadable, or invalid.</exception>
        public static SafeTensorsFile Load(string path, bool requireChecksum = true)
        {
            ArgumentNullException.ThrowIfNull(path);
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported");
            }

            string fullPath = CheckpointPaths.CheckSource(path);
            CheckpointPaths.RemoveStaleTemporaries(fullPath);
            try
            {
                // Unbuffered: every read below is a large exact read into its final array.
                using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
                return Read(path, stream, requireChecksum);
            }
            catch (CheckpointException)
            {
                throw;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException)
            {
                throw new CheckpointException(path, $"checkpoint '{path}' could not be read: {e.Message}", e);
            }
        }

        private static SafeTensorsFile Read(string path, FileStream stream, bool requireChecksum)
        {
            CheckpointException Fail(string problem, Exception? inner = null)
                => new CheckpointException(path, $"checkpoint '{path}' {problem}", inner);

            long fileLength = stream.Length;
            if (fileLength < 8)
            {
                throw Fail($"is truncated: {fileLength} bytes, too short for the 8-byte header length");
            }

            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > MaxHeaderBytes)
            {
                throw Fail($"has an invalid header length {headerLength}: larger than the {MaxHeaderBytes}-byte limit");
            }

            if ((long)headerLength > fileLength - 8)
            {
                throw Fail($"is truncated or corrupt: header length {headerLength} points past the end of the file ({fileLength} bytes)");
            }

            byte[] header = new byte[headerLength];
            stream.ReadExactly(header);
            long dataLength = fileLength - 8 - (long)headerLength;

            var tensors = new List<(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End)>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            ParseHeader(header, tensors, metadata, Fail);

            // Coverage: sorted by offset, the tensors must tile [0, dataLength) exactly. The sort is stable (header order
            // breaks ties): zero-size tensors share offsets, and the checksum covers the table in this order.
            tensors = tensors.Select((t, i) => (t, i)).OrderBy(x => x.t.Begin).ThenBy(x => x.t.End).ThenBy(x => x.i).Select(x => x.t).ToList();
            long declared = tensors.Count == 0 ? 0 : tensors.Max(t => t.End);
            if (declared > dataLength)
            {
                throw Fail($"is truncated: header says {declared} bytes of tensor data, file has {dataLength}");
            }

            long expectedBegin = 0;
            foreach (var t in tensors)
            {
                if (t.Begin > expectedBegin)
                {
                    throw Fail($"has a gap in its data section: bytes {expectedBegin}..{t.Begin} belong to no tensor (before '{t.Name}')");
                }

                if (t.Begin < expectedBegin)
                {
                    throw Fail($"has overlapping tensors: '{t.Name}' starts at byte {t.Begin}, before the previous tensor ends at {expectedBegin}");
                }

                expectedBegin = t.End;
            }

            if (expectedBegin != dataLength)
            {
                throw Fail($"has {dataLength - expectedBegin} trailing bytes after the tensor data (header covers {expectedBegin} of {dataLength})");
            }

            using var checksum = new SafeTensorsChecksum();
            checksum.AddTable(tensors.Select(t => (t.Name, t.DType, (IReadOnlyList<long>)t.Shape, t.Begin, t.End)), metadata);
            var loaded = new List<SafeTensor>(tensors.Count);
            foreach (var t in tensors)
            {
                long size = t.End - t.Begin;
                if (size > Array.MaxLength)
                {
                    throw Fail($"has tensor '{t.Name}' of {size} bytes, more than one array can hold ({Array.MaxLength})");
                }

                byte[] data = new byte[size];
                stream.ReadExactly(data);
                checksum.AddData(data);
                loaded.Add(new SafeTensor(t.Name, t.DType, t.Shape, data, t.Begin));
            }

            string computed = checksum.FinishHex();
            if (metadata.TryGetValue(SafeTensorsChecksum.MetadataKey, out string? stored))
            {
                // Exact, lowercase: any flipped character in the stored value must be caught.
                if (!string.Equals(stored, computed, StringComparison.Ordinal))
                {
                    throw Fail($"failed its checksum: stored {SafeTensorsChecksum.MetadataKey} {stored}, computed {computed} (file corrupted)");
                }
            }
            else if (requireChecksum)
            {
                throw Fail($"has no checksum ('{SafeTensorsChecksum.MetadataKey}' in __metadata__); load with requireChecksum: false to accept files from other writers");
            }

            return new SafeTensorsFile(path, loaded, metadata);
        }

        private static void ParseHeader(
            byte[] header,
            List<(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End)> tensors,
            Dictionary<string, string> metadata,
            Func<string, Exception?, CheckpointException> fail)
        {
            // JsonDocument validates UTF-8 only lazily, when a string is read; check it all up front.
            if (!Utf8.IsValid(header))
            {
                throw fail("has a header that is not valid UTF-8", null);
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(header, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            }
            catch (JsonException e)
            {
                throw fail($"has a malformed JSON header: {e.Message}", e);
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw fail($"has a JSON header that is a {document.RootElement.ValueKind}, not an object", null);
                }

                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        throw fail($"has a duplicate header entry '{property.Name}'", null);
                    }

                    if (property.Name == "__metadata__")
                    {
                        if (property.Value.ValueKind != JsonValueKind.Object)
                        {
                            throw fail("has a __metadata__ entry that is not an object", null);
                        }

                        foreach (var entry in property.Value.EnumerateObject())
                        {
                            if (entry.Value.ValueKind != JsonValueKind.String)
                            {
                                throw fail($"has metadata '{entry.Name}' that is a {entry.Value.ValueKind}, not a string", null);
                            }

                            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                            {
                                throw fail($"has duplicate metadata key '{entry.Name}'", null);
                            }
                        }

                        continue;
                    }

                    tensors.Add(ParseTensor(property, fail));
                }
            }
        }

        private static (string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End) ParseTensor(
            JsonProperty property, Func<string, Exception?, CheckpointException> fail)
        {
            string name = property.Name;
            if (property.Value.ValueKind != JsonValueKind.Object)
            {
                throw fail($"has tensor '{name}' described by a {property.Value.ValueKind}, not an object", null);
            }

            string? dtypeName = null;
            long[]? shape = null;
            long[]? offsets = null;
            foreach (var field in property.Value.EnumerateObject())
            {
                switch (field.Name)
                {
                    case "dtype" when dtypeName == null:
                        dtypeName = field.Value.ValueKind == JsonValueKind.String
                            ? field.Value.GetString()
                            : throw fail($"has tensor '{name}' whose dtype is not a string", null);
                        break;
                    case "shape" when shape == null:
                        shape = ReadIntegers(field.Value, name, "shape", fail);
                        break;
                    case "data_offsets" when offsets == null:
                        offsets = ReadIntegers(field.Value, name, "data_offsets", fail);
                        break;
                    default:
                        throw fail($"has tensor '{name}' with an unexpected or repeated field '{field.Name}'", null);
                }
            }

            if (dtypeName == null || shape == null || offsets == null)
            {
                throw fail($"has tensor '{name}' without {(dtypeName == null ? "dtype" : shape == null ? "shape" : "data_offsets")}", null);
            }

            if (!SafeTensorsDTypes.TryParse(dtypeName, out var dtype))
            {
                throw fail($"has tensor '{name}' with unsupported dtype '{dtypeName}' (supported: F32, BF16, U8, I64, F64)", null);
            }

            if (offsets.Length != 2 || offsets[0] > offsets[1])
            {
                throw fail($"has tensor '{name}' with invalid data_offsets {SafeTensorsDTypes.FormatShape(offsets)}: expected [begin, end] with begin <= end", null);
            }

            long elements = SafeTensorsDTypes.ElementCount(shape);
            long bytes = elements < 0 || elements > long.MaxValue / 8 ? -1 : elements * SafeTensorsDTypes.SizeOf(dtype);
            if (bytes != offsets[1] - offsets[0])
            {
                throw fail(
                    $"has tensor '{name}' whose shape {SafeTensorsDTypes.FormatShape(shape)} of {dtypeName} needs {(bytes < 0 ? "too many" : bytes.ToString())} bytes but data_offsets span {offsets[1] - offsets[0]}",
                    null);
            }

            return (name, dtype, shape, offsets[0], offsets[1]);
        }

        private static long[] ReadIntegers(JsonElement value, string tensor, string field, Func<string, Exception?, CheckpointException> fail)
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw fail($"has tensor '{tensor}' whose {field} is not an array", null);
            }

            var result = new long[value.GetArrayLength()];
            int i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long n) || n < 0)
                {
                    throw fail($"has tensor '{tensor}' whose {field} contains {item.GetRawText()}, not a non-negative integer", null);
                }

                result[i++] = n;
            }

            return result;
        }
    }
}
