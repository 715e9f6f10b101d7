using System;
using Fused.Ir;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// Linear warm-up then cosine decay to zero over a horizon: lr(t) = peak·Factor(t), t = 1 … horizon.
    /// The ranking tasks train under it because a rule that cannot anneal (a sign step never shrinks by
    /// itself) is judged the way it would be used, not under a constant learning rate.
    /// </summary>
    public sealed record LearningRateSchedule(double PeakLearningRate, int Horizon, double WarmupFraction = 0.1)
    {
        public int WarmupSteps => Math.Max(1, (int)Math.Round(Horizon * WarmupFraction));

        /// <summary>The multiplier of the peak at step t (1-based): t/W during warm-up, then ½(1 + cos(π·(t − W)/(H − W))).</summary>
        public double Factor(int t)
        {
            int w = WarmupSteps;
            if (t <= w) return (double)t / w;
            if (Horizon <= w) return 1;
            double progress = Math.Min(1.0, (double)(t - w) / (Horizon - w));
            return 0.5 * (1 + Math.Cos(Math.PI * progress));
        }

        /// <summary>Index of the hyperparameter named "lr" (the one a schedule drives), or −1.</summary>
        public static int IndexIn(RuleProgram program)
        {
            for (int h = 0; h < program.Hypers.Count; h++) if (program.Hypers[h].Name == EvaluationFunnel.LearningRateName) return h;
            return -1;
        }
    }
}
