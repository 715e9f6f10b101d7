using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// Which SIMD width the generated kernels use, and where their vector bodies start. All widths give bit-identical
    /// results; the widest the hardware supports is the default (Vector512 whenever AVX-512F is present, even where .NET
    /// leaves Vector512.IsHardwareAccelerated false). Lower <see cref="MaxVectorBits"/> to compare paths or to work around
    /// a platform; 0 forces the scalar path.
    /// </summary>
    public static class KernelDispatch
    {
        /// <summary>Bytes of a cache line on the x86 and Arm cores Fused targets.</summary>
        public const int CacheLineBytes = 64;

        /// <summary>Upper bound on the vector width in bits: 512, 256, 128 or 0 (scalar).</summary>
        public static int MaxVectorBits { get; set; } = 512;

        /// <summary>
        /// Whether element passes without reductions run a scalar head up to the first cache-line boundary of the buffer
        /// they store (default true): a caller's <c>new float[]</c> starts 16 bytes past a line boundary or anywhere else,
        /// and then every 512-bit store of the body would split two lines. Off only to measure what it buys.
        /// </summary>
        public static bool AlignStores { get; set; } = true;

        /// <summary>
        /// Whether the CPU backend runs the generated kernels over bfloat16 element states directly (default true: loads widen
        /// and stores round stochastically in registers) instead of widening chunks into float32 scratch and narrowing them
        /// back. Both give the same bits; off only to measure what it buys.
        /// </summary>
        public static bool BFloat16InKernel { get; set; } = true;

        /// <summary>Whether the Vector512 kernels run (allowed by <see cref="MaxVectorBits"/> and AVX-512F present).</summary>
        public static bool Use512 => MaxVectorBits >= 512 && Avx512F.IsSupported;
        /// <summary>Whether the Vector256 kernels run (allowed by <see cref="MaxVectorBits"/> and accelerated here).</summary>
        public static bool Use256 => MaxVectorBits >= 256 && Vector256.IsHardwareAccelerated;
        /// <summary>Whether the Vector128 kernels run (allowed by <see cref="MaxVectorBits"/> and accelerated here).</summary>
        public static bool Use128 => MaxVectorBits >= 128 && Vector128.IsHardwareAccelerated;

        /// <summary>
        /// How many leading elements of <paramref name="buffer"/> lie before its first cache-line boundary (0 when it
        /// starts on one, when <see cref="AlignStores"/> is off, or when the buffer is not float-aligned); at most its length.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static unsafe int HeadToCacheLine(ReadOnlySpan<float> buffer)
        {
            if (!AlignStores) return 0;
            // The address is only a hint: an unpinned array may move afterwards, which costs speed, never a result.
            nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(buffer));
            if ((address & (sizeof(float) - 1)) != 0) return 0;
            int head = (int)((CacheLineBytes - (address & (CacheLineBytes - 1))) & (CacheLineBytes - 1)) / sizeof(float);
            return Math.Min(head, buffer.Length);
        }

        /// <summary>The width that runs now, for logs and reports.</summary>
        public static string Describe() =>
            Use512 ? "Vector512 (AVX-512F)" : Use256 ? "Vector256" : Use128 ? "Vector128" : "scalar";
    }
}
