using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Model;

namespace Fused.Demo.Training
{
    /// <summary>Settings shared by every optimizer's run so the comparison is fair.</summary>
    public sealed record TrainingOptions
    {
        /// <summary>Two epochs × three seeds × the five default optimizers is about a minute on two cores.</summary>
        public int Epochs { get; init; } = 2;
        public int BatchSize { get; init; } = 128;
        public ulong Seed { get; init; } = 42;

        /// <summary>Runs per optimizer, from seeds <see cref="Seed"/>, <see cref="Seed"/> + 1, ...: the spread behind every ± in the results.</summary>
        public int Seeds { get; init; } = 3;

        /// <summary>The seed of each run: <see cref="Seed"/> + k for k below <see cref="Seeds"/>.</summary>
        public IEnumerable<ulong> SeedValues
        {
            get
            {
                for (int k = 0; k < Seeds; k++) yield return Seed + (ulong)k;
            }
        }

        /// <summary>Test-set evaluations per epoch (points on the accuracy curve).</summary>
        public int EvaluationsPerEpoch { get; init; } = 4;

        /// <summary>The --model: mlp (default), cnn or transformer (<see cref="ModelTasks.Names"/>).</summary>
        public string Model { get; init; } = "mlp";

        public IReadOnlyList<int> LayerSizes { get; init; } = new[] { 784, 256, 128, 10 };

        public void Validate()
        {
            if (Epochs < 1) throw new ArgumentException($"--epochs must be at least 1, got {Epochs}");
            if (BatchSize < 1 || BatchSize > 8192) throw new ArgumentException($"--batch-size must be between 1 and 8192, got {BatchSize}");
            if (Seeds < 1 || Seeds > 100) throw new ArgumentException($"--seeds must be between 1 and 100, got {Seeds}");
            if (!ModelTasks.Names.Contains(Model)) throw new ArgumentException($"unknown model '{Model}'; choose from {string.Join(", ", ModelTasks.Names)}");
            if (EvaluationsPerEpoch < 1) throw new ArgumentException("evaluations per epoch must be at least 1");
        }
    }
}
