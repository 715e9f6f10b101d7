using Fused.Execution;
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// A small training problem an update rule is scored on. Deterministic: the same rule and
    /// hyperparameters always give the same loss. Lower is better; NaN means diverged.
    /// </summary>
    public abstract class ProxyTask
    {
        public abstract string Name { get; }

        /// <summary>Centre of the learning-rate grid (tuned so AdamW's best is inside it).</summary>
        public abstract double BaseLearningRate { get; }

        /// <summary>Losses this close to zero count as solved (keeps ratios finite).</summary>
        public virtual double LossFloor => 1e-6;

        /// <summary>Trains from the task's fixed initialisation and returns the final loss.</summary>
        public abstract double Run(FusedRule rule, float[] hypers, CancellationToken ct);
    }

    /// <summary>
    /// Tasks with a list of parameter tensors and a full-loss/gradient function: owns the per-tensor
    /// buffers (parameter, gradient, zeroed states) and steps every tensor with the rule.
    /// </summary>
    public abstract class TensorTask : ProxyTask
    {
        /// <summary>Steps of training.</summary>
        public abstract int Steps { get; }

        /// <summary>Tensor shapes and initial values (fixed by the task's seed).</summary>
        protected abstract IReadOnlyList<(ShapeInfo shape, float[] init)> Parameters { get; }

        /// <summary>Writes the gradients for step <paramref name="step"/> (minibatch tasks pick their batch from it).</summary>
        protected abstract void Gradient(float[][] parameters, float[][] gradients, int step);

        /// <summary>The objective reported at the end.</summary>
        protected abstract double Loss(float[][] parameters);

        public override double Run(FusedRule rule, float[] hypers, CancellationToken ct)
        {
            var program = rule.Program;
            var specs = Parameters;
            var tensors = specs.Select(s =>
            {
                var bufs = program.Buffers.Select(b => new float[b.Shape == StateShape.Scalar ? 1 : s.shape.Numel]).ToArray();
                s.init.CopyTo(bufs[RuleProgram.ParamBuffer], 0);
                return bufs;
            }).ToArray();
            var parameters = tensors.Select(t => t[RuleProgram.ParamBuffer]).ToArray();
            var gradients = tensors.Select(t => t[RuleProgram.GradBuffer]).ToArray();
            var stepper = new TensorStepper(rule.Schedule, rule);
            for (int step = 1; step <= Steps; step++)
            {
                if ((step & 15) == 0) ct.ThrowIfCancellationRequested();
                Gradient(parameters, gradients, step);
                for (int i = 0; i < tensors.Length; i++) stepper.Step(hypers, step, specs[i].shape, tensors[i]);
                if ((step & 7) == 0 && !AllFinite(parameters)) return double.NaN;
            }
            if (!AllFinite(parameters)) return double.NaN;
            double loss = Loss(parameters);
            return double.IsFinite(loss) ? loss : double.NaN;
        }

        private static bool AllFinite(float[][] parameters)
        {
            foreach (var p in parameters) foreach (var v in p) if (!float.IsFinite(v)) return false;
            return true;
        }

        protected static float[] Gaussian(SearchRandom rng, long n, double scale) =>
            Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextGaussian() * scale)).ToArray();
    }
}
