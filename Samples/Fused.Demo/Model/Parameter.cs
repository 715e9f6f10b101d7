using System;

namespace Fused.Demo.Model
{
    /// <summary>A named trainable tensor with its gradient: weights are 2-D [out, in] row-major, biases 1-D.</summary>
    public sealed class Parameter
    {
        public Parameter(string name, int rows, int cols)
        {
            if (rows < 1 || cols < 1) throw new ArgumentOutOfRangeException(nameof(rows), $"{name}: shape {rows}x{cols}");
            Name = name;
            Rows = rows;
            Cols = cols;
            Value = new float[rows * cols];
            Gradient = new float[rows * cols];
        }

        public static Parameter Matrix(string name, int rows, int cols) => new Parameter(name, rows, cols);
        public static Parameter Vector(string name, int length) => new Parameter(name, 1, length) { IsMatrix = false };

        public string Name { get; }
        public int Rows { get; }
        public int Cols { get; }

        /// <summary>True for weight matrices, false for bias vectors (which are stored as 1×n).</summary>
        public bool IsMatrix { get; private init; } = true;

        public int Count => Value.Length;
        public float[] Value { get; }
        public float[] Gradient { get; }

        public string ShapeText => IsMatrix ? $"{Rows}×{Cols}" : $"{Cols}";

        public override string ToString() => $"{Name} [{ShapeText}]";
    }
}
