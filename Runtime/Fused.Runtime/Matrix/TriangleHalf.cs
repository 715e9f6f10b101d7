namespace Fused.Runtime.Matrix
{
    /// <summary>Which triangle of a row-major symmetric matrix a routine reads or writes.</summary>
    public enum TriangleHalf
    {
        /// <summary>Entries (i, j) with j ≥ i.</summary>
        Upper,

        /// <summary>Entries (i, j) with j ≤ i.</summary>
        Lower,
    }
}
