using System;
using System.Buffers;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Cyclic Jacobi eigensolver in float64: the managed fallback for ssyevd. O(n³) per sweep and
    /// typically 6–12 sweeps, so it is meant for correctness when no LAPACK is present, not speed.
    /// </summary>
    internal static class JacobiEigenSolver
    {
        private const int MaxSweeps = 60;

        /// <summary>Same contract as <see cref="OpenBlas.Ssyevd"/>: reads the upper triangle, returns Q in columns and ascending λ.</summary>
        internal static void Solve(int n, Span<float> a, int lda, Span<float> eigenvalues)
        {
            if (n == 0)
            {
                return;
            }

            double[] work = ArrayPool<double>.Shared.Rent(2 * n * n);
            int[] order = ArrayPool<int>.Shared.Rent(n);
            try
            {
                Span<double> s = work.AsSpan(0, n * n);
                Span<double> v = work.AsSpan(n * n, n * n);
                for (int i = 0; i < n; i++)
                {
                    for (int j = i; j < n; j++)
                    {
                        double value = a[(i * lda) + j];
                        s[(i * n) + j] = value;
                        s[(j * n) + i] = value;
                    }
                }

                v.Clear();
                for (int i = 0; i < n; i++)
                {
                    v[(i * n) + i] = 1.0;
                }

                Diagonalize(n, s, v);

                for (int i = 0; i < n; i++)
                {
                    order[i] = i;
                }

                Span<int> orderSpan = order.AsSpan(0, n);
                // Insertion sort by eigenvalue keeps this allocation-free; n² compares is dwarfed by the sweeps.
                for (int i = 1; i < n; i++)
                {
                    int key = orderSpan[i];
                    double keyValue = s[(key * n) + key];
                    int j = i - 1;
                    while (j >= 0 && s[(orderSpan[j] * n) + orderSpan[j]] > keyValue)
                    {
                        orderSpan[j + 1] = orderSpan[j];
                        j--;
                    }

                    orderSpan[j + 1] = key;
                }

                for (int col = 0; col < n; col++)
                {
                    int source = orderSpan[col];
                    eigenvalues[col] = (float)s[(source * n) + source];
                    for (int row = 0; row < n; row++)
                    {
                        a[(row * lda) + col] = (float)v[(row * n) + source];
                    }
                }
            }
            finally
            {
                ArrayPool<double>.Shared.Return(work);
                ArrayPool<int>.Shared.Return(order);
            }
        }

        /// <summary>Rotates s (full symmetric n×n) towards diagonal, accumulating rotations into the columns of v.</summary>
        private static void Diagonalize(int n, Span<double> s, Span<double> v)
        {
            double total = 0;
            for (int i = 0; i < s.Length; i++)
            {
                total += s[i] * s[i];
            }

            double tolerance = total * 1e-30;
            for (int sweep = 0; sweep < MaxSweeps; sweep++)
            {
                double off = 0;
                for (int p = 0; p < n; p++)
                {
                    for (int q = p + 1; q < n; q++)
                    {
                        off += s[(p * n) + q] * s[(p * n) + q];
                    }
                }

                if (off <= tolerance)
                {
                    return;
                }

                for (int p = 0; p < n - 1; p++)
                {
                    for (int q = p + 1; q < n; q++)
                    {
                        double apq = s[(p * n) + q];
                        if (apq == 0)
                        {
                            continue;
                        }

                        // Rotation angle that zeroes s[p,q] (smaller root for stability).
                        double theta = (s[(q * n) + q] - s[(p * n) + p]) / (2 * apq);
                        double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                        if (theta == 0)
                        {
                            t = 1;
                        }

                        double cos = 1 / Math.Sqrt((t * t) + 1);
                        double sin = t * cos;
                        for (int r = 0; r < n; r++)
                        {
                            double srp = s[(r * n) + p];
                            double srq = s[(r * n) + q];
                            s[(r * n) + p] = (cos * srp) - (sin * srq);
                            s[(r * n) + q] = (sin * srp) + (cos * srq);
                        }

                        for (int r = 0; r < n; r++)
                        {
                            double spr = s[(p * n) + r];
                            double sqr = s[(q * n) + r];
                            s[(p * n) + r] = (cos * spr) - (sin * sqr);
                            s[(q * n) + r] = (sin * spr) + (cos * sqr);
                        }

                        for (int r = 0; r < n; r++)
                        {
                            double vrp = v[(r * n) + p];
                            double vrq = v[(r * n) + q];
                            v[(r * n) + p] = (cos * vrp) - (sin * vrq);
                            v[(r * n) + q] = (sin * vrp) + (cos * vrq);
                        }
                    }
                }
            }

            throw new InvalidOperationException($"Jacobi eigensolver did not converge in {MaxSweeps} sweeps for n = {n}.");
        }
    }
}
