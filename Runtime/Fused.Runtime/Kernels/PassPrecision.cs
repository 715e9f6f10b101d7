using System;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// The memory formats one generated-kernel call works over besides float32 (flags; <see cref="Float32"/> is all float32).
    /// The kernels are one generic method per pass and SIMD width; each combination is an instantiation, not a copy.
    /// </summary>
    [Flags]
    public enum PassPrecision
    {
        /// <summary>Parameter, gradient and states in float32; no parameter copy.</summary>
        Float32 = 0,
        /// <summary>Element states in bfloat16, rounded stochastically in the kernel.</summary>
        BFloat16State = 1,
        /// <summary>The gradient in bfloat16, widened in registers (never copied to float32 memory).</summary>
        BFloat16Gradient = 2,
        /// <summary>A bfloat16 copy of the updated parameter (round to nearest even) written by the same loop.</summary>
        BFloat16ParameterCopy = 4,
    }
}
