using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>Settings of the Shampoo matrix pass (the rule's <c>Precondition(x)</c>).</summary>
    public sealed record ShampooOptions
    {
        /// <summary>The default options.</summary>
        public static ShampooOptions Default { get; } = new ShampooOptions();

        /// <summary>Inverse roots are recomputed every this many steps (eigendecompositions are the cost).</summary>
        public int RootEvery { get; init; } = 100;

        /// <summary>Added to the eigenvalues before the inverse root (negative ones clamp to 0 first).</summary>
        public double Epsilon { get; init; } = 1e-6;

        /// <summary>
        /// Largest side the pass accepts (the statistics are side² floats). Larger tensors are refused with
        /// a clear error: blocking them into pieces is not implemented yet.
        /// </summary>
        public int MaxDimension { get; init; } = 1024;

        internal void Validate()
        {
            if (RootEvery < 1) throw new ArgumentOutOfRangeException(nameof(RootEvery), RootEvery, "roots must be refreshed at least every step count ≥ 1");
            if (!(Epsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "epsilon must be ≥ 0");
        }
    }
}
