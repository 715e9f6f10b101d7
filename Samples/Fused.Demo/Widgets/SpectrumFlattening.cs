using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Model;
using Fused.Runtime.Matrix;

namespace Fused.Demo.Widgets
{
    /// <summary>Singular values (descending) of the input and of the Newton-Schulz output after <see cref="Iterations"/> steps.</summary>
    public sealed record SpectrumSnapshot(int Iterations, IReadOnlyList<double> Input, IReadOnlyList<double> Output);

    /// <summary>
    /// Seed 003 ch. 10: a gradient-like matrix with a skewed spectrum (σ from 1 down to 10⁻²), orthogonalised by the
    /// runtime's NewtonSchulz (Muon's coefficients) for k steps. Singular values are √eig(XᵀX) via Blas.Ssyevd.
    /// </summary>
    public static class SpectrumFlattening
    {
        public const int Rows = 64;
        public const int Cols = 32;
        public static readonly int[] IterationCounts = { 0, 1, 2, 3, 5 };

        public static IReadOnlyList<SpectrumSnapshot> Compute(ulong seed = 3)
        {
            var g = SkewedMatrix(Rows, Cols, seed);
            var input = SingularValues(Scaled(g), Rows, Cols);
            var result = new float[g.Length];
            return IterationCounts.Select(k =>
            {
                NewtonSchulz.Orthogonalize(g, Rows, Cols, result, new NewtonSchulzOptions(steps: k), new MatrixWorkspace());
                return new SpectrumSnapshot(k, input, SingularValues(result, Rows, Cols));
            }).ToArray();
        }

        /// <summary>U·diag(σ)·Vᵀ with random orthonormal U (rows×cols), V (cols×cols) and σᵢ = 10^(−2i/(n−1)).</summary>
        public static float[] SkewedMatrix(int rows, int cols, ulong seed)
        {
            var rng = new SplitMix64(seed);
            var u = OrthonormalColumns(rows, cols, rng);
            var v = OrthonormalColumns(cols, cols, rng);
            var g = new float[rows * cols];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < cols; k++) sum += u[i, k] * Math.Pow(10, -2.0 * k / (cols - 1)) * v[j, k];
                    g[i * cols + j] = (float)sum;
                }

            return g;
        }

        /// <summary>Singular values of a row-major rows×cols matrix (rows ≥ cols), largest first.</summary>
        public static double[] SingularValues(ReadOnlySpan<float> x, int rows, int cols)
        {
            var gram = new float[cols * cols];
            Blas.Sgemm(true, false, cols, cols, rows, 1f, x, cols, x, cols, 0f, gram, cols);
            var eigenvalues = new float[cols];
            Blas.Ssyevd(cols, gram, cols, eigenvalues);
            return eigenvalues.Select(e => Math.Sqrt(Math.Max(0, e))).OrderByDescending(s => s).ToArray();
        }

        // What Newton-Schulz sees at step 0: G / ‖G‖F.
        private static float[] Scaled(float[] g)
        {
            double norm = Math.Sqrt(g.Sum(v => (double)v * v));
            return g.Select(v => (float)(v / norm)).ToArray();
        }

        // Modified Gram-Schmidt on Gaussian columns.
        private static double[,] OrthonormalColumns(int rows, int cols, SplitMix64 rng)
        {
            var q = new double[rows, cols];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) q[i, j] = rng.NextGaussian();
            for (int j = 0; j < cols; j++)
            {
                for (int k = 0; k < j; k++)
                {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) dot += q[i, j] * q[i, k];
                    for (int i = 0; i < rows; i++) q[i, j] -= dot * q[i, k];
                }

                double norm = 0;
                for (int i = 0; i < rows; i++) norm += q[i, j] * q[i, j];
                norm = Math.Sqrt(norm);
                for (int i = 0; i < rows; i++) q[i, j] /= norm;
            }

            return q;
        }
    }
}
