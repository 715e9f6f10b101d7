using ILGPU;

namespace Fused.Ilgpu
{
    /// <summary>
    /// Device kernels of the matrix passes (<see cref="IlgpuNewtonSchulz"/>): a tiled GEMM over shared memory and the
    /// element-wise helpers around it. Row-major matrices throughout.
    /// </summary>
    public static class MatrixKernels
    {
        /// <summary>The largest tile side: two tiles of MaxTile² floats in shared memory per group.</summary>
        public const int MaxTile = 16;

        /// <summary>
        /// C = alpha · op(A) · op(B), C m×n, op(A) m×k, op(B) k×n; <paramref name="transA"/> ≠ 0: A is stored k×m (op(A) = Aᵀ),
        /// likewise B. Explicitly grouped: groups of tile×tile threads, thread (x, y) of group (X, Y) computes C[Y·tile + y,
        /// X·tile + x]; each group stages one tile of op(A) and one of op(B) in shared memory per step along k (zeros past
        /// the edges), so every element of A and B is read from global memory once per tile instead of once per product.
        /// The sum runs in increasing p in float32 (not OpenBLAS's order: results agree to rounding, not bit for bit).
        /// </summary>
        public static void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int m, int n, int k, int transA, int transB, float alpha, int tile)
        {
            var tileA = SharedMemory.Allocate1D<float>(MaxTile * MaxTile);
            var tileB = SharedMemory.Allocate1D<float>(MaxTile * MaxTile);
            int x = Group.IdxX, y = Group.IdxY;
            int row = Grid.IdxY * tile + y, col = Grid.IdxX * tile + x;
            float sum = 0f;
            for (int t = 0; t < k; t += tile)
            {
                int pa = t + x, pb = t + y;
                float av = 0f, bv = 0f;
                if (row < m && pa < k) av = transA != 0 ? a[pa * m + row] : a[row * k + pa];
                if (pb < k && col < n) bv = transB != 0 ? b[col * k + pb] : b[pb * n + col];
                tileA[y * tile + x] = av;
                tileB[y * tile + x] = bv;
                Group.Barrier();
                for (int q = 0; q < tile; q++) sum += tileA[y * tile + q] * tileB[q * tile + x];
                Group.Barrier();
            }
            if (row < m && col < n) c[row * n + col] = alpha * sum;
        }

        /// <summary>y[i] = alpha · x[i] + beta · y[i].</summary>
        public static void Axpby(Index1D i, ArrayView<float> x, ArrayView<float> y, float alpha, float beta) => y[i] = alpha * x[i] + beta * y[i];

        /// <summary>x[i] = scale · x[i].</summary>
        public static void Scale(Index1D i, ArrayView<float> x, float scale) => x[i] = scale * x[i];

        /// <summary>squares[i] = x[i]², the operand of the Frobenius norm (reduced by <see cref="BlockReduce"/>).</summary>
        public static void Square(Index1D i, ArrayView<float> x, ArrayView<float> squares) => squares[i] = x[i] * x[i];
    }
}
