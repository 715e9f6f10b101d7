using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>Shared bounds checks for every BLAS entry point, so both backends reject the same inputs.</summary>
    internal static class BlasArguments
    {
        /// <summary>Elements a row-major rows×cols view with leading dimension ld spans.</summary>
        internal static long RequiredLength(int rows, int cols, int ld)
            => rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;

        internal static void CheckDimension(int value, string name)
        {
            if (value < 0)
            {
                throw new ArgumentException($"{name} must be non-negative, got {value}.", name);
            }
        }

        /// <summary>Checks that a row-major rows×cols operand fits in a span of the given length with leading dimension ld.</summary>
        internal static void CheckOperand(string name, int length, int rows, int cols, int ld, string ldName)
        {
            if (ld < Math.Max(1, cols))
            {
                throw new ArgumentException(
                    $"{ldName} = {ld} is smaller than the {cols} columns of the stored {rows}x{cols} row-major matrix {name} (need {ldName} >= max(1, {cols})).",
                    ldName);
            }

            long required = RequiredLength(rows, cols, ld);
            if (length < required)
            {
                throw new ArgumentException(
                    $"{name} has {length} elements but a stored {rows}x{cols} row-major matrix with {ldName} = {ld} needs at least {required}.",
                    name);
            }
        }

        internal static void CheckNoOverlap(ReadOnlySpan<float> input, ReadOnlySpan<float> output, string inputName, string outputName)
        {
            if (!input.IsEmpty && !output.IsEmpty && input.Overlaps(output))
            {
                throw new ArgumentException($"{outputName} must not overlap {inputName}: BLAS reads {inputName} while writing {outputName}.", outputName);
            }
        }

        internal static void CheckGemm(
            bool transA, bool transB, int m, int n, int k,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> c, int ldc)
        {
            CheckDimension(m, nameof(m));
            CheckDimension(n, nameof(n));
            CheckDimension(k, nameof(k));
            // Stored shapes: op(A) is m×k, op(B) is k×n.
            CheckOperand("A", a.Length, transA ? k : m, transA ? m : k, lda, nameof(lda));
            CheckOperand("B", b.Length, transB ? n : k, transB ? k : n, ldb, nameof(ldb));
            CheckOperand("C", c.Length, m, n, ldc, nameof(ldc));
            CheckNoOverlap(a, c, "A", "C");
            CheckNoOverlap(b, c, "B", "C");
        }

        internal static void CheckSyrk(bool transA, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> c, int ldc)
        {
            CheckDimension(n, nameof(n));
            CheckDimension(k, nameof(k));
            // C = A·Aᵀ with A n×k, or C = Aᵀ·A with A k×n.
            CheckOperand("A", a.Length, transA ? k : n, transA ? n : k, lda, nameof(lda));
            CheckOperand("C", c.Length, n, n, ldc, nameof(ldc));
            CheckNoOverlap(a, c, "A", "C");
        }

        internal static void CheckSymm(
            bool rightSide, int m, int n, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> c, int ldc)
        {
            CheckDimension(m, nameof(m));
            CheckDimension(n, nameof(n));
            int order = rightSide ? n : m;
            CheckOperand("A", a.Length, order, order, lda, nameof(lda));
            CheckOperand("B", b.Length, m, n, ldb, nameof(ldb));
            CheckOperand("C", c.Length, m, n, ldc, nameof(ldc));
            CheckNoOverlap(a, c, "A", "C");
            CheckNoOverlap(b, c, "B", "C");
        }

        internal static void CheckSyevd(int n, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> eigenvalues)
        {
            CheckDimension(n, nameof(n));
            CheckOperand("A", a.Length, n, n, lda, nameof(lda));
            if (eigenvalues.Length < n)
            {
                throw new ArgumentException($"eigenvalues has {eigenvalues.Length} elements but the {n}x{n} problem has {n} eigenvalues.", nameof(eigenvalues));
            }

            CheckNoOverlap(a, eigenvalues, "A", "eigenvalues");
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<float> upperRow = a.Slice((i * lda) + i, n - i);
                foreach (float value in upperRow)
                {
                    if (!float.IsFinite(value))
                    {
                        throw new ArgumentException($"A contains a non-finite value ({value}) in row {i}; an eigendecomposition of it is meaningless.", nameof(a));
                    }
                }
            }
        }

        /// <summary>Copies one triangle of a square row-major matrix onto the other (tiled so the strided side stays in cache).</summary>
        internal static void MirrorTriangle(Span<float> c, int n, int ldc, TriangleHalf filled)
        {
            const int Tile = 32;
            for (int ib = 0; ib < n; ib += Tile)
            {
                int iEnd = Math.Min(ib + Tile, n);
                for (int jb = ib; jb < n; jb += Tile)
                {
                    int jEnd = Math.Min(jb + Tile, n);
                    for (int i = ib; i < iEnd; i++)
                    {
                        int rowI = i * ldc;
                        for (int j = Math.Max(jb, i + 1); j < jEnd; j++)
                        {
                            if (filled == TriangleHalf.Upper)
                            {
                                c[(j * ldc) + i] = c[rowI + j];
                            }
                            else
                            {
                                c[rowI + j] = c[(j * ldc) + i];
                            }
                        }
                    }
                }
            }
        }
    }
}
