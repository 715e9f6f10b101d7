using System;
using Fused.Ir;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// The bit casts device code passes to <see cref="ScalarMath"/>'s polynomials (<c>ScalarMath.Exp&lt;DeviceBits&gt;</c>):
    /// <see cref="BitConverter"/>, which ILGPU compiles to a register reinterpretation, where the host's union
    /// (<see cref="ScalarMath.UnionBits"/>) has a layout ILGPU refuses. The same bits either way.
    /// </summary>
    public struct DeviceBits : IFloatBits
    {
        /// <inheritdoc/>
        public int ToBits(float f) => BitConverter.SingleToInt32Bits(f);
        /// <inheritdoc/>
        public float FromBits(int i) => BitConverter.Int32BitsToSingle(i);
    }
}
