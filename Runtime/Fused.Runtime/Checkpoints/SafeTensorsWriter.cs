using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Fused.Runtime.Checkpoints
{
    /// <summary>
    /// Writes a safetensors file: 8-byte little-endian header length N, N bytes of JSON header (padded with
    /// spaces so the data starts 8-byte aligned), then the tensors back to back in the order they were added.
    /// A SHA-256 checksum (see <see cref="SafeTensorsFile"/>) is stored under <c>__metadata__["fused.sha256"]</c>.
    /// </summary>
    /// <remarks>
    /// Writes are atomic: the file is written to a temporary file in the target directory, flushed to disk,
    /// renamed over the target, and the directory is synced (Linux). A failure at any point leaves the previous
    /// file untouched and removes the temporary file; temporaries a killed writer left behind are removed by the next
    /// save or load of the same target. A symbolic link is followed: the file it points to is replaced, the link stays.
    /// Targets that are not regular files (empty path, directory, FIFO, device) are refused before anything is written
    /// (see <see cref="CheckpointPaths"/>). The writer keeps references to the tensor memory until
    /// <see cref="Write"/>; it does not copy.
    /// </remarks>
    public sealed class SafeTensorsWriter
    {
        private delegate ReadOnlySpan<byte> ByteSource();

        private readonly List<Entry> _tensors = new List<Entry>();
        private readonly HashSet<string> _names = new HashSet<string>(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _metadata = new Dictionary<string, string>(StringComparer.Ordinal);

        /// <summary>Test hook: runs after the header is written to the temporary file (to simulate a crash).</summary>
        internal Action<Stream>? AfterHeaderWritten { get; set; }

        /// <summary>Adds a tensor given as raw little-endian bytes.</summary>
        /// <exception cref="ArgumentException">Bad name, negative dimension, duplicate name, or a byte length that
        /// does not equal shape × dtype size.</exception>
        public SafeTensorsWriter Add(string name, SafeTensorsDType dtype, ReadOnlySpan<long> shape, ReadOnlyMemory<byte> data)
            => AddEntry(name, dtype, shape, data.Length, () => data.Span);

        /// <summary>Adds an F32 tensor.</summary>
        public SafeTensorsWriter Add(string name, ReadOnlySpan<long> shape, ReadOnlyMemory<float> data)
            => AddTyped(name, SafeTensorsDType.F32, shape, data);

        /// <summary>Adds an F64 tensor.</summary>
        public SafeTensorsWriter Add(string name, ReadOnlySpan<long> shape, ReadOnlyMemory<double> data)
            => AddTyped(name, SafeTensorsDType.F64, shape, data);

        /// <summary>Adds an I64 tensor.</summary>
        public SafeTensorsWriter Add(string name, ReadOnlySpan<long> shape, ReadOnlyMemory<long> data)
            => AddTyped(name, SafeTensorsDType.I64, shape, data);

        /// <summary>Adds a BF16 tensor (bit patterns as produced by <c>Fused.Runtime.Precision.BFloat16</c>).</summary>
        public SafeTensorsWriter AddBFloat16(string name, ReadOnlySpan<long> shape, ReadOnlyMemory<ushort> data)
            => AddTyped(name, SafeTensorsDType.BF16, shape, data);

        /// <summary>Adds a U8 tensor.</summary>
        public SafeTensorsWriter AddBytes(string name, ReadOnlySpan<long> shape, ReadOnlyMemory<byte> data)
            => Add(name, SafeTensorsDType.U8, shape, data);

        /// <summary>Adds a string entry to <c>__metadata__</c>. The key "fused.sha256" is reserved.</summary>
        public SafeTensorsWriter AddMetadata(string key, string value)
        {
            ArgumentNullException.ThrowIfNull(key);
            ArgumentNullException.ThrowIfNull(value);
            if (key == SafeTensorsChecksum.MetadataKey)
            {
                throw new ArgumentException($"metadata key '{key}' is reserved for the checksum", nameof(key));
            }

            _metadata[key] = value;
            return this;
        }

        /// <summary>Writes the file atomically (see remarks on <see cref="SafeTensorsWriter"/>).</summary>
        /// <exception cref="CheckpointException">The file could not be written; the previous file, if any, is intact.</exception>
        public void Write(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported");
            }

            string fullPath = CheckpointPaths.ResolveTarget(path);
            string directory = Path.GetDirectoryName(fullPath) ?? ".";
            CheckpointPaths.RemoveStaleTemporaries(fullPath);
            long offset = 0;
            var table = new List<(string Name, SafeTensorsDType DType, IReadOnlyList<long> Shape, long Begin, long End)>();
            foreach (var t in _tensors)
            {
                table.Add((t.Name, t.DType, t.Shape, offset, offset + t.ByteLength));
                offset += t.ByteLength;
            }

            string checksum;
            using (var hash = new SafeTensorsChecksum())
            {
                hash.AddTable(table, _metadata);
                foreach (var t in _tensors)
                {
                    hash.AddData(t.Bytes());
                }

                checksum = hash.FinishHex();
            }

            byte[] header = BuildHeader(table, checksum);
            string temporary = CheckpointPaths.NewTemporary(fullPath);
            try
            {
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    Span<byte> length = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                    stream.Write(length);
                    stream.Write(header);
                    AfterHeaderWritten?.Invoke(stream);
                    foreach (var t in _tensors)
                    {
                        stream.Write(t.Bytes());
                    }

                    stream.Flush(flushToDisk: true);
                }

                File.Move(temporary, fullPath, overwrite: true);
            }
            catch (Exception e)
            {
                TryDelete(temporary);
                if (e is CheckpointException)
                {
                    throw;
                }

                throw new CheckpointException(path, $"checkpoint '{path}' could not be written: {e.Message}", e);
            }

            SyncDirectory(directory);
        }

        private SafeTensorsWriter AddTyped<T>(string name, SafeTensorsDType dtype, ReadOnlySpan<long> shape, ReadOnlyMemory<T> data)
            where T : unmanaged
            => AddEntry(name, dtype, shape, (long)data.Length * SafeTensorsDTypes.SizeOf(dtype), () => MemoryMarshal.AsBytes(data.Span));

        private SafeTensorsWriter AddEntry(string name, SafeTensorsDType dtype, ReadOnlySpan<long> shape, long byteLength, ByteSource bytes)
        {
            ArgumentNullException.ThrowIfNull(name);
            if (name.Length == 0 || name == "__metadata__")
            {
                throw new ArgumentException($"'{name}' is not a valid tensor name", nameof(name));
            }

            if (!_names.Add(name))
            {
                throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
            }

            long elements = SafeTensorsDTypes.ElementCount(shape);
            if (elements < 0)
            {
                _names.Remove(name);
                throw new ArgumentException($"tensor '{name}' has an invalid shape {SafeTensorsDTypes.FormatShape(shape.ToArray())}", nameof(shape));
            }

            long expected = elements * SafeTensorsDTypes.SizeOf(dtype);
            if (expected != byteLength)
            {
                _names.Remove(name);
                throw new ArgumentException(
                    $"tensor '{name}': shape {SafeTensorsDTypes.FormatShape(shape.ToArray())} of {SafeTensorsDTypes.Name(dtype)} needs {expected} bytes, data has {byteLength}",
                    nameof(shape));
            }

            _tensors.Add(new Entry(name, dtype, shape.ToArray(), byteLength, bytes));
            return this;
        }

        private byte[] BuildHeader(List<(string Name, SafeTensorsDType DType, IReadOnlyList<long> Shape, long Begin, long End)> table, string checksum)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteStartObject("__metadata__");
                foreach (var pair in _metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    json.WriteString(pair.Key, pair.Value);
                }

                json.WriteString(SafeTensorsChecksum.MetadataKey, checksum);
                json.WriteEndObject();
                foreach (var (name, dtype, shape, begin, end) in table)
                {
                    json.WriteStartObject(name);
                    json.WriteString("dtype", SafeTensorsDTypes.Name(dtype));
                    json.WriteStartArray("shape");
                    foreach (long dim in shape)
                    {
                        json.WriteNumberValue(dim);
                    }

                    json.WriteEndArray();
                    json.WriteStartArray("data_offsets");
                    json.WriteNumberValue(begin);
                    json.WriteNumberValue(end);
                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            // Pad with spaces so that 8 + N is a multiple of 8: tensor data then starts 8-byte aligned.
            int padded = (int)((buffer.Length + 7) & ~7L);
            while (buffer.Length < padded)
            {
                buffer.WriteByte((byte)' ');
            }

            return buffer.ToArray();
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync")]
        private static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close")]
        private static extern int Close(int fd);

        // Makes the rename itself durable (POSIX: the directory entry lives in the directory). Best effort.
        private static void SyncDirectory(string directory)
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

            try
            {
                int fd = Open(directory, 0 /* O_RDONLY */);
                if (fd >= 0)
                {
                    Fsync(fd);
                    Close(fd);
                }
            }
            catch (DllNotFoundException)
            {
            }
            catch (EntryPointNotFoundException)
            {
            }
        }

        private sealed class Entry
        {
            public Entry(string name, SafeTensorsDType dtype, long[] shape, long byteLength, ByteSource bytes)
            {
                Name = name;
                DType = dtype;
                Shape = shape;
                ByteLength = byteLength;
                Bytes = bytes;
            }

            public string Name { get; }

            public SafeTensorsDType DType { get; }

            public long[] Shape { get; }

            public long ByteLength { get; }

            public ByteSource Bytes { get; }
        }
    }
}
