using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Splits large matrices into blocks no side of which exceeds a maximum, as blocked Shampoo does so each
    /// preconditioner stays at most maxDim×maxDim. Splits are balanced: block sizes along a dimension differ by
    /// at most one (1500 with maxDim 1024 gives 750 + 750, not 1024 + 476).
    /// </summary>
    public static class MatrixBlocking
    {
        /// <summary>Shampoo's usual cap on a preconditioner side.</summary>
        public const int DefaultMaxDim = 1024;

        /// <summary>Number of pieces a dimension of <paramref name="length"/> is split into.</summary>
        public static int PieceCount(int length, int maxDim = DefaultMaxDim)
        {
            Check(length, maxDim);
            return (int)(((long)length + maxDim - 1) / maxDim);
        }

        /// <summary>Start and size of piece <paramref name="index"/> of a balanced split of <paramref name="length"/>.</summary>
        public static (int Start, int Size) Piece(int length, int index, int maxDim = DefaultMaxDim)
        {
            int count = PieceCount(length, maxDim);
            if ((uint)index >= (uint)count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"A length of {length} splits into {count} pieces of at most {maxDim}.");
            }

            int baseSize = length / count;
            int remainder = length % count;
            // The first `remainder` pieces get one extra element.
            int start = (index * baseSize) + Math.Min(index, remainder);
            int size = baseSize + (index < remainder ? 1 : 0);
            return (start, size);
        }

        /// <summary>Number of blocks of a rows×cols matrix (row pieces × column pieces).</summary>
        public static int BlockCount(int rows, int cols, int maxDim = DefaultMaxDim)
            => checked(PieceCount(rows, maxDim) * PieceCount(cols, maxDim));

        /// <summary>Block <paramref name="index"/> in row-major block order.</summary>
        public static MatrixBlock Block(int rows, int cols, int index, int maxDim = DefaultMaxDim)
        {
            int colPieces = PieceCount(cols, maxDim);
            int total = BlockCount(rows, cols, maxDim);
            if ((uint)index >= (uint)total)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"A {rows}x{cols} matrix has {total} blocks of at most {maxDim}x{maxDim}.");
            }

            (int rowStart, int blockRows) = Piece(rows, index / colPieces, maxDim);
            (int colStart, int blockCols) = Piece(cols, index % colPieces, maxDim);
            return new MatrixBlock(rowStart, colStart, blockRows, blockCols);
        }

        /// <summary>Copies <paramref name="block"/> of the row-major rows×cols <paramref name="source"/> into the dense block-shaped <paramref name="destination"/>.</summary>
        public static void CopyOut(ReadOnlySpan<float> source, int rows, int cols, MatrixBlock block, Span<float> destination)
        {
            CheckBlock(source.Length, rows, cols, block, destination.Length, nameof(destination));
            for (int i = 0; i < block.Rows; i++)
            {
                source.Slice(((block.RowStart + i) * cols) + block.ColStart, block.Cols).CopyTo(destination.Slice(i * block.Cols, block.Cols));
            }
        }

        /// <summary>Writes the dense block-shaped <paramref name="source"/> into <paramref name="block"/> of the row-major rows×cols <paramref name="destination"/>.</summary>
        public static void CopyIn(ReadOnlySpan<float> source, MatrixBlock block, Span<float> destination, int rows, int cols)
        {
            CheckBlock(destination.Length, rows, cols, block, source.Length, nameof(source));
            for (int i = 0; i < block.Rows; i++)
            {
                source.Slice(i * block.Cols, block.Cols).CopyTo(destination.Slice(((block.RowStart + i) * cols) + block.ColStart, block.Cols));
            }
        }

        private static void Check(int length, int maxDim)
        {
            if (length <= 0)
            {
                throw new ArgumentException($"length must be positive, got {length}.", nameof(length));
            }

            if (maxDim <= 0)
            {
                throw new ArgumentException($"maxDim must be positive, got {maxDim}.", nameof(maxDim));
            }
        }

        private static void CheckBlock(int matrixLength, int rows, int cols, MatrixBlock block, int denseLength, string denseName)
        {
            if (rows <= 0 || cols <= 0 || matrixLength != (long)rows * cols)
            {
                throw new ArgumentException($"The full matrix span has {matrixLength} elements, which does not match a {rows}x{cols} shape.");
            }

            if (block.RowStart < 0 || block.ColStart < 0 || block.Rows <= 0 || block.Cols <= 0
                || block.RowStart + block.Rows > rows || block.ColStart + block.Cols > cols)
            {
                throw new ArgumentException($"{block} does not lie inside a {rows}x{cols} matrix.", nameof(block));
            }

            if (denseLength != block.Rows * block.Cols)
            {
                throw new ArgumentException($"{denseName} has {denseLength} elements but the {block.Rows}x{block.Cols} block needs exactly {block.Rows * block.Cols}.", denseName);
            }
        }
    }
}
