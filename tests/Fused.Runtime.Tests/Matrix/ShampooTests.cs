using System;
using System.Linq;
using Fused.Runtime.Matrix;
using MathNet.Numerics.LinearAlgebra;
using Xunit;

namespace Fused.Runtime.Tests.Matrix
{
    public class ShampooTests
    {
        /// <summary>Q·diag((max(λ,0)+ε)^(−1/p))·Qᵀ from MathNet's float64 EVD.</summary>
        private static Matrix<double> InverseRootReference(float[] a, int n, double p, double epsilon)
        {
            var evd = Reference.ToMatrix(a, n, n).Evd(Symmetricity.Symmetric);
            double[] powered = evd.EigenValues.Select(z => Math.Pow(Math.Max(z.Real, 0) + epsilon, -1.0 / p)).ToArray();
            return evd.EigenVectors * Matrix<double>.Build.DenseOfDiagonalArray(powered) * evd.EigenVectors.Transpose();
        }

        private static float[] GramOf(float[] g, int rows, int cols)
        {
            Matrix<double> m = Reference.ToMatrix(g, rows, cols);
            return Reference.ToArray(m * m.Transpose());
        }

        [Theory]
        [InlineData(1, 4.0)]
        [InlineData(17, 4.0)]
        [InlineData(64, 4.0)]
        [InlineData(64, 2.0)]
        [InlineData(100, 1.0)]
        public void InverseRoot_matches_mathnet_evd_in_float64(int n, double p)
        {
            var random = new Random(n);
            // Full-rank SPD statistic: G·Gᵀ with G n×2n, plus damping.
            float[] a = GramOf(Reference.Gaussian(random, n * 2 * n), n, 2 * n);
            double epsilon = 1e-3 * n;
            Matrix<double> expected = InverseRootReference(a, n, p, epsilon);
            float[] result = new float[n * n];
            SymmetricMatrix.InverseRoot(a, n, p, epsilon, result);
            double error = Reference.RelativeError(result, expected);
            Assert.True(error <= 1e-3, $"relative error {error}");
        }

        [Fact]
        public void InverseRoot_of_rank_deficient_statistic_clamps_negative_eigenvalues()
        {
            // G·Gᵀ with G 40×10 has rank 10: thirty eigenvalues are zero up to rounding, some negative in float.
            var random = new Random(9);
            float[] a = GramOf(Reference.Gaussian(random, 40 * 10), 40, 10);
            float[] result = new float[40 * 40];
            // ε well above float32 eigenvalue noise (~1e-7·‖A‖ ≈ 1e-5 here), else no float32 solver can match float64.
            SymmetricMatrix.InverseRoot(a, 40, 4, 1e-2, result);
            Assert.All(result, v => Assert.True(float.IsFinite(v)));
            double error = Reference.RelativeError(result, InverseRootReference(a, 40, 4, 1e-2));
            Assert.True(error <= 1e-3, $"relative error {error}");
        }

        [Fact]
        public void InverseRoot_is_in_place_safe_and_rejects_bad_arguments()
        {
            float[] a = { 4, 0, 0, 16 };
            SymmetricMatrix.InverseRoot(a, 2, 2, 0, a);
            Assert.Equal(0.5, a[0], 5);
            Assert.Equal(0.25, a[3], 5);
            Assert.Equal(0.0, a[1], 6);

            Assert.Contains("needs exactly 4", Assert.Throws<ArgumentException>(() => SymmetricMatrix.InverseRoot(new float[3], 2, 4, 1e-6, new float[4])).Message);
            Assert.Contains("p must be positive", Assert.Throws<ArgumentException>(() => SymmetricMatrix.InverseRoot(new float[4], 2, 0, 1e-6, new float[4])).Message);
            Assert.Contains("epsilon", Assert.Throws<ArgumentException>(() => SymmetricMatrix.InverseRoot(new float[4], 2, 4, -1, new float[4])).Message);
            Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => SymmetricMatrix.InverseRoot(new float[] { float.NaN, 0, 0, 1 }, 2, 4, 1e-6, new float[4])).Message);
            Assert.Contains("singular", Assert.Throws<InvalidOperationException>(() => SymmetricMatrix.InverseRoot(new float[] { 1, 0, 0, 0 }, 2, 4, 0, new float[4])).Message);
        }

        [Fact]
        public void AccumulateGram_adds_decayed_left_and_right_statistics()
        {
            var random = new Random(4);
            const int rows = 23, cols = 37;
            float[] g = Reference.Gaussian(random, rows * cols);
            float[] left = GramOf(Reference.Gaussian(random, rows * 5), rows, 5);
            float[] right = GramOf(Reference.Gaussian(random, cols * 5), cols, 5);
            Matrix<double> gm = Reference.ToMatrix(g, rows, cols);
            Matrix<double> expectedLeft = (0.9 * Reference.ToMatrix(left, rows, rows)) + (0.1 * gm * gm.Transpose());
            Matrix<double> expectedRight = (0.9 * Reference.ToMatrix(right, cols, cols)) + (0.1 * gm.Transpose() * gm);

            ShampooStatistics.AccumulateGram(g, rows, cols, left, right, decay: 0.9f, weight: 0.1f);
            Assert.True(Reference.RelativeError(left, expectedLeft) <= 1e-5);
            Assert.True(Reference.RelativeError(right, expectedRight) <= 1e-5);

            float[] bad = (float[])g.Clone();
            bad[5] = float.PositiveInfinity;
            Assert.Contains("NaN or infinity", Assert.Throws<ArgumentException>(() => ShampooStatistics.AccumulateGram(bad, rows, cols, left, right)).Message);
            Assert.Contains("left has", Assert.Throws<ArgumentException>(() => ShampooStatistics.AccumulateGram(g, rows, cols, new float[3], right)).Message);
        }

        [Fact]
        public void Precondition_computes_left_root_times_g_times_right_root()
        {
            var random = new Random(8);
            const int rows = 19, cols = 31;
            float[] g = Reference.Gaussian(random, rows * cols);
            float[] leftRoot = GramOf(Reference.Gaussian(random, rows * rows), rows, rows);
            float[] rightRoot = GramOf(Reference.Gaussian(random, cols * cols), cols, cols);
            Matrix<double> expected = Reference.ToMatrix(leftRoot, rows, rows) * Reference.ToMatrix(g, rows, cols) * Reference.ToMatrix(rightRoot, cols, cols);
            float[] result = new float[rows * cols];
            ShampooStatistics.Precondition(leftRoot, g, rightRoot, rows, cols, result, new MatrixWorkspace());
            Assert.True(Reference.RelativeError(result, expected) <= 1e-5);
        }

        [Theory]
        [InlineData(1500, 1024, new[] { 750, 750 })]
        [InlineData(1024, 1024, new[] { 1024 })]
        [InlineData(2049, 1024, new[] { 683, 683, 683 })]
        [InlineData(10, 3, new[] { 3, 3, 2, 2 })]
        public void Pieces_are_balanced_and_cover_the_dimension(int length, int maxDim, int[] expectedSizes)
        {
            int count = MatrixBlocking.PieceCount(length, maxDim);
            Assert.Equal(expectedSizes.Length, count);
            int next = 0;
            for (int i = 0; i < count; i++)
            {
                (int start, int size) = MatrixBlocking.Piece(length, i, maxDim);
                Assert.Equal(next, start);
                Assert.Equal(expectedSizes[i], size);
                next += size;
            }

            Assert.Equal(length, next);
            Assert.Throws<ArgumentOutOfRangeException>(() => MatrixBlocking.Piece(length, count, maxDim));
        }

        [Fact]
        public void Blocks_tile_the_matrix_exactly_once_and_round_trip()
        {
            const int rows = 7, cols = 11, maxDim = 3;
            float[] source = Enumerable.Range(0, rows * cols).Select(i => (float)i).ToArray();
            float[] rebuilt = new float[rows * cols];
            int[] coverage = new int[rows * cols];
            int blocks = MatrixBlocking.BlockCount(rows, cols, maxDim);
            Assert.Equal(3 * 4, blocks);
            for (int b = 0; b < blocks; b++)
            {
                MatrixBlock block = MatrixBlocking.Block(rows, cols, b, maxDim);
                Assert.True(block.Rows <= maxDim && block.Cols <= maxDim);
                float[] dense = new float[block.Rows * block.Cols];
                MatrixBlocking.CopyOut(source, rows, cols, block, dense);
                Assert.Equal(source[(block.RowStart * cols) + block.ColStart], dense[0]);
                MatrixBlocking.CopyIn(dense, block, rebuilt, rows, cols);
                for (int i = 0; i < block.Rows; i++)
                {
                    for (int j = 0; j < block.Cols; j++)
                    {
                        coverage[((block.RowStart + i) * cols) + block.ColStart + j]++;
                    }
                }
            }

            Assert.All(coverage, c => Assert.Equal(1, c));
            Assert.Equal(source, rebuilt);
            Assert.Throws<ArgumentException>(() => MatrixBlocking.CopyOut(source, rows, cols, new MatrixBlock(5, 0, 3, 3), new float[9]));
        }

        [Fact]
        public void Hyperball_step_keeps_the_radius_and_matches_float64_reference()
        {
            var random = new Random(12);
            float[] w = Reference.Gaussian(random, 300);
            float[] d = Reference.Gaussian(random, 300);
            double radius = Math.Sqrt(w.Sum(x => (double)x * x));
            double dNorm = Math.Sqrt(d.Sum(x => (double)x * x));
            double[] temp = w.Select((x, i) => x - (0.05 * radius * d[i] / dNorm)).ToArray();
            double tempNorm = Math.Sqrt(temp.Sum(x => x * x));
            float[] expected = temp.Select(x => (float)(radius * x / tempNorm)).ToArray();

            Hyperball.Step(w, d, 0.05f, (float)radius);
            Assert.True(Reference.RelativeError(w, expected) <= 1e-6);
            Assert.Equal(radius, Math.Sqrt(w.Sum(x => (double)x * x)), 4);
            Assert.Throws<ArgumentException>(() => Hyperball.Step(w, new float[3], 0.05f, 1f));
            Assert.Throws<ArgumentException>(() => Hyperball.Step(w, d, 0.05f, 0f));
        }
    }
}
