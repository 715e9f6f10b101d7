using System;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Fused.Runtime.Matrix
{
    /// <summary>Small vectorised element-wise helpers shared by the matrix passes.</summary>
    internal static class DenseOps
    {
        /// <summary>Σ x² accumulated in float64 so the Frobenius norm of large matrices keeps full float precision.</summary>
        internal static double SumOfSquares(ReadOnlySpan<float> values)
        {
            int i = 0;
            Vector256<double> acc0 = Vector256<double>.Zero;
            Vector256<double> acc1 = Vector256<double>.Zero;
            if (Vector256.IsHardwareAccelerated)
            {
                ReadOnlySpan<Vector256<float>> blocks = MemoryMarshal.Cast<float, Vector256<float>>(values);
                foreach (Vector256<float> block in blocks)
                {
                    (Vector256<double> low, Vector256<double> high) = Vector256.Widen(block);
                    acc0 = Vector256.FusedMultiplyAdd(low, low, acc0);
                    acc1 = Vector256.FusedMultiplyAdd(high, high, acc1);
                }

                i = blocks.Length * Vector256<float>.Count;
            }

            double sum = Vector256.Sum(acc0 + acc1);
            for (; i < values.Length; i++)
            {
                sum += (double)values[i] * values[i];
            }

            return sum;
        }

        /// <summary>destination = source · factor (same length; may be the same span).</summary>
        internal static void Scale(ReadOnlySpan<float> source, float factor, Span<float> destination)
        {
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                ReadOnlySpan<Vector256<float>> src = MemoryMarshal.Cast<float, Vector256<float>>(source);
                Span<Vector256<float>> dst = MemoryMarshal.Cast<float, Vector256<float>>(destination);
                Vector256<float> f = Vector256.Create(factor);
                for (int v = 0; v < src.Length; v++)
                {
                    dst[v] = src[v] * f;
                }

                i = src.Length * Vector256<float>.Count;
            }

            for (; i < source.Length; i++)
            {
                destination[i] = source[i] * factor;
            }
        }

        internal static void AddToDiagonal(Span<float> square, int n, float value)
        {
            for (int i = 0; i < n; i++)
            {
                square[(i * n) + i] += value;
            }
        }

        internal static void SetIdentity(Span<float> square, int n)
        {
            square.Slice(0, n * n).Clear();
            AddToDiagonal(square, n, 1f);
        }

        /// <summary>Rounds every value to the nearest bfloat16 (ties to even), keeping float storage.</summary>
        internal static void RoundToBFloat16(Span<float> values)
        {
            Span<uint> bits = MemoryMarshal.Cast<float, uint>(values);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                Span<Vector256<uint>> blocks = MemoryMarshal.Cast<uint, Vector256<uint>>(bits);
                Vector256<uint> bias = Vector256.Create(0x7FFFu);
                Vector256<uint> one = Vector256.Create(1u);
                Vector256<uint> mask = Vector256.Create(0xFFFF0000u);
                Vector256<uint> exponent = Vector256.Create(0x7F800000u);
                for (int v = 0; v < blocks.Length; v++)
                {
                    Vector256<uint> x = blocks[v];
                    Vector256<uint> rounded = (x + bias + ((x >> 16) & one)) & mask;
                    // NaN/Inf keep their bits (truncated) instead of rounding into a different class.
                    Vector256<uint> special = Vector256.Equals(x & exponent, exponent);
                    blocks[v] = Vector256.ConditionalSelect(special, x & mask, rounded);
                }

                i = blocks.Length * Vector256<uint>.Count;
            }

            for (; i < bits.Length; i++)
            {
                uint x = bits[i];
                bits[i] = (x & 0x7F800000u) == 0x7F800000u ? x & 0xFFFF0000u : (x + 0x7FFFu + ((x >> 16) & 1u)) & 0xFFFF0000u;
            }
        }

        internal static bool AllFinite(ReadOnlySpan<float> values)
        {
            foreach (float value in values)
            {
                if (!float.IsFinite(value))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
