using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// Which SIMD width the generated kernels use, and where their vector bodies start. All widths give bit-identical
    /// results, so the width is a speed choice only. The default (<see cref="DefaultVectorBits"/>): the environment variable
    /// <c>FUSED_VECTOR_WIDTH</c> (512, 256, 128, 0 = scalar, or <c>auto</c>: a short start-up measurement,
    /// <see cref="Calibrate"/>), else a rule from measurements: Vector512 wherever AVX-512F is present (also where .NET leaves
    /// Vector512.IsHardwareAccelerated false), otherwise the widest accelerated. On the Zen 5 EPYC of the README's figures the
    /// fp32 steps over a user's arrays ran 0.9–1.1× as fast with Vector512 as with Vector256 (memory bound either way), while
    /// the bf16-state kernels, which hash their rounding bits in registers, ran 1.9× (AdamW) and 1.7× (Lion) faster (busy machine) with
    /// Vector512 relative to fp32; so the wider never loses much and sometimes wins a lot. The CPU's vendor and family are in
    /// <see cref="WidthChoice"/> for reports. Set <see cref="MaxVectorBits"/> to override in code.
    /// </summary>
    public static class KernelDispatch
    {
        /// <summary>Bytes of a cache line on the x86 and Arm cores Fused targets.</summary>
        public const int CacheLineBytes = 64;

        /// <summary>Why <see cref="MaxVectorBits"/> started where it did (for logs and benchmark reports).</summary>
        public static string WidthChoice { get; private set; } = ""; // before MaxVectorBits: static initialisers run in text order

        /// <summary>Upper bound on the vector width in bits: 512, 256, 128 or 0 (scalar). Starts at <see cref="DefaultVectorBits"/>.</summary>
        public static int MaxVectorBits { get; set; } = DefaultVectorBits(out _);

        /// <summary>The environment variable that overrides the width rule: 512, 256, 128, 0 or auto.</summary>
        public const string WidthVariable = "FUSED_VECTOR_WIDTH";

        /// <summary>The width this process starts with, and why (see the class remarks).</summary>
        public static int DefaultVectorBits(out string reason)
        {
            string? setting = Environment.GetEnvironmentVariable(WidthVariable);
            int bits;
            if (setting is "512" or "256" or "128" or "0") { bits = int.Parse(setting, System.Globalization.CultureInfo.InvariantCulture); reason = $"{WidthVariable}={setting}"; }
            else if (setting == "auto") { bits = Calibrate(out var figures); reason = $"{WidthVariable}=auto: {figures}"; }
            else
            {
                if (!string.IsNullOrEmpty(setting)) Console.Error.WriteLine($"fused: {WidthVariable}='{setting}' is not 512, 256, 128, 0 or auto; the default width rule applies");
                string cpu = IsAmd(out int family) ? $"AMD family {family:X}h" : "not AMD";
                bits = Avx512F.IsSupported ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0;
                reason = $"rule: {(Avx512F.IsSupported ? "AVX-512F" : "no AVX-512F")}, {cpu}";
            }
            WidthChoice = reason;
            return bits;
        }

        /// <summary>
        /// Measures a fused stream (y = a·x + y over three 4 MB float arrays, stores 16 bytes past a line boundary as in a
        /// caller's <c>new float[]</c>) with Vector512 and Vector256, alternated, 7 rounds each; returns the faster width's
        /// bits — 256 unless 512 is more than 3% faster (ties go to the narrower, which splits no lines) — and the medians.
        /// Without AVX-512F it returns 256 (or less) without measuring. About 20 ms.
        /// </summary>
        public static int Calibrate(out string figures)
        {
            if (!Avx512F.IsSupported)
            {
                figures = "no AVX-512F, nothing to measure";
                return Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0;
            }
            const int n = 1 << 20, offset = 4;
            var x = GC.AllocateUninitializedArray<float>(n + 32, pinned: true);
            var y = GC.AllocateUninitializedArray<float>(n + 32, pinned: true);
            var z = GC.AllocateUninitializedArray<float>(n + 32, pinned: true);
            x.AsSpan().Fill(1f); y.AsSpan().Fill(2f); z.AsSpan().Fill(0f);
            var t512 = new double[7];
            var t256 = new double[7];
            for (int round = -1; round < 7; round++) // round -1 warms both up
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                Stream512(x.AsSpan(offset, n), y.AsSpan(offset, n), z.AsSpan(offset, n));
                long middle = System.Diagnostics.Stopwatch.GetTimestamp();
                Stream256(x.AsSpan(offset, n), y.AsSpan(offset, n), z.AsSpan(offset, n));
                long end = System.Diagnostics.Stopwatch.GetTimestamp();
                if (round < 0) continue;
                t512[round] = middle - start;
                t256[round] = end - middle;
            }
            Array.Sort(t512);
            Array.Sort(t256);
            double ratio = t256[3] / t512[3];
            figures = $"Vector512 {ratio.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}x the speed of Vector256 on a 4 MB stream";
            return ratio > 1.03 ? 512 : 256;
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static void Stream512(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
        {
            ref float xr = ref MemoryMarshal.GetReference(x), yr = ref MemoryMarshal.GetReference(y), zr = ref MemoryMarshal.GetReference(z);
            var a = Vector512.Create(0.999f);
            for (nuint i = 0; i + 16 <= (nuint)x.Length; i += 16)
                (a * Vector512.LoadUnsafe(ref xr, i) + Vector512.LoadUnsafe(ref yr, i)).StoreUnsafe(ref zr, i);
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static void Stream256(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
        {
            ref float xr = ref MemoryMarshal.GetReference(x), yr = ref MemoryMarshal.GetReference(y), zr = ref MemoryMarshal.GetReference(z);
            var a = Vector256.Create(0.999f);
            for (nuint i = 0; i + 8 <= (nuint)x.Length; i += 8)
                (a * Vector256.LoadUnsafe(ref xr, i) + Vector256.LoadUnsafe(ref yr, i)).StoreUnsafe(ref zr, i);
        }

        /// <summary>Whether this is an AMD CPU, and its base+extended family (CPUID leaf 1: 19h Zen 3/4, 1Ah Zen 5).</summary>
        private static bool IsAmd(out int family)
        {
            family = 0;
            if (!X86Base.IsSupported) return false;
            var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
            if (!(ebx == 0x68747541 && edx == 0x69746E65 && ecx == 0x444D4163)) return false; // "AuthenticAMD"
            int eax = X86Base.CpuId(1, 0).Eax;
            int baseFamily = (eax >> 8) & 0xF, extended = (eax >> 20) & 0xFF;
            family = baseFamily == 0xF ? baseFamily + extended : baseFamily;
            return true;
        }

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

        /// <summary>The width that runs now, for logs and reports (<see cref="WidthChoice"/> says why it started there).</summary>
        public static string Describe() =>
            Use512 ? "Vector512 (AVX-512F)" : Use256 ? "Vector256" : Use128 ? "Vector128" : "scalar";
    }
}
