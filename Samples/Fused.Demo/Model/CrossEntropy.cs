using System;

namespace Fused.Demo.Model
{
    /// <summary>Softmax cross-entropy on one row of logits, shared by every model's head.</summary>
    public static class CrossEntropy
    {
        /// <summary>−log softmax(logits)[label], with softmax − onehot written to <paramref name="gradient"/>.</summary>
        public static double Loss(ReadOnlySpan<float> logits, int label, Span<float> gradient)
        {
            float max = float.NegativeInfinity;
            foreach (float v in logits) max = Math.Max(max, v);
            double sum = 0;
            for (int c = 0; c < logits.Length; c++) sum += Math.Exp(logits[c] - max);
            double logSum = Math.Log(sum) + max;
            for (int c = 0; c < logits.Length; c++)
                gradient[c] = (float)Math.Exp(logits[c] - logSum) - (c == label ? 1f : 0f);
            return logSum - logits[label];
        }

        public static int ArgMax(ReadOnlySpan<float> values)
        {
            int best = 0;
            for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
            return best;
        }
    }
}
