using System;
using System.Collections.Generic;

namespace Fused.Testing
{
    /// <summary>What <see cref="RuleAgreement"/> runs: shapes, steps, seed, hyperparameters and the Update tolerance.</summary>
    public sealed class AgreementOptions
    {
        /// <summary>
        /// Tensor shapes stepped, by default lengths 1, 7, 33 and 1001 (odd: every vector width leaves a scalar tail) and
        /// 17×9 and 31×33 matrices (for row/column states and matrix passes).
        /// </summary>
        public IReadOnlyList<ShapeInfo> Shapes { get; init; } = new[]
        {
            ShapeInfo.Vector(1), ShapeInfo.Vector(7), ShapeInfo.Vector(33), ShapeInfo.Vector(1001),
            ShapeInfo.Matrix(17, 9), ShapeInfo.Matrix(31, 33),
        };

        /// <summary>Steps per shape (t = 1, 2, ...), each with a fresh random gradient. Default 5.</summary>
        public int Steps { get; init; } = 5;

        /// <summary>Seed of the random inputs (parameters N(0,1), gradients N(0, 0.1²), states start at zero). Default 1.</summary>
        public int Seed { get; init; } = 1;

        /// <summary>Hyperparameter values in declared order; null for the rule's declared defaults.</summary>
        public float[]? Hyperparameters { get; init; }

        /// <summary>
        /// The bound for the comparison with <c>Update</c> called directly (see <see cref="FloatAgreement.WithinTolerance"/>):
        /// default <see cref="FloatAgreement.DefaultTolerance"/>.
        /// </summary>
        public double UpdateTolerance { get; init; } = FloatAgreement.DefaultTolerance;

        /// <summary>Whether to compare with the rule's <c>Update</c> called directly (default true).</summary>
        public bool CompareUpdate { get; init; } = true;

        internal void Validate()
        {
            if (Shapes == null || Shapes.Count == 0) throw new ArgumentException("AgreementOptions.Shapes is empty");
            if (Steps < 1) throw new ArgumentException($"AgreementOptions.Steps must be at least 1, got {Steps}");
            if (!(UpdateTolerance >= 0)) throw new ArgumentException($"AgreementOptions.UpdateTolerance must be at least 0, got {UpdateTolerance}");
        }
    }
}
