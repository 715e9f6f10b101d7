using System;
using Fused.Ir;
using Fused.Runtime.Schedules;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// Linear warm-up then cosine decay to zero over a horizon: lr(t) = peak·Factor(t), t = 1 … horizon — the engine's
    /// <see cref="WarmupCosineSchedule"/>, so a found rule is scored under the schedule a user would then train it with.
    /// The ranking tasks train under it because a rule that cannot anneal (a sign step never shrinks by itself) is judged
    /// the way it would be used, not under a constant learning rate.
    /// </summary>
    public sealed class LearningRateSchedule
    {
        private readonly WarmupCosineSchedule _shape;

        public LearningRateSchedule(double peakLearningRate, int horizon, double warmupFraction = 0.1)
        {
            PeakLearningRate = peakLearningRate;
            Horizon = horizon;
            WarmupSteps = Math.Max(1, (int)Math.Round(horizon * warmupFraction));
            _shape = new WarmupCosineSchedule(WarmupSteps, Math.Max(horizon, WarmupSteps));
        }

        public double PeakLearningRate { get; }
        public int Horizon { get; }
        public int WarmupSteps { get; }

        /// <summary>The multiplier of the peak at step t (1-based): t/W during warm-up, then ½(1 + cos(π·(t − W)/(H − W))).</summary>
        public double Factor(int t) => _shape.ValueAt(t);

        /// <summary>Index of the hyperparameter named "lr" (the one a schedule drives), or −1.</summary>
        public static int IndexIn(RuleProgram program)
        {
            for (int h = 0; h < program.Hypers.Count; h++) if (program.Hypers[h].Name == EvaluationFunnel.LearningRateName) return h;
            return -1;
        }
    }
}
