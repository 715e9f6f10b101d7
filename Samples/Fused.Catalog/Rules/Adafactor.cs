using Fused;
using static Fused.Intrinsics;

namespace Fused.Catalog
{
    /// <summary>
    /// Adafactor (Shazeer &amp; Stern, 2018) with relative steps, as in its reference implementations: the
    /// second moment of a Rows×Cols tensor is kept factored as per-row and per-column means of g² (Rows +
    /// Cols floats instead of Rows·Cols), β₂ grows as 1 − t^decayRate, the update is clipped by its RMS,
    /// and the step is min(maxStep, 1/√t) times the parameter's RMS. A vector is one row, so its column
    /// means are the exact unfactored second moment.
    /// </summary>
    [Optimizer]
    public static partial class Adafactor
    {
        static void Update(ref float param, float grad,
            [State(StateShape.Row)] ref float rowMeans, [State(StateShape.Column)] ref float colMeans,
            [Hyper(1e-30)] float eps1, [Hyper(1e-3)] float eps2, [Hyper(1.0)] float clipThreshold,
            [Hyper(-0.8)] float decayRate, [Hyper(1e-2)] float maxStep, [Hyper(0.0)] float weightDecay, [Step] int t)
        {
            var beta2 = 1 - Pow(t, decayRate);
            var g2 = grad * grad + eps1;
            rowMeans = beta2 * rowMeans + (1 - beta2) * RowMean(g2);
            colMeans = beta2 * colMeans + (1 - beta2) * ColMean(g2);
            var u = grad * Rsqrt(rowMeans / Mean(rowMeans) * colMeans);
            u = u / Max(1f, Rms(u) / clipThreshold);
            var alpha = Min(maxStep, Rsqrt(t)) * Max(eps2, Rms(param));
            param -= alpha * (u + weightDecay * param);
        }
    }
}
