using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>Orientation of a rows×cols Newton-Schulz input: the Gram matrix is Small×Small.</summary>
    internal readonly struct IterationShape
    {
        internal IterationShape(int rows, int cols)
        {
            Rows = rows;
            Cols = cols;
            Wide = rows <= cols;
            Small = Math.Min(rows, cols);
            Large = Math.Max(rows, cols);
        }

        internal int Rows { get; }

        internal int Cols { get; }

        /// <summary>rows ≤ cols: A = X·Xᵀ and the polynomial multiplies from the left.</summary>
        internal bool Wide { get; }

        internal int Small { get; }

        internal int Large { get; }

        internal int Count => Rows * Cols;
    }
}
