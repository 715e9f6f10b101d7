using System;
using System.Globalization;
using System.Linq;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// How many steps tuned AdamW needs to reach each loss on one task instance: its final loss when
    /// trained (with its own warm-up + cosine schedule) to each horizon of a ladder from ¼ to 2× the
    /// candidate's horizon, a quarter-octave apart, made monotone (best so far). A candidate's score is
    /// the log2 speedup, log2(steps AdamW needs for the candidate's final loss / candidate's steps),
    /// interpolated in log steps and clipped to [<see cref="MinSpeedup"/>, <see cref="MaxSpeedup"/>]:
    /// scale-free (every task counts in the same unit, whatever its loss scale) and 0 for AdamW itself.
    /// </summary>
    public sealed class ReferenceCurve
    {
        /// <summary>AdamW reaches the loss in a quarter of the steps or less (or the candidate diverged).</summary>
        public const double MinSpeedup = -2;
        /// <summary>AdamW does not reach the loss within twice the steps.</summary>
        public const double MaxSpeedup = 1;

        public ReferenceCurve(int horizon, int[] steps, double[] losses)
        {
            if (steps.Length != losses.Length || steps.Length == 0) throw new ArgumentException("steps and losses disagree");
            Horizon = horizon;
            Steps = steps;
            Losses = losses;
            Envelope = new double[losses.Length];
            double best = double.PositiveInfinity;
            for (int i = 0; i < losses.Length; i++)
            {
                if (!double.IsNaN(losses[i])) best = Math.Min(best, losses[i]);
                Envelope[i] = best;
            }
        }

        public int Horizon { get; }
        public int[] Steps { get; }
        /// <summary>AdamW's final loss per horizon, as measured (NaN: diverged).</summary>
        public double[] Losses { get; }
        /// <summary>The best loss reached within each horizon (running minimum of <see cref="Losses"/>).</summary>
        public double[] Envelope { get; }

        /// <summary>The ladder of horizons for a candidate horizon: round(T·2^(k/4)), k = −8 … 4, without repeats.</summary>
        public static int[] Ladder(int horizon) =>
            Enumerable.Range(-8, 13).Select(k => Math.Max(1, (int)Math.Round(horizon * Math.Pow(2, k / 4.0)))).Distinct().ToArray();

        /// <summary>log2(steps AdamW needs to reach <paramref name="loss"/> / <see cref="Horizon"/>), clipped.</summary>
        public double Log2Speedup(double loss)
        {
            if (double.IsNaN(loss)) return MinSpeedup;
            if (loss < Envelope[^1]) return MaxSpeedup;
            if (loss >= Envelope[0]) return MinSpeedup;
            int i = 1;
            while (Envelope[i] > loss) i++;
            // Envelope[i − 1] > loss ≥ Envelope[i]: interpolate log2(steps) linearly in the loss.
            double a = Math.Log2(Steps[i - 1]), b = Math.Log2(Steps[i]);
            double fraction = (Envelope[i - 1] - loss) / (Envelope[i - 1] - Envelope[i]);
            double speedup = a + fraction * (b - a) - Math.Log2(Horizon);
            return Math.Clamp(speedup, MinSpeedup, MaxSpeedup);
        }

        public string ToText() => Horizon.ToString(CultureInfo.InvariantCulture) + ";" +
            string.Join(",", Steps.Zip(Losses, (s, l) => s.ToString(CultureInfo.InvariantCulture) + ":" + l.ToString("R", CultureInfo.InvariantCulture)));

        public static ReferenceCurve Parse(string text)
        {
            var parts = text.Split(';');
            var points = parts[1].Split(',').Select(p => p.Split(':')).ToArray();
            return new ReferenceCurve(int.Parse(parts[0], CultureInfo.InvariantCulture),
                points.Select(p => int.Parse(p[0], CultureInfo.InvariantCulture)).ToArray(),
                points.Select(p => double.Parse(p[1], CultureInfo.InvariantCulture)).ToArray());
        }
    }
}
