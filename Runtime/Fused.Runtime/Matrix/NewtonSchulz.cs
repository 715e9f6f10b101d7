using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// Newton-Schulz orthogonalisation for Muon/MuonH: X₀ = G/(‖G‖F + ε), then per step X ← a·X + b·A·X + c·A²·X
    /// with A = X·Xᵀ taken on the smaller side, approximating the polar factor U·Vᵀ of G = U·Σ·Vᵀ.
    /// </summary>
    /// <remarks>
    /// Tall inputs (rows &gt; cols) are not transposed: with A = Xᵀ·X the step is X ← X·(a·I + b·A + c·A²),
    /// which is the reference's transpose-iterate-transpose written without the copies.
    /// <para>
    /// The Gram-space variant (aspect ratio ≥ <see cref="NewtonSchulzOptions.GramAspectRatioThreshold"/>) never
    /// touches the large side inside the loop. With Pₖ = a·I + b·Aₖ + c·Aₖ² and (wide case) Xₖ₊₁ = Pₖ·Xₖ we get
    /// Xₖ = Mₖ·X₀ with Mₖ₊₁ = Pₖ·Mₖ, and Aₖ₊₁ = Xₖ₊₁·Xₖ₊₁ᵀ = Pₖ·Aₖ·Pₖ exactly (Pₖ is symmetric). So only n×n
    /// products run per step and one n×n by n×m product applies M at the end; mathematically identical to the plain
    /// iteration, different only by float rounding. (Tall: Xₖ = X₀·Mₖ, Mₖ₊₁ = Mₖ·Pₖ.)
    /// </para>
    /// </remarks>
    public static class NewtonSchulz
    {
        [ThreadStatic]
        private static MatrixWorkspace? threadWorkspace;

        /// <summary>Orthogonalises with <see cref="NewtonSchulzOptions.Default"/> and a per-thread workspace.</summary>
        public static void Orthogonalize(ReadOnlySpan<float> g, int rows, int cols, Span<float> result)
            => Orthogonalize(g, rows, cols, result, NewtonSchulzOptions.Default, threadWorkspace ??= new MatrixWorkspace());

        /// <summary>
        /// Writes the Newton-Schulz orthogonalisation of the row-major rows×cols matrix <paramref name="g"/> into
        /// <paramref name="result"/> (same shape). <paramref name="result"/> may be the same span as <paramref name="g"/>
        /// (in place) but must not partially overlap it. A zero matrix gives a zero result.
        /// </summary>
        /// <exception cref="ArgumentException">Bad shape, wrong span length, partial overlap, or NaN/∞ in <paramref name="g"/>.</exception>
        public static void Orthogonalize(
            ReadOnlySpan<float> g, int rows, int cols, Span<float> result, NewtonSchulzOptions options, MatrixWorkspace workspace)
        {
            ArgumentNullException.ThrowIfNull(options);
            ArgumentNullException.ThrowIfNull(workspace);
            ValidateShape(g, rows, cols, result);

            double sumOfSquares = DenseOps.SumOfSquares(g);
            if (!double.IsFinite(sumOfSquares))
            {
                throw new ArgumentException($"g ({rows}x{cols}) contains NaN or infinity; Newton-Schulz would turn the whole update into NaN.", nameof(g));
            }

            if (sumOfSquares == 0)
            {
                result.Clear();
                return;
            }

            float scale = (float)(1.0 / (Math.Sqrt(sumOfSquares) + options.NormalizationEpsilon));
            var shape = new IterationShape(rows, cols);
            if (options.Steps > 0 && UsesGramVariant(rows, cols, options))
            {
                IterateInGramSpace(g, scale, shape, result, options, workspace);
            }
            else
            {
                IteratePlain(g, scale, shape, result, options, workspace);
            }
        }

        /// <summary>Whether <see cref="Orthogonalize(ReadOnlySpan{float}, int, int, Span{float}, NewtonSchulzOptions, MatrixWorkspace)"/> takes the Gram-space path for this shape.</summary>
        public static bool UsesGramVariant(int rows, int cols, NewtonSchulzOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            double aspect = (double)Math.Max(rows, cols) / Math.Min(rows, cols);
            return aspect >= options.GramAspectRatioThreshold;
        }

        private static void ValidateShape(ReadOnlySpan<float> g, int rows, int cols, Span<float> result)
        {
            if (rows <= 0 || cols <= 0)
            {
                throw new ArgumentException($"Matrix shape must be positive, got {rows}x{cols}.", rows <= 0 ? nameof(rows) : nameof(cols));
            }

            long count = (long)rows * cols;
            if (count > int.MaxValue)
            {
                throw new ArgumentException($"A {rows}x{cols} matrix has more than int.MaxValue elements.", nameof(rows));
            }

            if (g.Length != count)
            {
                throw new ArgumentException($"g has {g.Length} elements but a {rows}x{cols} matrix needs exactly {count}.", nameof(g));
            }

            if (result.Length != count)
            {
                throw new ArgumentException($"result has {result.Length} elements but a {rows}x{cols} matrix needs exactly {count}.", nameof(result));
            }

            ReadOnlySpan<float> output = result;
            if (g.Overlaps(output, out int offset) && offset != 0)
            {
                throw new ArgumentException("result partially overlaps g; pass the same span for in-place use or disjoint memory.", nameof(result));
            }
        }

        private static void IteratePlain(
            ReadOnlySpan<float> g, float scale, IterationShape shape, Span<float> result, NewtonSchulzOptions options, MatrixWorkspace workspace)
        {
            int steps = options.Steps;
            int n = shape.Small;
            Span<float> scratch = workspace.Get(0, shape.Count);
            // Ping-pong so the last step lands in result without a copy.
            Span<float> current = steps % 2 == 0 ? result : scratch;
            Span<float> next = steps % 2 == 0 ? scratch : result;
            DenseOps.Scale(g, scale, current);
            if (options.RoundToBFloat16)
            {
                DenseOps.RoundToBFloat16(current);
            }

            Span<float> gram = workspace.Get(1, n * n);
            Span<float> polynomial = workspace.Get(2, n * n);
            for (int step = 0; step < steps; step++)
            {
                GramOf(current, shape, gram, options.UseSymmetricProducts);
                RoundIfAsked(gram, options);
                Polynomial(gram, n, options.CoefficientsAt(step), polynomial, options.UseSymmetricProducts, needFull: !options.UseSymmetricProducts);
                RoundIfAsked(polynomial, options);
                ApplySmallSide(polynomial, current, shape, next, options.UseSymmetricProducts);
                RoundIfAsked(next, options);
                Span<float> swap = current;
                current = next;
                next = swap;
            }
        }

        private static void IterateInGramSpace(
            ReadOnlySpan<float> g, float scale, IterationShape shape, Span<float> result, NewtonSchulzOptions options, MatrixWorkspace workspace)
        {
            int steps = options.Steps;
            int n = shape.Small;
            bool symmetric = options.UseSymmetricProducts;
            Span<float> x0 = workspace.Get(0, shape.Count);
            Span<float> gram = workspace.Get(1, n * n);
            Span<float> polynomial = workspace.Get(2, n * n);
            Span<float> accumulated = workspace.Get(3, n * n);
            Span<float> accumulatedNext = workspace.Get(4, n * n);
            Span<float> product = workspace.Get(5, n * n);

            DenseOps.Scale(g, scale, x0);
            RoundIfAsked(x0, options);
            GramOf(x0, shape, gram, symmetric);
            RoundIfAsked(gram, options);
            for (int step = 0; step < steps; step++)
            {
                Polynomial(gram, n, options.CoefficientsAt(step), polynomial, symmetric, needFull: true);
                RoundIfAsked(polynomial, options);
                if (step == 0)
                {
                    polynomial.CopyTo(accumulated);
                }
                else
                {
                    // Wide: M ← P·M (X = M·X₀). Tall: M ← M·P (X = X₀·M).
                    if (shape.Wide)
                    {
                        Blas.Sgemm(false, false, n, n, n, 1f, polynomial, n, accumulated, n, 0f, accumulatedNext, n);
                    }
                    else
                    {
                        Blas.Sgemm(false, false, n, n, n, 1f, accumulated, n, polynomial, n, 0f, accumulatedNext, n);
                    }

                    RoundIfAsked(accumulatedNext, options);
                    Span<float> swap = accumulated;
                    accumulated = accumulatedNext;
                    accumulatedNext = swap;
                }

                if (step < steps - 1)
                {
                    // Aₖ₊₁ = Pₖ·Aₖ·Pₖ.
                    if (symmetric)
                    {
                        Blas.Ssymm(false, TriangleHalf.Upper, n, n, 1f, polynomial, n, gram, n, 0f, product, n);
                    }
                    else
                    {
                        Blas.Sgemm(false, false, n, n, n, 1f, polynomial, n, gram, n, 0f, product, n);
                    }

                    Blas.Sgemm(false, false, n, n, n, 1f, product, n, polynomial, n, 0f, gram, n);
                    // Rounding leaves A a hair off symmetric; the symmetric kernels assume it exactly.
                    BlasArguments.MirrorTriangle(gram, n, n, TriangleHalf.Upper);
                    RoundIfAsked(gram, options);
                }
            }

            if (shape.Wide)
            {
                Blas.Sgemm(false, false, n, shape.Large, n, 1f, accumulated, n, x0, shape.Large, 0f, result, shape.Large);
            }
            else
            {
                Blas.Sgemm(false, false, shape.Large, n, n, 1f, x0, n, accumulated, n, 0f, result, n);
            }

            RoundIfAsked(result, options);
        }

        /// <summary>A = X·Xᵀ (wide) or Xᵀ·X (tall), full n×n.</summary>
        private static void GramOf(ReadOnlySpan<float> x, IterationShape shape, Span<float> gram, bool symmetric)
        {
            int n = shape.Small;
            int ld = shape.Wide ? shape.Large : n;
            if (symmetric)
            {
                Blas.Ssyrk(TriangleHalf.Upper, !shape.Wide, n, shape.Large, 1f, x, ld, 0f, gram, n, mirrorToFull: true);
            }
            else if (shape.Wide)
            {
                Blas.Sgemm(false, true, n, n, shape.Large, 1f, x, ld, x, ld, 0f, gram, n);
            }
            else
            {
                Blas.Sgemm(true, false, n, n, shape.Large, 1f, x, ld, x, ld, 0f, gram, n);
            }
        }

        /// <summary>P = a·I + b·A + c·A·A. With symmetric products only the upper triangle is formed unless <paramref name="needFull"/>.</summary>
        private static void Polynomial(
            ReadOnlySpan<float> gram, int n, NewtonSchulzCoefficients coefficients, Span<float> polynomial, bool symmetric, bool needFull)
        {
            float a = (float)coefficients.A;
            float b = (float)coefficients.B;
            float c = (float)coefficients.C;
            if (c == 0f)
            {
                DenseOps.Scale(gram, b, polynomial);
            }
            else
            {
                gram.CopyTo(polynomial);
                if (symmetric)
                {
                    // A symmetric ⇒ A·A = A·Aᵀ: a rank-n update that costs half a GEMM.
                    Blas.Ssyrk(TriangleHalf.Upper, false, n, n, c, gram, n, b, polynomial, n, mirrorToFull: needFull);
                }
                else
                {
                    Blas.Sgemm(false, false, n, n, n, c, gram, n, gram, n, b, polynomial, n);
                }
            }

            DenseOps.AddToDiagonal(polynomial, n, a);
        }

        /// <summary>next = P·X (wide) or X·P (tall).</summary>
        private static void ApplySmallSide(ReadOnlySpan<float> polynomial, ReadOnlySpan<float> x, IterationShape shape, Span<float> next, bool symmetric)
        {
            int n = shape.Small;
            int large = shape.Large;
            if (shape.Wide)
            {
                if (symmetric)
                {
                    Blas.Ssymm(false, TriangleHalf.Upper, n, large, 1f, polynomial, n, x, large, 0f, next, large);
                }
                else
                {
                    Blas.Sgemm(false, false, n, large, n, 1f, polynomial, n, x, large, 0f, next, large);
                }
            }
            else if (symmetric)
            {
                Blas.Ssymm(true, TriangleHalf.Upper, large, n, 1f, polynomial, n, x, n, 0f, next, n);
            }
            else
            {
                Blas.Sgemm(false, false, large, n, n, 1f, x, n, polynomial, n, 0f, next, n);
            }
        }

        private static void RoundIfAsked(Span<float> values, NewtonSchulzOptions options)
        {
            if (options.RoundToBFloat16)
            {
                DenseOps.RoundToBFloat16(values);
            }
        }
    }
}
