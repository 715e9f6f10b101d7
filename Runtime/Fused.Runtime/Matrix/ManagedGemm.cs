using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Blocked, packed SGEMM in managed code (Goto-style: KC×NC panel of B, MC×KC panel of A,
    /// 4×16 Vector256 FMA micro-kernel). Used only when no native BLAS is found.
    /// </summary>
    internal static unsafe class ManagedGemm
    {
        private const int MR = 4;
        private const int NR = 16;
        private const int KC = 256;
        private const int MC = 64;
        private const int NC = 1024;

        // Below this many multiply-adds, thread hand-off costs more than it saves.
        private const long ParallelThreshold = 1L << 21;

        [ThreadStatic]
        private static float[]? threadPackA;

        [ThreadStatic]
        private static float[]? threadPackB;

        /// <summary>C = alpha·op(A)·op(B) + beta·C on raw row-major pointers; arguments already validated.</summary>
        internal static void Sgemm(
            bool transA, bool transB, int m, int n, int k, float alpha,
            float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        {
            if (m == 0 || n == 0)
            {
                return;
            }

            ScaleC(m, n, beta, c, ldc);
            if (alpha == 0f || k == 0)
            {
                return;
            }

            float[] packB = threadPackB ??= GC.AllocateUninitializedArray<float>(KC * NC, pinned: true);
            int mBlocks = (m + MC - 1) / MC;
            bool parallel = Environment.ProcessorCount > 1 && mBlocks > 1 && (long)m * n * k >= ParallelThreshold;

            fixed (float* pb = packB)
            {
                for (int jc = 0; jc < n; jc += NC)
                {
                    int nc = Math.Min(NC, n - jc);
                    for (int pc = 0; pc < k; pc += KC)
                    {
                        int kc = Math.Min(KC, k - pc);
                        PackB(transB, b, ldb, pc, jc, kc, nc, pb);
                        var job = new BlockJob(transA, m, a, lda, alpha, pb, c, ldc, pc, jc, kc, nc);
                        if (parallel)
                        {
                            Parallel.For(0, mBlocks, job.Run);
                        }
                        else
                        {
                            for (int block = 0; block < mBlocks; block++)
                            {
                                job.Run(block);
                            }
                        }
                    }
                }
            }
        }

        private static void ScaleC(int m, int n, float beta, float* c, int ldc)
        {
            if (beta == 1f)
            {
                return;
            }

            for (int i = 0; i < m; i++)
            {
                Span<float> row = new Span<float>(c + ((long)i * ldc), n);
                if (beta == 0f)
                {
                    row.Clear(); // BLAS semantics: beta = 0 ignores NaN already in C.
                }
                else
                {
                    for (int j = 0; j < row.Length; j++)
                    {
                        row[j] *= beta;
                    }
                }
            }
        }

        /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] into NR-wide column panels, zero padded.</summary>
        private static void PackB(bool transB, float* b, int ldb, int pc, int jc, int kc, int nc, float* dst)
        {
            for (int jp = 0; jp < nc; jp += NR)
            {
                int width = Math.Min(NR, nc - jp);
                float* panel = dst + ((long)jp * kc);
                for (int p = 0; p < kc; p++)
                {
                    float* outRow = panel + (p * NR);
                    if (!transB)
                    {
                        float* src = b + ((long)(pc + p) * ldb) + jc + jp;
                        int j = 0;
                        for (; j < width; j++)
                        {
                            outRow[j] = src[j];
                        }

                        for (; j < NR; j++)
                        {
                            outRow[j] = 0f;
                        }
                    }
                    else
                    {
                        int j = 0;
                        for (; j < width; j++)
                        {
                            outRow[j] = b[((long)(jc + jp + j) * ldb) + pc + p];
                        }

                        for (; j < NR; j++)
                        {
                            outRow[j] = 0f;
                        }
                    }
                }
            }
        }

        /// <summary>Packs alpha·op(A)[ic..ic+mc, pc..pc+kc] into MR-tall row panels, zero padded.</summary>
        private static void PackA(bool transA, float* a, int lda, float alpha, int ic, int pc, int mc, int kc, float* dst)
        {
            for (int ip = 0; ip < mc; ip += MR)
            {
                int height = Math.Min(MR, mc - ip);
                float* panel = dst + ((long)ip * kc);
                for (int p = 0; p < kc; p++)
                {
                    float* outCol = panel + (p * MR);
                    int i = 0;
                    for (; i < height; i++)
                    {
                        int row = ic + ip + i;
                        int col = pc + p;
                        outCol[i] = alpha * (transA ? a[((long)col * lda) + row] : a[((long)row * lda) + col]);
                    }

                    for (; i < MR; i++)
                    {
                        outCol[i] = 0f;
                    }
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void MicroKernel(int kc, float* ap, float* bp, float* c, int ldc, int rows, int cols)
        {
            Vector256<float> c00 = Vector256<float>.Zero, c01 = Vector256<float>.Zero;
            Vector256<float> c10 = Vector256<float>.Zero, c11 = Vector256<float>.Zero;
            Vector256<float> c20 = Vector256<float>.Zero, c21 = Vector256<float>.Zero;
            Vector256<float> c30 = Vector256<float>.Zero, c31 = Vector256<float>.Zero;
            for (int p = 0; p < kc; p++)
            {
                Vector256<float> b0 = Vector256.Load(bp);
                Vector256<float> b1 = Vector256.Load(bp + 8);
                Vector256<float> a0 = Vector256.Create(ap[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                Vector256<float> a1 = Vector256.Create(ap[1]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                Vector256<float> a2 = Vector256.Create(ap[2]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                Vector256<float> a3 = Vector256.Create(ap[3]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                ap += MR;
                bp += NR;
            }

            if (rows == MR && cols == NR)
            {
                AddRow(c, c00, c01);
                AddRow(c + ldc, c10, c11);
                AddRow(c + (2 * ldc), c20, c21);
                AddRow(c + (3 * ldc), c30, c31);
                return;
            }

            // Edge tile: spill to the stack and add only the valid part.
            float* tile = stackalloc float[MR * NR];
            c00.Store(tile); c01.Store(tile + 8);
            c10.Store(tile + 16); c11.Store(tile + 24);
            c20.Store(tile + 32); c21.Store(tile + 40);
            c30.Store(tile + 48); c31.Store(tile + 56);
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    c[((long)i * ldc) + j] += tile[(i * NR) + j];
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AddRow(float* row, Vector256<float> low, Vector256<float> high)
        {
            (Vector256.Load(row) + low).Store(row);
            (Vector256.Load(row + 8) + high).Store(row + 8);
        }

        /// <summary>One KC×NC step of the outer loops; Run(block) multiplies one MC-row slab of A into C. A struct so the sequential path allocates nothing.</summary>
        private readonly struct BlockJob
        {
            private readonly bool transA;
            private readonly int m;
            private readonly float* a;
            private readonly int lda;
            private readonly float alpha;
            private readonly float* packedB;
            private readonly float* c;
            private readonly int ldc;
            private readonly int pc;
            private readonly int jc;
            private readonly int kc;
            private readonly int nc;

            internal BlockJob(bool transA, int m, float* a, int lda, float alpha, float* packedB, float* c, int ldc, int pc, int jc, int kc, int nc)
            {
                this.transA = transA;
                this.m = m;
                this.a = a;
                this.lda = lda;
                this.alpha = alpha;
                this.packedB = packedB;
                this.c = c;
                this.ldc = ldc;
                this.pc = pc;
                this.jc = jc;
                this.kc = kc;
                this.nc = nc;
            }

            internal void Run(int block)
            {
                int ic = block * MC;
                int mc = Math.Min(MC, m - ic);
                float[] packA = threadPackA ??= GC.AllocateUninitializedArray<float>(MC * KC, pinned: true);
                fixed (float* pa = packA)
                {
                    PackA(transA, a, lda, alpha, ic, pc, mc, kc, pa);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int cols = Math.Min(NR, nc - jr);
                        float* bPanel = packedB + ((long)jr * kc);
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int rows = Math.Min(MR, mc - ir);
                            float* cTile = c + ((long)(ic + ir) * ldc) + jc + jr;
                            MicroKernel(kc, pa + ((long)ir * kc), bPanel, cTile, ldc, rows, cols);
                        }
                    }
                }
            }
        }
    }
}
