using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// MuonH's hyperball step: U = −η·R·D/‖D‖F, W_temp = W + U, W ← R·W_temp/‖W_temp‖F, so ‖W‖F stays R and
    /// ‖U‖F is exactly η·R. D is typically the Newton-Schulz output.
    /// </summary>
    public static class Hyperball
    {
        /// <summary>Applies one hyperball step to <paramref name="weights"/> in place.</summary>
        /// <param name="weights">W, updated in place.</param>
        /// <param name="direction">Proposed update direction D (same length); a zero direction leaves W's direction unchanged.</param>
        /// <param name="learningRate">η: relative step size in units of the radius.</param>
        /// <param name="radius">R, typically ‖W₀‖F; must be positive.</param>
        /// <exception cref="ArgumentException">Length mismatch, non-finite inputs, non-positive radius, or W + U = 0.</exception>
        public static void Step(Span<float> weights, ReadOnlySpan<float> direction, float learningRate, float radius)
        {
            if (weights.Length != direction.Length)
            {
                throw new ArgumentException($"direction has {direction.Length} elements but weights has {weights.Length}.", nameof(direction));
            }

            if (!(radius > 0) || !float.IsFinite(radius))
            {
                throw new ArgumentException($"radius must be positive and finite, got {radius}.", nameof(radius));
            }

            if (!float.IsFinite(learningRate))
            {
                throw new ArgumentException($"learningRate must be finite, got {learningRate}.", nameof(learningRate));
            }

            double directionNormSquared = DenseOps.SumOfSquares(direction);
            if (!double.IsFinite(directionNormSquared))
            {
                throw new ArgumentException("direction contains NaN or infinity.", nameof(direction));
            }

            if (directionNormSquared > 0)
            {
                float stepScale = (float)(-learningRate * radius / Math.Sqrt(directionNormSquared));
                for (int i = 0; i < weights.Length; i++)
                {
                    weights[i] += stepScale * direction[i];
                }
            }

            double weightNormSquared = DenseOps.SumOfSquares(weights);
            if (!double.IsFinite(weightNormSquared) || weightNormSquared == 0)
            {
                throw new ArgumentException($"W + U has Frobenius norm² {weightNormSquared}; it cannot be retracted onto the sphere of radius {radius}.", nameof(weights));
            }

            DenseOps.Scale(weights, (float)(radius / Math.Sqrt(weightNormSquared)), weights);
        }
    }
}
