using System;
using System.Collections.Generic;

namespace Fused.Runtime.Engine
{
    /// <summary>How a group stores its per-element optimizer state between steps.</summary>
    public enum StatePrecision
    {
        /// <summary>IEEE float32: 4 bytes per state element; the rule's kernels run on the state directly.</summary>
        Float32,

        /// <summary>bfloat16: 2 bytes per state element; widened to float32 per chunk, narrowed back with
        /// stochastic rounding keyed by (seed, step, stream, element) so runs are bit-reproducible at any thread count.</summary>
        BFloat16,

        /// <summary>8-bit blockwise dynamic quantisation (bitsandbytes style): 1 byte per element plus one float32
        /// absmax per <see cref="FusedOptimizer.Int8BlockSize"/> elements.</summary>
        Int8Blockwise,
    }

    /// <summary>A registered parameter as routes and reports see it.</summary>
    public sealed class ParameterInfo
    {
        internal ParameterInfo(string name, int[] shape, int index, int randomStream = -1, long randomOffset = 0)
        {
            RandomOffset = randomOffset;
            Name = name;
            _shape = shape;
            Index = index;
            RandomStream = randomStream < 0 ? index : randomStream;
            long numel = 1;
            foreach (int d in shape) numel *= d;
            Numel = numel;
            Cols = shape[shape.Length - 1];
            Rows = numel / Cols;
        }

        private readonly int[] _shape;

        /// <summary>The name given at registration (unique in the optimizer).</summary>
        public string Name { get; }

        /// <summary>The tensor's shape (rank 1–4).</summary>
        public IReadOnlyList<int> Shape => _shape;

        /// <summary>Number of dimensions.</summary>
        public int Rank => _shape.Length;

        /// <summary>Number of elements.</summary>
        public long Numel { get; }

        /// <summary>Rows of the matrix view: product of the leading dimensions (1 for rank 1).</summary>
        public long Rows { get; }

        /// <summary>Columns of the matrix view: the last dimension.</summary>
        public long Cols { get; }

        /// <summary>Registration order (0-based); also the parameter's id in random streams.</summary>
        public int Index { get; }

        /// <summary>The parameter's id in random streams: its index, unless a sharded optimizer gives a shard its full parameter's.</summary>
        internal int RandomStream { get; }

        /// <summary>The stream position of element 0: a shard of a full parameter continues its stream where the shard starts.</summary>
        internal long RandomOffset { get; }

        /// <summary>The shape scalars the rules see (<see cref="ShapeInfo.Matrix"/>).</summary>
        public ShapeInfo ShapeInfo => ShapeInfo.Matrix(Rows, Cols);

        internal int[] ShapeArray => _shape;

        /// <inheritdoc/>
        public override string ToString() => $"{Name} [{string.Join(", ", _shape)}]";
    }

    /// <summary>What <see cref="FusedOptimizer.Step"/> did.</summary>
    public enum StepStatus
    {
        /// <summary>The update was applied and the step counter advanced.</summary>
        Applied,

        /// <summary>A gradient held NaN or ±Inf: parameters, state and step counter are untouched,
        /// <see cref="FusedOptimizer.SkippedSteps"/> was incremented and accumulated gradients were discarded.</summary>
        SkippedNonFiniteGradient,
    }

    /// <summary>The outcome of one <see cref="FusedOptimizer.Step"/> call.</summary>
    public readonly struct StepResult
    {
        internal StepResult(StepStatus status, long step, double gradientNorm, float clipScale)
        {
            Status = status;
            Step = step;
            GradientNorm = gradientNorm;
            ClipScale = clipScale;
        }

        /// <summary>Applied or skipped.</summary>
        public StepStatus Status { get; }

        /// <summary>True when the update was applied.</summary>
        public bool Applied => Status == StepStatus.Applied;

        /// <summary>The step number the update used (1-based), or the last applied step when skipped.</summary>
        public long Step { get; }

        /// <summary>Global L2 norm of the gradients (float64, fixed order) before clipping; NaN when neither
        /// clipping nor the non-finite check is enabled (the norm is then not computed).</summary>
        public double GradientNorm { get; }

        /// <summary>Factor the gradients were multiplied by (1 when not clipped).</summary>
        public float ClipScale { get; }

        /// <inheritdoc/>
        public override string ToString() => $"{Status} step {Step}, |g| = {GradientNorm:G6}, clip scale {ClipScale:G6}";
    }

    /// <summary>The optimizer's configuration is invalid (routing, hyperparameters, parameters).</summary>
    public sealed class OptimizerConfigurationException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public OptimizerConfigurationException(string message) : base(message) { }
    }

    /// <summary>
    /// A step failed in one group (a matrix stage met NaN/∞, a device call failed, ...). Nothing was applied: every
    /// parameter and state is as it was before the step, <see cref="FusedOptimizer.StepCount"/> did not advance, and
    /// the step can be retried (with other gradients) or the optimizer saved.
    /// </summary>
    public sealed class OptimizerStepException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public OptimizerStepException(string group, string? parameter, long step, string message, Exception inner)
            : base(message, inner)
        {
            Group = group;
            Parameter = parameter;
            Step = step;
        }

        /// <summary>The group whose rule failed.</summary>
        public string Group { get; }

        /// <summary>The parameter the failing stage was working on (null when it was not one tensor).</summary>
        public string? Parameter { get; }

        /// <summary>The step that was attempted (and not applied).</summary>
        public long Step { get; }
    }

    /// <summary>Which groups journal what a step writes, so that a failed step can be undone (see <see cref="FusedOptimizer.Step"/>).</summary>
    public enum StepJournal
    {
        /// <summary>Groups whose schedule has matrix stages (Newton–Schulz, Shampoo), the only stages that refuse values.
        /// They step first; element passes run only after every matrix stage of the step succeeded. The default.</summary>
        FallibleGroups,

        /// <summary>Every group: a failure anywhere (a device error in an element pass, say) is undone too, at the cost
        /// of one copy of every parameter and state per step (device groups: a download before and an upload on failure).</summary>
        AllGroups,
    }

    /// <summary>When an engine on a device copies the parameters back into their host memory.</summary>
    public enum ParameterDownload
    {
        /// <summary>After every step: host parameters are always current (the model's forward pass reads them).</summary>
        EveryStep,

        /// <summary>Only on <see cref="FusedOptimizer.DownloadParameters"/> and at checkpoints (the device copy is the truth between).</summary>
        OnRequest,
    }

    /// <summary>
    /// The squared global gradient norm from per-block sums of squares (float64): parameters in registration order,
    /// each its <see cref="Fused.Ir.Reduction.BlockCount"/>(numel) blocks of <see cref="Fused.Ir.Reduction.BlockSize"/>
    /// elements. See <see cref="OptimizerBuilder.GradientNormTotal"/>.
    /// </summary>
    public delegate double GradientSquaresTotal(ReadOnlySpan<double> blockSquares);
}
