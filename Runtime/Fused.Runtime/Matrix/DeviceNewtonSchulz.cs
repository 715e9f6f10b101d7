using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// The primitives a device offers Newton–Schulz (<see cref="DeviceNewtonSchulz"/>), over its own matrix handle
    /// (<typeparamref name="TMatrix"/>: an OpenCL buffer, an ILGPU view). Matrices are row-major floats on the device.
    /// </summary>
    public interface INewtonSchulzDevice<TMatrix>
    {
        /// <summary>Makes room for a rows×cols matrix; the workspace: two s×s Gram matrices (s the short side) and a rows×cols product.</summary>
        (TMatrix Gram, TMatrix Gram2, TMatrix Product) Reserve(int rows, int cols);

        /// <summary>Σ x² over the first <paramref name="n"/> elements in the canonical block order (may use the product buffer as scratch).</summary>
        double SumOfSquares(TMatrix x, int n);

        /// <summary>x ← factor · x over <paramref name="n"/> elements.</summary>
        void Scale(TMatrix x, float factor, int n);

        /// <summary>y ← a · x + b · y over <paramref name="n"/> elements.</summary>
        void Axpby(TMatrix x, TMatrix y, float a, float b, int n);

        /// <summary>C = alpha · op(A) · op(B), C m×n; op(A) is Aᵀ (A stored k×m) when <paramref name="transA"/>, likewise B.</summary>
        void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, TMatrix a, TMatrix b, TMatrix c);
    }

    /// <summary>
    /// Muon's Newton–Schulz iteration on a device, written once for every device backend: X ← X / (‖X‖F + ε), then per
    /// step A = X·Xᵀ on the short side (Xᵀ·X for tall matrices), B = b·A + c·A², X ← a·X + B·X (X·B when tall) — the
    /// iteration and coefficient schedule of the host pass (<see cref="NewtonSchulz"/>, plain variant) and the seeds'
    /// reference code. Products sum in the device's order, so results agree with the host to rounding, not bit for bit.
    /// </summary>
    public static class DeviceNewtonSchulz
    {
        /// <summary>Orthogonalises the row-major rows×cols matrix <paramref name="x"/> in place on <paramref name="device"/>.</summary>
        /// <exception cref="ArgumentException">The matrix holds NaN or infinity.</exception>
        public static void Orthogonalize<TMatrix>(INewtonSchulzDevice<TMatrix> device, NewtonSchulzOptions options, TMatrix x, int rows, int cols)
        {
            int n = checked(rows * cols);
            if (n == 0) return;
            var (gram, gram2, product) = device.Reserve(rows, cols);
            double norm = Math.Sqrt(device.SumOfSquares(x, n));
            if (!double.IsFinite(norm)) throw new ArgumentException($"the {rows}x{cols} matrix contains NaN or infinity; Newton-Schulz would turn the update into NaN");
            if (norm == 0) return;
            device.Scale(x, (float)(1.0 / (norm + options.NormalizationEpsilon)), n);
            bool wide = rows <= cols;
            int s = wide ? rows : cols;
            for (int step = 0; step < options.Steps; step++)
            {
                var c = options.CoefficientsAt(step);
                // A = X·Xᵀ (s×s) for wide matrices, Xᵀ·X for tall ones.
                if (wide) device.Gemm(false, true, s, s, cols, 1f, x, x, gram);
                else device.Gemm(true, false, s, s, rows, 1f, x, x, gram);
                // B = b·A + c·A·A, into gram2.
                device.Gemm(false, false, s, s, s, (float)c.C, gram, gram, gram2);
                device.Axpby(gram, gram2, (float)c.B, 1f, s * s);
                // X ← a·X + B·X (wide) or a·X + X·B (tall), through the product buffer.
                if (wide) device.Gemm(false, false, rows, cols, s, 1f, gram2, x, product);
                else device.Gemm(false, false, rows, cols, s, 1f, x, gram2, product);
                device.Axpby(product, x, 1f, (float)c.A, n);
            }
        }
    }
}
