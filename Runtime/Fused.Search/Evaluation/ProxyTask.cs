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

        /// <summary>The gradients of step <paramref name="step"/> at <paramref name="parameters"/> (for gradient checks).</summary>
        public void GradientAt(float[][] parameters, float[][] gradients, int step) => Gradient(parameters, gradients, step);

        /// <summary>Fresh copies of the initial parameters.</summary>
        public float[][] InitialParameters() => Parameters.Select(p => (float[])p.init.Clone()).ToArray();

        /// <summary>The objective reported at the end.</summary>
        protected abstract double Loss(float[][] parameters);

        public override double Run(FusedRule rule, float[] hypers, CancellationToken ct) => Train(rule, hypers, Steps, null, ct);

        /// <summary>
        /// Trains for <paramref name="steps"/> steps and returns the final loss (NaN: diverged). With a
        /// <paramref name="schedule"/>, the program sees the scheduled learning rate: hyperparameter
        /// <c>lr</c> is set to schedule.PeakLearningRate·schedule.Factor(t) before step t (the Lion
        /// paper's <c>train(w, g, m, v, lr)</c>); without one, the hyperparameters stay as given.
        /// </summary>
        public double Train(FusedRule rule, float[] hypers, int steps, LearningRateSchedule? schedule, CancellationToken ct)
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
            int lrIndex = schedule == null ? -1 : LearningRateSchedule.IndexIn(program);
            hypers = (float[])hypers.Clone();
            for (int step = 1; step <= steps; step++)
            {
                if ((step & 15) == 0) ct.ThrowIfCancellationRequested();
                if (lrIndex >= 0) hypers[lrIndex] = (float)(schedule!.PeakLearningRate * schedule.Factor(step));
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
