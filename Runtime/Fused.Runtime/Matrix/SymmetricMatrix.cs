using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>Functions of symmetric matrices through their eigendecomposition (Shampoo's preconditioner roots).</summary>
    public static class SymmetricMatrix
    {
        [ThreadStatic]
        private static MatrixWorkspace? threadWorkspace;

        /// <summary>
        /// result = A^(−1/p) = Q·diag((max(λ, 0) + ε)^(−1/p))·Qᵀ for the symmetric row-major n×n <paramref name="a"/>
        /// (only its upper triangle is read). Negative eigenvalues, which for a Gram statistic are rounding noise,
        /// are clamped to 0 before ε is added. Uses a per-thread workspace.
        /// </summary>
        /// <param name="a">Symmetric n×n matrix, row-major.</param>
        /// <param name="n">Order of the matrix.</param>
        /// <param name="p">Root: 4 gives A^(−1/4) as in Shampoo; 2 the inverse square root; 1 the inverse.</param>
        /// <param name="epsilon">Damping added to every clamped eigenvalue, ≥ 0.</param>
        /// <param name="result">n×n output; may be the same span as <paramref name="a"/>.</param>
        public static void InverseRoot(ReadOnlySpan<float> a, int n, double p, double epsilon, Span<float> result)
            => InverseRoot(a, n, p, epsilon, result, threadWorkspace ??= new MatrixWorkspace());

        /// <inheritdoc cref="InverseRoot(ReadOnlySpan{float}, int, double, double, Span{float})"/>
        /// <param name="a">Symmetric n×n matrix, row-major.</param>
        /// <param name="n">Order of the matrix.</param>
        /// <param name="p">Root: 4 gives A^(−1/4).</param>
        /// <param name="epsilon">Damping added to every clamped eigenvalue, ≥ 0.</param>
        /// <param name="result">n×n output; may be the same span as <paramref name="a"/>.</param>
        /// <param name="workspace">Scratch buffers (slots 0 and 1).</param>
        /// <exception cref="ArgumentException">Bad sizes, non-positive p, negative or non-finite ε, or non-finite entries.</exception>
        /// <exception cref="InvalidOperationException">ε = 0 and the matrix is singular, or the eigensolver failed.</exception>
        public static void InverseRoot(ReadOnlySpan<float> a, int n, double p, double epsilon, Span<float> result, MatrixWorkspace workspace)
        {
            ArgumentNullException.ThrowIfNull(workspace);
            if (n <= 0)
            {
                throw new ArgumentException($"n must be positive, got {n}.", nameof(n));
            }

            int count = checked(n * n);
            if (a.Length != count)
            {
                throw new ArgumentException($"a has {a.Length} elements but an {n}x{n} matrix needs exactly {count}.", nameof(a));
            }

            if (result.Length != count)
            {
                throw new ArgumentException($"result has {result.Length} elements but an {n}x{n} matrix needs exactly {count}.", nameof(result));
            }

            if (!(p > 0) || double.IsInfinity(p))
            {
                throw new ArgumentException($"p must be positive and finite, got {p}.", nameof(p));
            }

            if (!(epsilon >= 0) || double.IsInfinity(epsilon))
            {
                throw new ArgumentException($"epsilon must be finite and ≥ 0, got {epsilon}.", nameof(epsilon));
            }

            Span<float> vectors = workspace.Get(0, count);
            Span<float> eigenvalues = workspace.Get(1, n);
            a.CopyTo(vectors);
            Blas.Ssyevd(n, vectors, n, eigenvalues);

            // A^(−1/p) = (Q·D^½)(Q·D^½)ᵀ with D the powered eigenvalues: scale column j of Q by √dⱼ, then one syrk,
            // which is half a GEMM and symmetric by construction.
            double exponent = -0.5 / p;
            for (int j = 0; j < n; j++)
            {
                double shifted = Math.Max(eigenvalues[j], 0.0) + epsilon;
                if (shifted == 0)
                {
                    throw new InvalidOperationException($"The {n}x{n} matrix is singular (eigenvalue {eigenvalues[j]}) and epsilon is 0; pass epsilon > 0.");
                }

                eigenvalues[j] = (float)Math.Pow(shifted, exponent);
            }

            for (int i = 0; i < n; i++)
            {
                Span<float> row = vectors.Slice(i * n, n);
                for (int j = 0; j < n; j++)
                {
                    row[j] *= eigenvalues[j];
                }
            }

            Blas.Ssyrk(TriangleHalf.Upper, false, n, n, 1f, vectors, n, 0f, result, n, mirrorToFull: true);
        }
    }
}
