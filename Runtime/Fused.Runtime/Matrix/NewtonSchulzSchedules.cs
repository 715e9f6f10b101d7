using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>Named coefficient schedules for <see cref="NewtonSchulz"/>.</summary>
    public static class NewtonSchulzSchedules
    {
        /// <summary>
        /// Keller Jordan's Muon coefficients (3.4445, −4.7750, 2.0315), used for every step. Five steps map normalised
        /// singular values in [0.01, 1] into about [0.68, 1.13]: deliberately not converged to 1, traded for a steep
        /// slope at 0 so small singular values grow fast.
        /// </summary>
        public static readonly NewtonSchulzCoefficients Muon = new NewtonSchulzCoefficients(3.4445, -4.7750, 2.0315);

        /// <summary>
        /// Classic quintic Newton-Schulz (15/8, −10/8, 3/8): the degree-5 Taylor step towards the polar factor;
        /// converges (order 3) once singular values are within (0, √(7/3)), slowly from small ones.
        /// </summary>
        public static readonly NewtonSchulzCoefficients QuinticTaylor = new NewtonSchulzCoefficients(1.875, -1.25, 0.375);

        // Amsel, Persson, Musco, Gower (2025), "The Polar Express": per-step minimax-optimal quintics for
        // σ ∈ [0.001, 1], before dividing by the paper's safety factor 1.01 (a/1.01, b/1.01³, c/1.01⁵) that keeps
        // float rounding from pushing σ past 1. Verified in our tests: the eight-step composite maps
        // [0.001, 1] into 1 ± 1e-3, and matrices reach their SVD polar factor within 1e-2.
        private static readonly NewtonSchulzCoefficients[] PolarExpressRaw =
        {
            new NewtonSchulzCoefficients(8.28721201814563, -23.595886519098837, 17.300387312530933),
            new NewtonSchulzCoefficients(4.107059111542203, -2.9478499167379106, 0.5448431082926601),
            new NewtonSchulzCoefficients(3.9486908534822946, -2.908902115962949, 0.5518191394370137),
            new NewtonSchulzCoefficients(3.3184196573706015, -2.488488024314874, 0.51004894012372),
            new NewtonSchulzCoefficients(2.300652019954817, -1.6689039845747493, 0.4188073119525673),
            new NewtonSchulzCoefficients(1.891301407787398, -1.2679958271945868, 0.37680408948524835),
            new NewtonSchulzCoefficients(1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
            new NewtonSchulzCoefficients(1.875, -1.25, 0.375),
        };

        private const double PolarExpressSafety = 1.01;

        /// <summary>
        /// The Polar Express schedule (eight steps, safety factor 1.01 applied). Steps beyond the eighth repeat
        /// the last entry. Returns a fresh array each call so callers cannot corrupt the shared one.
        /// </summary>
        public static NewtonSchulzCoefficients[] PolarExpress()
        {
            var schedule = new NewtonSchulzCoefficients[PolarExpressRaw.Length];
            for (int i = 0; i < schedule.Length; i++)
            {
                NewtonSchulzCoefficients raw = PolarExpressRaw[i];
                schedule[i] = new NewtonSchulzCoefficients(
                    raw.A / PolarExpressSafety,
                    raw.B / Math.Pow(PolarExpressSafety, 3),
                    raw.C / Math.Pow(PolarExpressSafety, 5));
            }

            return schedule;
        }
    }
}
