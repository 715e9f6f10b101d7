using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// Which SIMD width the generated kernels use. All widths give bit-identical results; the widest
    /// the hardware supports is the default (Vector512 whenever AVX-512F is present, even where .NET
    /// leaves Vector512.IsHardwareAccelerated false). Lower <see cref="MaxVectorBits"/> to compare paths
    /// or to work around a platform; 0 forces the scalar path.
    /// </summary>
    public static class KernelDispatch
    {
        /// <summary>Upper bound on the vector width in bits: 512, 256, 128 or 0 (scalar).</summary>
        public static int MaxVectorBits { get; set; } = 512;

        /// <summary>Whether the Vector512 kernels run (allowed by <see cref="MaxVectorBits"/> and AVX-512F present).</summary>
        public static bool Use512 => MaxVectorBits >= 512 && Avx512F.IsSupported;
        /// <summary>Whether the Vector256 kernels run (allowed by <see cref="MaxVectorBits"/> and accelerated here).</summary>
        public static bool Use256 => MaxVectorBits >= 256 && Vector256.IsHardwareAccelerated;
        /// <summary>Whether the Vector128 kernels run (allowed by <see cref="MaxVectorBits"/> and accelerated here).</summary>
        public static bool Use128 => MaxVectorBits >= 128 && Vector128.IsHardwareAccelerated;

        /// <summary>The width that runs now, for logs and reports.</summary>
        public static string Describe() =>
            Use512 ? "Vector512 (AVX-512F)" : Use256 ? "Vector256" : Use128 ? "Vector128" : "scalar";
    }
}
