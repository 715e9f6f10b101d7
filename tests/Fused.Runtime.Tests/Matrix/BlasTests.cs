using System;
using System.Linq;
using Fused.Runtime.Matrix;
using MathNet.Numerics.LinearAlgebra;
using Xunit;

namespace Fused.Runtime.Tests.Matrix
{
    public class BlasTests
    {
        private const float Padding = -12345f;

        private static void Gemm(bool native, bool transA, bool transB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
        {
            if (native)
            {
                OpenBlas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }
            else
            {
                ManagedBlas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }
        }

        public static TheoryData<bool, bool, bool, int, int, int> GemmCases()
        {
            var data = new TheoryData<bool, bool, bool, int, int, int>();
            (int M, int N, int K)[] sizes = { (1, 1, 1), (5, 3, 7), (17, 33, 9), (37, 53, 41), (131, 157, 149), (4, 300, 2) };
            foreach (bool native in new[] { true, false })
            {
                foreach (bool ta in new[] { false, true })
                {
                    foreach (bool tb in new[] { false, true })
                    {
                        foreach ((int m, int n, int k) in sizes)
                        {
                            data.Add(native, ta, tb, m, n, k);
                        }
                    }
                }
            }

            return data;
        }

        [Theory]
        [MemberData(nameof(GemmCases))]
        public void Sgemm_matches_float64_triple_loop_with_padded_leading_dimensions(bool native, bool transA, bool transB, int m, int n, int k)
        {
            var random = new Random((m * 7919) + (n * 31) + k + (transA ? 1 : 0) + (transB ? 2 : 0));
            int aRows = transA ? k : m, aCols = transA ? m : k;
            int bRows = transB ? n : k, bCols = transB ? k : n;
            int lda = aCols + 3, ldb = bCols + 1, ldc = n + 2;
            float[] a = Reference.Gaussian(random, aRows * lda);
            float[] b = Reference.Gaussian(random, bRows * ldb);
            float[] c = Reference.Gaussian(random, m * ldc);
            for (int i = 0; i < m; i++)
            {
                for (int j = n; j < ldc; j++)
                {
                    c[(i * ldc) + j] = Padding;
                }
            }

            const float alpha = 0.7f, beta = -0.3f;
            (double[] expected, double[] magnitude) = Reference.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            Gemm(native, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < ldc; j++)
                {
                    float actual = c[(i * ldc) + j];
                    if (j >= n)
                    {
                        Assert.Equal(Padding, actual);
                        continue;
                    }

                    // Float summation error is bounded by about k·2⁻²⁴·Σ|terms|; allow 4× that plus one ulp.
                    double tolerance = (4.0 * (k + 2) * 6e-8 * magnitude[(i * n) + j]) + 1e-30;
                    Assert.True(
                        Math.Abs(actual - expected[(i * n) + j]) <= tolerance,
                        $"C[{i},{j}] = {actual}, expected {expected[(i * n) + j]} (tolerance {tolerance})");
                }
            }
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Sgemm_with_beta_zero_ignores_nan_already_in_c(bool native)
        {
            float[] a = { 1, 2, 3, 4 };
            float[] b = { 5, 6, 7, 8 };
            float[] c = { float.NaN, float.NaN, float.NaN, float.NaN };
            Gemm(native, false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);
            Assert.Equal(new float[] { 19, 22, 43, 50 }, c);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Sgemm_rejects_out_of_bounds_operands_with_clear_messages(bool native)
        {
            float[] small = new float[5];
            float[] ok = new float[100];
            var e1 = Assert.Throws<ArgumentException>(() => Gemm(native, false, false, 3, 3, 3, 1, small, 3, ok, 3, 0, ok.ToArray(), 3));
            Assert.Contains("A has 5 elements", e1.Message);
            var e2 = Assert.Throws<ArgumentException>(() => Gemm(native, false, true, 3, 3, 4, 1, ok, 4, ok.ToArray(), 3, 0, new float[9], 3));
            Assert.Contains("ldb = 3", e2.Message);
            var e3 = Assert.Throws<ArgumentException>(() => Gemm(native, false, false, -1, 3, 3, 1, ok, 3, ok.ToArray(), 3, 0, new float[9], 3));
            Assert.Contains("m must be non-negative", e3.Message);
            var e4 = Assert.Throws<ArgumentException>(() => Gemm(native, false, false, 3, 3, 3, 1, ok, 3, ok.ToArray(), 3, 0, ok, 3));
            Assert.Contains("must not overlap", e4.Message);
            var e5 = Assert.Throws<ArgumentException>(() => Gemm(native, false, false, 3, 3, 3, 1, ok, 3, ok.ToArray(), 3, 0, new float[8], 3));
            Assert.Contains("C has 8 elements", e5.Message);
        }

        [Theory]
        [InlineData(true, false, 1, 1)]
        [InlineData(true, false, 37, 53)]
        [InlineData(true, true, 37, 53)]
        [InlineData(false, false, 37, 53)]
        [InlineData(false, true, 29, 11)]
        public void Ssyrk_matches_reference_in_requested_triangle_and_mirrors(bool native, bool transA, int n, int k)
        {
            var random = new Random(n + (k * 100));
            int aRows = transA ? k : n, aCols = transA ? n : k;
            float[] a = Reference.Gaussian(random, aRows * aCols);
            foreach (TriangleHalf half in new[] { TriangleHalf.Upper, TriangleHalf.Lower })
            {
                float[] cStart = Reference.Gaussian(random, n * n);
                (double[] expected, double[] magnitude) = Reference.Gemm(transA, !transA, n, n, k, 1.5, a, aCols, a, aCols, 0.5, cStart, n);

                float[] c = (float[])cStart.Clone();
                float[] mirrored = (float[])cStart.Clone();
                if (native)
                {
                    OpenBlas.Ssyrk(half, transA, n, k, 1.5f, a, aCols, 0.5f, c, n);
                    OpenBlas.Ssyrk(half, transA, n, k, 1.5f, a, aCols, 0.5f, mirrored, n, mirrorToFull: true);
                }
                else
                {
                    ManagedBlas.Ssyrk(half, transA, n, k, 1.5f, a, aCols, 0.5f, c, n);
                    ManagedBlas.Ssyrk(half, transA, n, k, 1.5f, a, aCols, 0.5f, mirrored, n, mirrorToFull: true);
                }

                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        bool inTriangle = half == TriangleHalf.Upper ? j >= i : j <= i;
                        double tolerance = 4.0 * (k + 2) * 6e-8 * magnitude[(i * n) + j];
                        if (inTriangle)
                        {
                            Assert.True(Math.Abs(c[(i * n) + j] - expected[(i * n) + j]) <= tolerance, $"C[{i},{j}]");
                        }
                        else
                        {
                            Assert.Equal(cStart[(i * n) + j], c[(i * n) + j]);
                        }

                        // mirrorToFull: the computed triangle is kept and copied onto the other one.
                        Assert.Equal(mirrored[(i * n) + j], mirrored[(j * n) + i]);
                        if (inTriangle)
                        {
                            Assert.Equal(c[(i * n) + j], mirrored[(i * n) + j]);
                        }
                    }
                }
            }
        }

        [Theory]
        [InlineData(true, false)]
        [InlineData(true, true)]
        [InlineData(false, false)]
        [InlineData(false, true)]
        public void Ssymm_reads_only_the_named_triangle(bool native, bool rightSide)
        {
            var random = new Random(rightSide ? 5 : 6);
            const int m = 23, n = 41;
            int order = rightSide ? n : m;
            float[] sym = Reference.Gaussian(random, order * order);
            for (int i = 0; i < order; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    sym[(i * order) + j] = sym[(j * order) + i];
                }
            }

            float[] b = Reference.Gaussian(random, m * n);
            float[] c0 = Reference.Gaussian(random, m * n);
            (double[] expected, double[] magnitude) = rightSide
                ? Reference.Gemm(false, false, m, n, n, 0.9, b, n, sym, n, 0.25, c0, n)
                : Reference.Gemm(false, false, m, n, m, 0.9, sym, m, b, n, 0.25, c0, n);

            // Garbage below the diagonal must not be read when Upper is named.
            float[] upperOnly = (float[])sym.Clone();
            for (int i = 0; i < order; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    upperOnly[(i * order) + j] = float.NaN;
                }
            }

            float[] c = (float[])c0.Clone();
            if (native)
            {
                OpenBlas.Ssymm(rightSide, TriangleHalf.Upper, m, n, 0.9f, upperOnly, order, b, n, 0.25f, c, n);
            }
            else
            {
                ManagedBlas.Ssymm(rightSide, TriangleHalf.Upper, m, n, 0.9f, upperOnly, order, b, n, 0.25f, c, n);
            }

            for (int i = 0; i < c.Length; i++)
            {
                Assert.True(Math.Abs(c[i] - expected[i]) <= 4.0 * (order + 2) * 6e-8 * magnitude[i], $"C[{i}] = {c[i]}, expected {expected[i]}");
            }
        }

        [Theory]
        [InlineData(true, 1)]
        [InlineData(true, 7)]
        [InlineData(true, 64)]
        [InlineData(true, 129)]
        [InlineData(false, 1)]
        [InlineData(false, 7)]
        [InlineData(false, 40)]
        public void Ssyevd_matches_mathnet_float64_evd(bool native, int n)
        {
            var random = new Random(n);
            float[] b = Reference.Gaussian(random, n * n);
            float[] a = new float[n * n];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    a[(i * n) + j] = b[(i * n) + j] + b[(j * n) + i];
                }
            }

            Matrix<double> reference = Reference.ToMatrix(a, n, n);
            double[] expectedValues = reference.Evd(Symmetricity.Symmetric).EigenValues.Select(z => z.Real).OrderBy(x => x).ToArray();
            double scale = reference.L2Norm();

            // Poison the lower triangle: only the upper may be read.
            float[] q = (float[])a.Clone();
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    q[(i * n) + j] = 1e30f;
                }
            }

            float[] values = new float[n];
            if (native)
            {
                OpenBlas.Ssyevd(n, q, n, values);
            }
            else
            {
                ManagedBlas.Ssyevd(n, q, n, values);
            }

            for (int i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(values[i] - expectedValues[i]) <= 1e-5 * scale * Math.Sqrt(n), $"λ[{i}] = {values[i]}, expected {expectedValues[i]}");
            }

            // Columns of Q are orthonormal eigenvectors: A·qⱼ = λⱼ·qⱼ.
            Matrix<double> qm = Reference.ToMatrix(q, n, n);
            double orthogonality = (qm.TransposeThisAndMultiply(qm) - Matrix<double>.Build.DenseIdentity(n)).FrobeniusNorm();
            Assert.True(orthogonality <= 1e-4 * Math.Sqrt(n), $"‖QᵀQ − I‖F = {orthogonality}");
            Matrix<double> residual = (reference * qm) - (qm * Matrix<double>.Build.DenseOfDiagonalArray(values.Select(v => (double)v).ToArray()));
            Assert.True(residual.FrobeniusNorm() <= 1e-5 * scale * n, $"‖AQ − QΛ‖F = {residual.FrobeniusNorm()}");
        }

        [Fact]
        public void Ssyevd_rejects_non_finite_input()
        {
            float[] a = { 1, float.NaN, float.NaN, 1 };
            var e = Assert.Throws<ArgumentException>(() => Blas.Ssyevd(2, a, 2, new float[2]));
            Assert.Contains("non-finite", e.Message);
        }

        [Fact]
        public void Backend_selection_rule_honours_FUSED_BLAS()
        {
            Assert.Equal(BlasBackendKind.OpenBlas, Blas.Choose(null, nativeAvailable: true));
            Assert.Equal(BlasBackendKind.OpenBlas, Blas.Choose("auto", nativeAvailable: true));
            Assert.Equal(BlasBackendKind.Managed, Blas.Choose(null, nativeAvailable: false));
            Assert.Equal(BlasBackendKind.Managed, Blas.Choose(" Managed ", nativeAvailable: true));
            Assert.Throws<InvalidOperationException>(() => Blas.Choose("openblas", nativeAvailable: false));
            var e = Assert.Throws<InvalidOperationException>(() => Blas.Choose("mkl", nativeAvailable: true));
            Assert.Contains("FUSED_BLAS='mkl'", e.Message);
        }

        [Fact]
        public void Running_backend_is_OpenBLAS_in_CI_or_managed_when_forced()
        {
            string? forced = Environment.GetEnvironmentVariable(Blas.BackendVariable);
            if (string.Equals(forced?.Trim(), "managed", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Equal(BlasBackendKind.Managed, Blas.BackendKind);
                Assert.Equal("managed", Blas.Backend);
                return;
            }

            // CI installs libopenblas0; a developer machine without it legitimately runs the managed fallback.
            if (Environment.GetEnvironmentVariable("CI") == "true" || OpenBlas.IsAvailable)
            {
                Assert.True(OpenBlas.IsAvailable, "CI must run on OpenBLAS but no native BLAS loaded (is libopenblas0 installed?)");
                Assert.Equal(BlasBackendKind.OpenBlas, Blas.BackendKind);
                Assert.StartsWith("OpenBLAS (lib", Blas.Backend);
            }
            else
            {
                Assert.Equal("managed", Blas.Backend);
            }
        }
    }
}
