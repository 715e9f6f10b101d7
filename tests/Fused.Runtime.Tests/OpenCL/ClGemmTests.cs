using System;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    [Collection(OpenClCollection.Name)]
    public sealed class ClGemmTests
    {
        private readonly OpenClFixture fixture;
        private readonly ITestOutputHelper output;

        public ClGemmTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            this.fixture = fixture;
            this.output = output;
        }

        [Theory]
        [InlineData(1, 1, 1)]
        [InlineData(7, 5, 3)]
        [InlineData(33, 17, 65)]
        [InlineData(64, 64, 64)]
        [InlineData(100, 37, 129)]
        [InlineData(5, 70, 1)]
        public void MatchesNaiveFloat64ReferenceForAllTransposes(int m, int n, int k)
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            output.WriteLine("SGEMM tile configuration: " + ClGemm.Describe(fixture.Context));
            foreach (bool transposeA in new[] { false, true })
            {
                foreach (bool transposeB in new[] { false, true })
                {
                    Check(m, n, k, transposeA, transposeB, alpha: 1.5f, beta: -0.5f, padding: 0, offset: 0);
                    Check(m, n, k, transposeA, transposeB, alpha: -0.25f, beta: 0f, padding: 0, offset: 0);
                }
            }
        }

        [Fact]
        public void HonoursLeadingDimensionsAndOffsets()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            Check(19, 23, 41, transposeA: true, transposeB: false, alpha: 0.75f, beta: 2f, padding: 3, offset: 5);
            Check(19, 23, 41, transposeA: false, transposeB: true, alpha: 0.75f, beta: 2f, padding: 7, offset: 2);
        }

        [Fact]
        public void ZeroDepthScalesC()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            Check(9, 11, 0, transposeA: false, transposeB: false, alpha: 1f, beta: 3f, padding: 0, offset: 0);
        }

        [Fact]
        public void RejectsBuffersThatAreTooSmall()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            using ClBuffer a = fixture.Context.CreateBuffer<float>(6);
            using ClBuffer b = fixture.Context.CreateBuffer<float>(6);
            using ClBuffer c = fixture.Context.CreateBuffer<float>(3);
            Assert.Throws<ArgumentException>(() => ClGemm.Sgemm(fixture.Queue, false, false, 2, 2, 3, 1f, a, b, 0f, c));
        }

        private void Check(int m, int n, int k, bool transposeA, bool transposeB, float alpha, float beta, int padding, int offset)
        {
            int aRows = transposeA ? k : m, aCols = transposeA ? m : k;
            int bRows = transposeB ? n : k, bCols = transposeB ? k : n;
            int lda = aCols + padding, ldb = bCols + padding, ldc = n + padding;
            float[] a = Reference.RandomFloats(offset + Math.Max(aRows, 1) * lda, seed: 100 + m);
            float[] b = Reference.RandomFloats(offset + Math.Max(bRows, 1) * ldb, seed: 200 + n);
            float[] c = Reference.RandomFloats(offset + m * ldc, seed: 300 + k);
            if (beta == 0f)
            {
                // With beta = 0 the old C must not be read at all, NaN included.
                Array.Fill(c, float.NaN);
            }

            var expected = new double[m * n];
            var scale = new double[m * n];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double sum = 0, magnitude = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double av = transposeA ? a[offset + p * lda + i] : a[offset + i * lda + p];
                        double bv = transposeB ? b[offset + j * ldb + p] : b[offset + p * ldb + j];
                        sum += av * bv;
                        magnitude += Math.Abs(av * bv);
                    }
                    double old = beta == 0f ? 0 : c[offset + i * ldc + j];
                    expected[i * n + j] = alpha * sum + beta * old;
                    scale[i * n + j] = Math.Abs(alpha) * magnitude + Math.Abs(beta * old);
                }
            }

            using ClBuffer aBuffer = fixture.Context.CreateBuffer<float>(a);
            using ClBuffer bBuffer = fixture.Context.CreateBuffer<float>(b);
            using ClBuffer cBuffer = fixture.Context.CreateBuffer<float>(c);
            ClGemm.Sgemm(fixture.Queue, transposeA, transposeB, m, n, k, alpha, aBuffer, lda, bBuffer, ldb, beta, cBuffer, ldc, offset, offset, offset);
            var result = new float[c.Length];
            fixture.Queue.Read<float>(cBuffer, result);

            var actual = new float[m * n];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < ldc; j++)
                {
                    float value = result[offset + i * ldc + j];
                    if (j < n)
                    {
                        actual[i * n + j] = value;
                    }
                    else if (!(value.Equals(c[offset + i * ldc + j])))
                    {
                        Assert.Fail("padding column " + j + " of row " + i + " was overwritten");
                    }
                }
            }
            // Float accumulation over k terms: error grows at most ~k·ε relative to Σ|a·b|.
            double relative = (k + 4) * Math.Pow(2, -23);
            Reference.AssertClose(
                "C(" + m + "x" + n + "x" + k + ", tA=" + transposeA + ", tB=" + transposeB + ", beta=" + beta + ")",
                expected, actual, scale, relative);
        }
    }
}
