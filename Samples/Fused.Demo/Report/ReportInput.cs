using System.Collections.Generic;
using Fused.Demo.Training;

namespace Fused.Demo.Report
{
    /// <summary>How the runs were set up (shown in the report header).</summary>
    public sealed record RunSetup(int TrainCount, int TestCount, TrainingOptions Options, int Threads, string BlasBackend, string BlasNote, double LoadSeconds)
    {
        /// <summary>The trained model in one line (IModelTask.Description); null means the default MLP.</summary>
        public string? ModelDescription { get; init; }
    }

    /// <summary>What the report is made from: the training runs; the widgets are computed while building it.</summary>
    public sealed record ReportInput(RunSetup Setup, IReadOnlyList<RunResult> Results);
}
