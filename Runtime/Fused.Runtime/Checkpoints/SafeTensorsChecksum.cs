using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace Fused.Runtime.Checkpoints
{
    /// <summary>
    /// The checksum stored in <c>__metadata__["fused.sha256"]</c>: SHA-256 (lowercase hex) over a canonical
    /// encoding of the tensor table (name, dtype, shape, offsets of each tensor in offset order), the other
    /// metadata entries (ordinal key order), and then the data section. Covering the table as well as the data
    /// means a corrupted name or shape is caught even when it still parses.
    /// </summary>
    internal sealed class SafeTensorsChecksum : IDisposable
    {
        public const string MetadataKey = "fused.sha256";

        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public void AddTable(IEnumerable<(string Name, SafeTensorsDType DType, IReadOnlyList<long> Shape, long Begin, long End)> tensors,
            IReadOnlyDictionary<string, string> metadata)
        {
            byte[] number = new byte[8];
            void Int64(long value)
            {
                BinaryPrimitives.WriteInt64LittleEndian(number, value);
                _hash.AppendData(number);
            }

            void Text(string value)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(value);
                Int64(bytes.Length);
                _hash.AppendData(bytes);
            }

            foreach (var (name, dtype, shape, begin, end) in tensors)
            {
                Text(name);
                Text(SafeTensorsDTypes.Name(dtype));
                Int64(shape.Count);
                foreach (long dim in shape)
                {
                    Int64(dim);
                }

                Int64(begin);
                Int64(end);
            }

            foreach (var pair in metadata.Where(p => p.Key != MetadataKey).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                Text(pair.Key);
                Text(pair.Value);
            }
        }

        public void AddData(ReadOnlySpan<byte> data) => _hash.AppendData(data);

        public string FinishHex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public void Dispose() => _hash.Dispose();
    }
}
