namespace Fused
{
    /// <summary>The shape scalars of a parameter tensor as a rule sees them (rank-1 tensors have one row).</summary>
    public readonly struct ShapeInfo
    {
        /// <summary>A shape of <paramref name="numel"/> elements viewed as <paramref name="rows"/>×<paramref name="cols"/>.</summary>
        public ShapeInfo(long numel, long rows, long cols)
        {
            Numel = numel;
            Rows = rows;
            Cols = cols;
        }

        /// <summary>A vector: one row of <paramref name="numel"/> columns.</summary>
        public static ShapeInfo Vector(long numel) => new ShapeInfo(numel, 1, numel);

        /// <summary>A matrix (the engine views higher ranks as (product of the leading dimensions) × last dimension).</summary>
        public static ShapeInfo Matrix(long rows, long cols) => new ShapeInfo(rows * cols, rows, cols);

        /// <summary>Number of elements.</summary>
        public long Numel { get; }
        /// <summary>Rows of the tensor viewed as a Rows×Cols matrix (1 for a vector).</summary>
        public long Rows { get; }
        /// <summary>Columns of the tensor viewed as a Rows×Cols matrix (the length for a vector).</summary>
        public long Cols { get; }

        /// <summary>How many floats a state of <paramref name="shape"/> holds for this tensor.</summary>
        public long LengthOf(StateShape shape) => shape switch
        {
            StateShape.Scalar => 1,
            StateShape.Row => Rows,
            StateShape.Column => Cols,
            _ => Numel,
        };

        /// <summary>The value of a shape scalar (Numel, Rows or Cols) as a float64.</summary>
        public double Get(Ir.ShapeScalar which) => which switch
        {
            Ir.ShapeScalar.Rows => Rows,
            Ir.ShapeScalar.Cols => Cols,
            _ => Numel,
        };
    }
}
