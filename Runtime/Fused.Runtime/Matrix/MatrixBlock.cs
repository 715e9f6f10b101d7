namespace Fused.Runtime.Matrix
{
    /// <summary>A rectangular sub-block [RowStart, RowStart+Rows) × [ColStart, ColStart+Cols) of a larger matrix.</summary>
    /// <param name="RowStart">First row.</param>
    /// <param name="ColStart">First column.</param>
    /// <param name="Rows">Number of rows.</param>
    /// <param name="Cols">Number of columns.</param>
    public readonly record struct MatrixBlock(int RowStart, int ColStart, int Rows, int Cols);
}
