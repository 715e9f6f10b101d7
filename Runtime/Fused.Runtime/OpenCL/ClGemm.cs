using System;
using System.Globalization;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Single-precision GEMM on device buffers: row-major C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ.
    /// Uses a local-memory tiled kernel (each work-item computes several rows of one column of a tile) that handles
    /// any m, n, k. Kernels are built once per context through <see cref="ClContext.Programs"/>. Launches on one
    /// context are serialised by a lock because kernel arguments live in the shared kernel object.
    /// </summary>
    public static class ClGemm
    {
        /// <summary>The OpenCL C source; TS (tile edge) and WPT (rows per work-item) are set with -D options.</summary>
        public const string KernelSource = @"
#ifndef TS
#define TS 32
#endif
#ifndef WPT
#define WPT 8
#endif
#define RTS (TS / WPT)

// Row-major C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C.
// op(A)[i][p] = transA ? A[p*lda + i] : A[i*lda + p];  op(B)[p][j] = transB ? B[j*ldb + p] : B[p*ldb + j].
// Work-group (TS, RTS) computes a TS x TS tile of C; work-item (lx, ly) owns column lx, rows ly + w*RTS.
__kernel __attribute__((reqd_work_group_size(TS, RTS, 1)))
void fused_sgemm(const int m, const int n, const int k,
                 const int transA, const int transB, const float alpha,
                 __global const float* restrict A, const int aOffset, const int lda,
                 __global const float* restrict B, const int bOffset, const int ldb,
                 const float beta,
                 __global float* restrict C, const int cOffset, const int ldc)
{
    __local float Asub[TS][TS];
    __local float Bsub[TS][TS];
    const int lx = get_local_id(0);
    const int ly = get_local_id(1);
    const int col = get_group_id(0) * TS + lx;
    const int rowBase = get_group_id(1) * TS;
    A += aOffset;
    B += bOffset;
    C += cOffset;

    float acc[WPT];
    for (int w = 0; w < WPT; w++) acc[w] = 0.0f;

    const int tiles = (k + TS - 1) / TS;
    for (int t = 0; t < tiles; t++) {
        const int kBase = t * TS;
        for (int w = 0; w < WPT; w++) {
            const int r = ly + w * RTS;
            // A tile element (row r, depth lx); zero outside the matrix so edge tiles need no special case.
            const int i = rowBase + r;
            const int p = kBase + lx;
            float a = 0.0f;
            if (i < m && p < k) a = transA ? A[p * lda + i] : A[i * lda + p];
            Asub[r][lx] = a;
            // B tile element (depth r, column lx).
            const int q = kBase + r;
            float b = 0.0f;
            if (q < k && col < n) b = transB ? B[col * ldb + q] : B[q * ldb + col];
            Bsub[r][lx] = b;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TS; kk++) {
            const float b = Bsub[kk][lx];
            for (int w = 0; w < WPT; w++) acc[w] = mad(Asub[ly + w * RTS][kk], b, acc[w]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    if (col < n) {
        for (int w = 0; w < WPT; w++) {
            const int i = rowBase + ly + w * RTS;
            if (i < m) {
                const int idx = i * ldc + col;
                // BLAS convention: beta == 0 means C is not read (it may hold NaN or garbage).
                C[idx] = beta == 0.0f ? alpha * acc[w] : alpha * acc[w] + beta * C[idx];
            }
        }
    }
}
";

        /// <summary>
        /// C = alpha·op(A)·op(B) + beta·C on densely packed row-major matrices
        /// (lda = transposeA ? m : k, ldb = transposeB ? k : n, ldc = n).
        /// </summary>
        public static void Sgemm(
            ClQueue queue, bool transposeA, bool transposeB, int m, int n, int k,
            float alpha, ClBuffer a, ClBuffer b, float beta, ClBuffer c)
        {
            Sgemm(queue, transposeA, transposeB, m, n, k, alpha, a, transposeA ? m : k, b, transposeB ? k : n, beta, c, n);
        }

        /// <summary>
        /// C = alpha·op(A)·op(B) + beta·C with explicit row strides (leading dimensions) and element offsets.
        /// A is stored m×k (or k×m when <paramref name="transposeA"/>), B is k×n (or n×k), C is m×n; all row-major.
        /// The call only enqueues; use <see cref="ClQueue.Finish"/> or a later blocking read to wait.
        /// </summary>
        public static void Sgemm(
            ClQueue queue, bool transposeA, bool transposeB, int m, int n, int k,
            float alpha, ClBuffer a, int lda, ClBuffer b, int ldb, float beta, ClBuffer c, int ldc,
            int aOffset = 0, int bOffset = 0, int cOffset = 0)
        {
            ArgumentNullException.ThrowIfNull(queue);
            ArgumentOutOfRangeException.ThrowIfNegative(m);
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            ArgumentOutOfRangeException.ThrowIfNegative(k);
            if (m == 0 || n == 0)
            {
                return;
            }
            CheckMatrix(nameof(a), a, transposeA ? k : m, transposeA ? m : k, lda, aOffset);
            CheckMatrix(nameof(b), b, transposeB ? n : k, transposeB ? k : n, ldb, bOffset);
            CheckMatrix(nameof(c), c, m, n, ldc, cOffset);

            GemmState state = queue.Context.GetOrAddState(context => new GemmState(context));
            lock (state.Gate)
            {
                ClKernel kernel = state.Kernel;
                kernel.SetArg(0, m);
                kernel.SetArg(1, n);
                kernel.SetArg(2, k);
                kernel.SetArg(3, transposeA ? 1 : 0);
                kernel.SetArg(4, transposeB ? 1 : 0);
                kernel.SetArg(5, alpha);
                kernel.SetArg(6, a);
                kernel.SetArg(7, aOffset);
                kernel.SetArg(8, lda);
                kernel.SetArg(9, b);
                kernel.SetArg(10, bOffset);
                kernel.SetArg(11, ldb);
                kernel.SetArg(12, beta);
                kernel.SetArg(13, c);
                kernel.SetArg(14, cOffset);
                kernel.SetArg(15, ldc);
                long tile = state.TileSize;
                long global0 = (n + tile - 1) / tile * tile;
                long global1 = (m + tile - 1) / tile * (tile / state.RowsPerItem);
                queue.Launch2D(kernel, global0, global1, tile, tile / state.RowsPerItem);
            }
        }

        /// <summary>The tile configuration chosen for <paramref name="context"/>'s device, e.g. "TS=32 WPT=8".</summary>
        public static string Describe(ClContext context)
        {
            GemmState state = context.GetOrAddState(c => new GemmState(c));
            return "TS=" + state.TileSize + " WPT=" + state.RowsPerItem;
        }

        private static void CheckMatrix(string name, ClBuffer buffer, int rows, int columns, int leadingDimension, int offset)
        {
            ArgumentNullException.ThrowIfNull(buffer, name);
            bool empty = rows == 0 || columns == 0;
            if (!empty && leadingDimension < columns)
            {
                throw new ArgumentOutOfRangeException(name, "Leading dimension " + leadingDimension + " is smaller than the " + columns + " stored columns of " + name + ".");
            }
            if (offset < 0)
            {
                throw new ArgumentOutOfRangeException(name, "Offset of " + name + " must not be negative.");
            }
            long needed = empty ? 0 : offset + (long)(rows - 1) * leadingDimension + columns;
            if (needed > buffer.Length<float>())
            {
                throw new ArgumentException(
                    "Matrix " + name + " needs " + needed + " floats but its buffer holds " + buffer.Length<float>() + ".", name);
            }
            if (needed > int.MaxValue)
            {
                throw new ArgumentException("Matrix " + name + " is too large for 32-bit indexing.", name);
            }
        }

        /// <summary>Per-context kernel and tile configuration.</summary>
        private sealed class GemmState : IDisposable
        {
            public GemmState(ClContext context)
            {
                OpenClDevice device = context.Device;
                // Largest tile the device can run: work-group TS x TS/WPT and two TS x TS float tiles in local memory.
                foreach ((int tileSize, int rowsPerItem) in new[] { (32, 8), (16, 4), (8, 2) })
                {
                    int groupSize = tileSize * tileSize / rowsPerItem;
                    long localBytes = 2L * tileSize * tileSize * sizeof(float);
                    bool last = tileSize == 8;
                    if (!last && (groupSize > device.MaxWorkGroupSize || localBytes > device.LocalMemoryBytes))
                    {
                        continue;
                    }
                    string options = string.Format(CultureInfo.InvariantCulture, "-D TS={0} -D WPT={1}", tileSize, rowsPerItem);
                    ClProgram program = context.Programs.Get(KernelSource, options);
                    ClKernel kernel = program.CreateKernel("fused_sgemm");
                    if (!last && kernel.WorkGroupSize < groupSize)
                    {
                        kernel.Dispose();
                        continue;
                    }
                    Kernel = kernel;
                    TileSize = tileSize;
                    RowsPerItem = rowsPerItem;
                    break;
                }
                if (Kernel == null)
                {
                    throw new InvalidOperationException("No SGEMM tile configuration fits the device.");
                }
            }

            public object Gate { get; } = new object();

            public ClKernel Kernel { get; } = null!;

            public int TileSize { get; }

            public int RowsPerItem { get; }

            public void Dispose() => Kernel.Dispose();
        }
    }
}
