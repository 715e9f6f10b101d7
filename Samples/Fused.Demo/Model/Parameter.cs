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

        public static Parameter Matrix(string name, int rows, int cols, bool hidden = false) => new Parameter(name, rows, cols) { IsHidden = hidden };
        public static Parameter Vector(string name, int length) => new Parameter(name, 1, length) { IsMatrix = false };

        public string Name { get; }
        public int Rows { get; }
        public int Cols { get; }

        /// <summary>True for weight matrices, false for bias vectors (which are stored as 1×n).</summary>
        public bool IsMatrix { get; private init; } = true;

        /// <summary>
        /// A hidden 2-D weight (a matmul inside the network), where the seeds route Muon; false for embeddings,
        /// the output head, biases and norm gains, which stay on AdamW. Set by the model that owns the tensor.
        /// </summary>
        public bool IsHidden { get; init; }

        public int Count => Value.Length;
        public float[] Value { get; }
        public float[] Gradient { get; }

        public string ShapeText => IsMatrix ? $"{Rows}×{Cols}" : $"{Cols}";

        public override string ToString() => $"{Name} [{ShapeText}]";
    }
}
