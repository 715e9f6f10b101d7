using System;

namespace Fused.Demo.Model
{
    /// <summary>
    /// Layer normalisation over each row of [rows, width]: y = (x − mean)/√(var + ε) · gain + bias, forward and
    /// backward. The forward keeps x̂ and 1/σ per row for the backward.
    /// </summary>
    public static class LayerNorm
    {
        public const float Epsilon = 1e-5f;

        public static void Forward(ReadOnlySpan<float> x, Parameter gain, Parameter bias, int rows, Span<float> xHat, Span<float> inverseStd, Span<float> y)
        {
            int width = gain.Count;
            for (int r = 0; r < rows; r++)
            {
                var row = x.Slice(r * width, width);
                double mean = 0, variance = 0;
                foreach (float v in row) mean += v;
                mean /= width;
                foreach (float v in row) variance += (v - mean) * (v - mean);
                float rstd = (float)(1.0 / Math.Sqrt(variance / width + Epsilon));
                inverseStd[r] = rstd;
                var hat = xHat.Slice(r * width, width);
                var output = y.Slice(r * width, width);
                for (int i = 0; i < width; i++)
                {
                    hat[i] = (float)(row[i] - mean) * rstd;
                    output[i] = hat[i] * gain.Value[i] + bias.Value[i];
                }
            }
        }

        /// <summary>
        /// From dy: writes the gain and bias gradients and ADDS ∂L/∂x to <paramref name="dx"/> (the residual stream's
        /// gradient, which already holds the skip path's share).
        /// </summary>
        public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xHat, ReadOnlySpan<float> inverseStd, Parameter gain, Parameter bias, int rows, Span<float> dx)
        {
            int width = gain.Count;
            var dGain = gain.Gradient.AsSpan();
            var dBias = bias.Gradient.AsSpan();
            dGain.Clear();
            dBias.Clear();
            for (int r = 0; r < rows; r++)
            {
                var dyRow = dy.Slice(r * width, width);
                var hat = xHat.Slice(r * width, width);
                var dxRow = dx.Slice(r * width, width);
                // dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)) with dx̂ = dy ⊙ gain.
                double meanD = 0, meanDx = 0;
                for (int i = 0; i < width; i++)
                {
                    double dHat = dyRow[i] * gain.Value[i];
                    meanD += dHat;
                    meanDx += dHat * hat[i];
                    dGain[i] += dyRow[i] * hat[i];
                    dBias[i] += dyRow[i];
                }

                meanD /= width;
                meanDx /= width;
                float rstd = inverseStd[r];
                for (int i = 0; i < width; i++)
                    dxRow[i] += (float)(rstd * (dyRow[i] * gain.Value[i] - meanD - hat[i] * meanDx));
            }
        }
    }
}
