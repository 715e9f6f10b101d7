using System.Collections.Generic;

namespace Fused.Demo.Training
{
    /// <summary>A test-set measurement during training.</summary>
    public readonly record struct EvaluationPoint(long Step, double Epoch, double TestLoss, double TestAccuracy);

    /// <summary>Everything measured while training one optimizer.</summary>
    public sealed record RunResult(
        string Optimizer,
        string Description,
        long Steps,
        IReadOnlyList<float> StepLosses,
        IReadOnlyList<EvaluationPoint> Evaluations,
        double FinalTrainLoss,
        double TestAccuracy,
        double TestLoss,
        double MillisecondsPerStep,
        double OptimizerMillisecondsPerStep,
        long StateBytes,
        long ParameterCount,
        double Seconds)
    {
        /// <summary>The --model trained (mlp, cnn, transformer), so results of several models can be told apart.</summary>
        public string Model { get; init; } = "mlp";

        public bool Diverged => double.IsNaN(FinalTrainLoss) || double.IsInfinity(FinalTrainLoss);
    }
}
