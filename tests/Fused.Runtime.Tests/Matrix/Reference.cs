using System;
using MathNet.Numerics.LinearAlgebra;

namespace Fused.Runtime.Tests.Matrix
{
    /// <summary>Independent float64 references and random inputs for the matrix-pass tests (no Fused code used).</summary>
    internal static class Reference
    {
        internal static float[] Gaussian(Random random, int count, double scale = 1.0)
        {
            var values = new float[count];
            for (int i = 0; i < count; i++)
            {
                // Box-Muller.
                double u1 = 1.0 - random.NextDouble();
                double u2 = random.NextDouble();
                values[i] = (float)(scale * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }

            return values;
        }

        internal static Matrix<double> ToMatrix(ReadOnlySpan<float> values, int rows, int cols)
        {
            Matrix<double> m = Matrix<double>.Build.Dense(rows, cols);
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    m[i, j] = values[(i * cols) + j];
                }
            }

            return m;
        }

        internal static float[] ToArray(Matrix<double> m)
        {
            var values = new float[m.RowCount * m.ColumnCount];
            for (int i = 0; i < m.RowCount; i++)
            {
                for (int j = 0; j < m.ColumnCount; j++)
                {
                    values[(i * m.ColumnCount) + j] = (float)m[i, j];
                }
            }

            return values;
        }

        /// <summary>Random matrix with orthonormal columns (rows ≥ cols), from QR of a Gaussian matrix.</summary>
        internal static Matrix<double> RandomOrthonormalColumns(Random random, int rows, int cols)
        {
            Matrix<double> gaussian = ToMatrix(Gaussian(random, rows * cols), rows, cols);
            return gaussian.QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin).Q;
        }

        /// <summary>U·diag(σ)·Vᵀ with random U, V and σ log-spaced from 1 down to 1/conditionNumber.</summary>
        internal static float[] SkewedSpectrum(Random random, int rows, int cols, double conditionNumber)
        {
            int k = Math.Min(rows, cols);
            Matrix<double> u = RandomOrthonormalColumns(random, rows, k);
            Matrix<double> v = RandomOrthonormalColumns(random, cols, k);
            Matrix<double> s = Matrix<double>.Build.Dense(k, k);
            for (int i = 0; i < k; i++)
            {
                s[i, i] = k == 1 ? 1.0 : Math.Pow(conditionNumber, -(double)i / (k - 1));
            }

            return ToArray(u * s * v.Transpose());
        }

        /// <summary>Thin SVD pieces of G in float64: U (rows×k), σ (k), V (cols×k).</summary>
        internal static (Matrix<double> U, double[] Sigma, Matrix<double> V) ThinSvd(ReadOnlySpan<float> g, int rows, int cols)
        {
            int k = Math.Min(rows, cols);
            var svd = ToMatrix(g, rows, cols).Svd(true);
            Matrix<double> u = svd.U.SubMatrix(0, rows, 0, k);
            Matrix<double> v = svd.VT.Transpose().SubMatrix(0, cols, 0, k);
            double[] sigma = new double[k];
            for (int i = 0; i < k; i++)
            {
                sigma[i] = svd.S[i];
            }

            return (u, sigma, v);
        }

        /// <summary>Polar factor U·Vᵀ of G.</summary>
        internal static Matrix<double> PolarFactor(ReadOnlySpan<float> g, int rows, int cols)
        {
            (Matrix<double> u, _, Matrix<double> v) = ThinSvd(g, rows, cols);
            return u * v.Transpose();
        }

        /// <summary>
        /// What any Newton-Schulz iteration must produce: U·diag(f(σᵢ/(‖G‖F + 1e-7)))·Vᵀ where f composes the scalar
        /// odd quintics σ ↦ aσ + bσ³ + cσ⁵ of the schedule (the matrix step acts on each singular value separately).
        /// </summary>
        internal static Matrix<double> NewtonSchulzPrediction(ReadOnlySpan<float> g, int rows, int cols, (double A, double B, double C)[] schedule, int steps)
        {
            (Matrix<double> u, double[] sigma, Matrix<double> v) = ThinSvd(g, rows, cols);
            double norm = 0;
            foreach (double s in sigma)
            {
                norm += s * s;
            }

            norm = Math.Sqrt(norm) + 1e-7;
            Matrix<double> mapped = Matrix<double>.Build.Dense(sigma.Length, sigma.Length);
            for (int i = 0; i < sigma.Length; i++)
            {
                mapped[i, i] = ComposeScalar(sigma[i] / norm, schedule, steps);
            }

            return u * mapped * v.Transpose();
        }

        internal static double ComposeScalar(double x, (double A, double B, double C)[] schedule, int steps)
        {
            for (int step = 0; step < steps; step++)
            {
                (double a, double b, double c) = schedule[Math.Min(step, schedule.Length - 1)];
                x = (a * x) + (b * x * x * x) + (c * x * x * x * x * x);
            }

            return x;
        }

        internal static double[] SingularValues(ReadOnlySpan<float> values, int rows, int cols)
        {
            var s = ToMatrix(values, rows, cols).Svd(false).S;
            return s.ToArray();
        }

        /// <summary>‖X − expected‖F / ‖expected‖F; NaN anywhere gives NaN (so a "≤ tol" check fails).</summary>
        internal static double RelativeError(ReadOnlySpan<float> actual, Matrix<double> expected)
        {
            double diff = 0;
            double norm = 0;
            int cols = expected.ColumnCount;
            for (int i = 0; i < expected.RowCount; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    double e = expected[i, j];
                    double d = actual[(i * cols) + j] - e;
                    diff += d * d;
                    norm += e * e;
                }
            }

            return Math.Sqrt(diff / norm);
        }

        internal static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
        {
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                double d = (double)actual[i] - expected[i];
                diff += d * d;
                norm += (double)expected[i] * expected[i];
            }

            return Math.Sqrt(diff / norm);
        }

        /// <summary>Naive float64 C = α·op(A)·op(B) + β·C on row-major storage, plus a per-entry rounding-error scale Σ|α·a·b| + |β·c|.</summary>
        internal static (double[] Result, double[] Magnitude) Gemm(
            bool transA, bool transB, int m, int n, int k, double alpha, float[] a, int lda, float[] b, int ldb, double beta, float[] c, int ldc)
        {
            var result = new double[m * n];
            var magnitude = new double[m * n];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    double abs = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double av = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                        double bv = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                        sum += av * bv;
                        abs += Math.Abs(av * bv);
                    }

                    double cv = beta == 0 ? 0 : beta * c[(i * ldc) + j];
                    result[(i * n) + j] = (alpha * sum) + cv;
                    magnitude[(i * n) + j] = (Math.Abs(alpha) * abs) + Math.Abs(cv);
                }
            }

            return (result, magnitude);
        }
    }
}
