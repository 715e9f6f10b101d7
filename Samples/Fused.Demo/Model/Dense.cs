using System;
using System.Numerics;
using Fused.Runtime.Matrix;

namespace Fused.Demo.Model
{
    /// <summary>
    /// A fully connected layer y = x·Wᵀ (+ b) on row-major batches, forward and backward, each matmul one
    /// Blas.Sgemm. W is [out, in]; x is [rows, in]; y is [rows, out]. Shared by the MLP, the CNN (whose
    /// convolutions are this after im2col) and the transformer.
    /// </summary>
    public static class Dense
    {
        /// <summary>y = x·Wᵀ + b (b may be null).</summary>
        public static void Forward(Parameter w, Parameter? bias, ReadOnlySpan<float> x, int rows, Span<float> y)
        {
            y = y.Slice(0, rows * w.Rows);
            if (bias is null) y.Clear();
            else for (int r = 0; r < rows; r++) bias.Value.CopyTo(y.Slice(r * w.Rows, w.Rows));
            Blas.Sgemm(false, true, rows, w.Rows, w.Cols, 1f, x, w.Cols, w.Value, w.Cols, 1f, y, w.Rows);
        }

        /// <summary>
        /// From dy = ∂L/∂y: writes ∂L/∂W = dyᵀ·x and ∂L/∂b = column sums of dy into the gradients, and
        /// dx = dy·W into <paramref name="dx"/> unless it is empty (the first layer needs no input gradient).
        /// </summary>
        public static void Backward(Parameter w, Parameter? bias, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int rows, Span<float> dx)
        {
            Blas.Sgemm(true, false, w.Rows, w.Cols, rows, 1f, dy, w.Rows, x, w.Cols, 0f, w.Gradient, w.Cols);
            if (bias is not null)
            {
                var db = bias.Gradient.AsSpan();
                db.Clear();
                for (int r = 0; r < rows; r++)
                {
                    var dyRow = dy.Slice(r * w.Rows, w.Rows);
                    for (int o = 0; o < dyRow.Length; o++) db[o] += dyRow[o];
                }
            }

            if (!dx.IsEmpty) Blas.Sgemm(false, false, rows, w.Cols, w.Rows, 1f, dy, w.Rows, w.Value, w.Cols, 0f, dx, w.Cols);
        }

        /// <summary>
        /// Mean softmax cross-entropy over <paramref name="rows"/> rows of logits; writes its gradient
        /// (softmax − onehot)/rows to <paramref name="dLogits"/>.
        /// </summary>
        public static double MeanCrossEntropy<TLabel>(ReadOnlySpan<float> logits, int classes, int rows, ReadOnlySpan<TLabel> labels, Span<float> dLogits)
            where TLabel : IBinaryInteger<TLabel>
        {
            double loss = 0;
            for (int r = 0; r < rows; r++)
            {
                var d = dLogits.Slice(r * classes, classes);
                loss += CrossEntropy.Loss(logits.Slice(r * classes, classes), int.CreateTruncating(labels[r]), d);
                for (int c = 0; c < classes; c++) d[c] /= rows;
            }

            return loss / rows;
        }
    
        /// <summary>ReLU in place.</summary>
        public static void Relu(Span<float> values)
        {
            for (int i = 0; i < values.Length; i++) if (values[i] < 0) values[i] = 0;
        }

        /// <summary>delta ⊙= ReLU′: zero where the stored post-ReLU activation is 0 (> 0 exactly where ReLU′ = 1).</summary>
        public static void ReluBackward(Span<float> delta, ReadOnlySpan<float> activation)
        {
            for (int i = 0; i < delta.Length; i++) if (activation[i] <= 0) delta[i] = 0;
        }
    }
}
