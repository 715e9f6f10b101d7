using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fused.Runtime.Checkpoints
{
    /// <summary>Element types supported in our safetensors files (names as in the format's "dtype" field).</summary>
    public enum SafeTensorsDType
    {
        /// <summary>IEEE binary32.</summary>
        F32,

        /// <summary>bfloat16, stored as the upper 16 bits of a binary32 (see <c>Fused.Runtime.Precision.BFloat16</c>).</summary>
        BF16,

        /// <summary>Unsigned byte (e.g. 8-bit quantised optimizer state).</summary>
        U8,

        /// <summary>Signed 64-bit integer (e.g. step counters).</summary>
        I64,

        /// <summary>IEEE binary64.</summary>
        F64,
    }

    /// <summary>Helpers for <see cref="SafeTensorsDType"/>.</summary>
    public static class SafeTensorsDTypes
    {
        /// <summary>Bytes per element.</summary>
        public static int SizeOf(SafeTensorsDType dtype) => dtype switch
        {
            SafeTensorsDType.F32 => 4,
            SafeTensorsDType.BF16 => 2,
            SafeTensorsDType.U8 => 1,
            SafeTensorsDType.I64 => 8,
            SafeTensorsDType.F64 => 8,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown safetensors dtype"),
        };

        /// <summary>The format's name for the dtype ("F32", "BF16", ...).</summary>
        public static string Name(SafeTensorsDType dtype) => dtype switch
        {
            SafeTensorsDType.F32 => "F32",
            SafeTensorsDType.BF16 => "BF16",
            SafeTensorsDType.U8 => "U8",
            SafeTensorsDType.I64 => "I64",
            SafeTensorsDType.F64 => "F64",
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown safetensors dtype"),
        };

        /// <summary>Parses a dtype name; exact, case-sensitive, as the format defines them.</summary>
        public static bool TryParse(string name, out SafeTensorsDType dtype)
        {
            switch (name)
            {
                case "F32": dtype = SafeTensorsDType.F32; return true;
                case "BF16": dtype = SafeTensorsDType.BF16; return true;
                case "U8": dtype = SafeTensorsDType.U8; return true;
                case "I64": dtype = SafeTensorsDType.I64; return true;
                case "F64": dtype = SafeTensorsDType.F64; return true;
                default: dtype = default; return false;
            }
        }

        /// <summary>Product of the dimensions, or −1 on overflow.</summary>
        internal static long ElementCount(ReadOnlySpan<long> shape)
        {
            long count = 1;
            foreach (long dim in shape)
            {
                if (dim < 0)
                {
                    return -1;
                }

                try
                {
                    count = checked(count * dim);
                }
                catch (OverflowException)
                {
                    return -1;
                }
            }

            return count;
        }

        internal static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(",", shape) + "]";
    }

    /// <summary>A checkpoint could not be read or written; the message names the file and the problem.</summary>
    public sealed class CheckpointException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public CheckpointException(string path, string message, Exception? inner = null)
            : base(message, inner)
        {
            FilePath = path;
        }

        /// <summary>The checkpoint file concerned.</summary>
        public string FilePath { get; }
    }

    /// <summary>One tensor loaded from a safetensors file: little-endian bytes plus dtype and shape.</summary>
    public sealed class SafeTensor
    {
        private readonly byte[] _data;

        internal SafeTensor(string name, SafeTensorsDType dtype, long[] shape, byte[] data, long dataOffset)
        {
            Name = name;
            DType = dtype;
            Shape = shape;
            _data = data;
            DataOffset = dataOffset;
        }

        /// <summary>Tensor name.</summary>
        public string Name { get; }

        /// <summary>Element type.</summary>
        public SafeTensorsDType DType { get; }

        /// <summary>Dimensions (empty for a scalar).</summary>
        public IReadOnlyList<long> Shape { get; }

        /// <summary>Number of elements (product of <see cref="Shape"/>).</summary>
        public long ElementCount => _data.LongLength / SafeTensorsDTypes.SizeOf(DType);

        /// <summary>Offset of the tensor's bytes within the file's data section.</summary>
        public long DataOffset { get; }

        /// <summary>Raw little-endian bytes.</summary>
        public ReadOnlyMemory<byte> Data => _data;

        /// <summary>
        /// The data as elements of <typeparamref name="T"/>, whose size must equal the dtype's
        /// (float for F32, ushort for BF16, byte for U8, long for I64, double for F64).
        /// </summary>
        public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
        {
            if (Unsafe.SizeOf<T>() != SafeTensorsDTypes.SizeOf(DType))
            {
                throw new InvalidOperationException(
                    $"tensor '{Name}' is {SafeTensorsDTypes.Name(DType)} ({SafeTensorsDTypes.SizeOf(DType)} bytes per element), not {typeof(T).Name}");
            }

            return MemoryMarshal.Cast<byte, T>(_data);
        }
    }
}
