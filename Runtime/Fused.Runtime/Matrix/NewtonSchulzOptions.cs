using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>Settings for <see cref="NewtonSchulz.Orthogonalize(System.ReadOnlySpan{float}, int, int, System.Span{float}, NewtonSchulzOptions, MatrixWorkspace)"/>. Immutable; share one instance across calls.</summary>
    public sealed class NewtonSchulzOptions
    {
        private static readonly NewtonSchulzCoefficients[] MuonSchedule = { NewtonSchulzSchedules.Muon };

        private readonly NewtonSchulzCoefficients[] _schedule;

        /// <summary>Muon's reference: five steps of (3.4445, −4.7750, 2.0315), symmetric products, Gram variant from aspect ratio 4.</summary>
        public static NewtonSchulzOptions Default { get; } = new NewtonSchulzOptions();

        /// <summary>
        /// Creates options. <paramref name="schedule"/> gives the coefficients of step i as
        /// schedule[min(i, schedule.Length − 1)]; null means Muon's coefficients for every step.
        /// </summary>
        /// <param name="steps">Number of iterations (≥ 0).</param>
        /// <param name="schedule">Per-step coefficients (copied); null means Muon's; empty is rejected.</param>
        /// <param name="useSymmetricProducts">Form X·Xᵀ and A·A with ssyrk and apply the polynomial with ssymm.</param>
        /// <param name="gramAspectRatioThreshold">
        /// Use the Gram-space iteration when max(rows, cols)/min(rows, cols) ≥ this value; +∞ disables it, 1 forces it.
        /// </param>
        /// <param name="roundToBFloat16">Round X and the Gram products to bfloat16 after each step, emulating bf16 storage with fp32 accumulation.</param>
        /// <param name="normalizationEpsilon">X₀ = G / (‖G‖F + ε).</param>
        public NewtonSchulzOptions(
            int steps = 5,
            NewtonSchulzCoefficients[]? schedule = null,
            bool useSymmetricProducts = true,
            double gramAspectRatioThreshold = 4.0,
            bool roundToBFloat16 = false,
            double normalizationEpsilon = 1e-7)
        {
            if (steps < 0)
            {
                throw new ArgumentException($"steps must be non-negative, got {steps}.", nameof(steps));
            }

            if (schedule != null && schedule.Length == 0)
            {
                throw new ArgumentException("schedule must hold at least one step's coefficients (or be null for Muon's).", nameof(schedule));
            }

            if (double.IsNaN(gramAspectRatioThreshold) || gramAspectRatioThreshold < 1.0)
            {
                throw new ArgumentException($"gramAspectRatioThreshold must be ≥ 1 (or +∞ to disable), got {gramAspectRatioThreshold}.", nameof(gramAspectRatioThreshold));
            }

            if (!double.IsFinite(normalizationEpsilon) || normalizationEpsilon < 0)
            {
                throw new ArgumentException($"normalizationEpsilon must be finite and ≥ 0, got {normalizationEpsilon}.", nameof(normalizationEpsilon));
            }

            NewtonSchulzCoefficients[] copy = schedule == null ? MuonSchedule : (NewtonSchulzCoefficients[])schedule.Clone();
            for (int i = 0; i < copy.Length; i++)
            {
                copy[i].Validate($"schedule[{i}]");
            }

            Steps = steps;
            _schedule = copy;
            UseSymmetricProducts = useSymmetricProducts;
            GramAspectRatioThreshold = gramAspectRatioThreshold;
            RoundToBFloat16 = roundToBFloat16;
            NormalizationEpsilon = normalizationEpsilon;
        }

        /// <summary>The Polar Express schedule with its eight steps (see <see cref="NewtonSchulzSchedules.PolarExpress"/>).</summary>
        public static NewtonSchulzOptions PolarExpress(bool useSymmetricProducts = true, double gramAspectRatioThreshold = 4.0)
            => new NewtonSchulzOptions(8, NewtonSchulzSchedules.PolarExpress(), useSymmetricProducts, gramAspectRatioThreshold);

        /// <summary>Number of iterations.</summary>
        public int Steps { get; }

        /// <summary>Per-step coefficients; step i uses entry min(i, Length − 1).</summary>
        public ReadOnlySpan<NewtonSchulzCoefficients> Schedule => _schedule;

        /// <summary>Whether symmetric BLAS (ssyrk, ssymm) replaces sgemm where the operand is symmetric.</summary>
        public bool UseSymmetricProducts { get; }

        /// <summary>Aspect ratio from which the Gram-space iteration is used.</summary>
        public double GramAspectRatioThreshold { get; }

        /// <summary>Whether intermediates are rounded to bfloat16.</summary>
        public bool RoundToBFloat16 { get; }

        /// <summary>ε in X₀ = G / (‖G‖F + ε).</summary>
        public double NormalizationEpsilon { get; }

        /// <summary>Coefficients of step <paramref name="step"/>.</summary>
        public NewtonSchulzCoefficients CoefficientsAt(int step) => _schedule[Math.Min(step, _schedule.Length - 1)];
    }
}
