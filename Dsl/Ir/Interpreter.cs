using System;
using System.Collections.Generic;
using Fused.Execution;

namespace Fused.Ir
{
    /// <summary>
    /// Runs a plan without compiling it: its schedule through the <see cref="ScheduleExecutor"/> on the
    /// <see cref="ArrayBackend"/> with the <see cref="PassInterpreter"/>, with exactly the semantics of the generated
    /// kernels (float32 element values, float64 uniforms, the fixed reduction orders of <see cref="Reduction"/>).
    /// It is how rules built at run time (the search) are evaluated, and the yardstick generated kernels are tested against.
    /// </summary>
    public sealed class Interpreter
    {
        private readonly TensorStepper _stepper;

        /// <summary>An interpreter for <paramref name="plan"/>.</summary>
        /// <param name="plan">The plan to run (its schedule is lowered once, here).</param>
        /// <param name="matrix">Implementations of the plan's matrix passes (required when it has any).</param>
        public Interpreter(KernelPlan plan, IMatrixKernels? matrix = null)
        {
            Plan = plan ?? throw new ArgumentNullException(nameof(plan));
            var schedule = ScheduleLowering.Lower(plan);
            _stepper = new TensorStepper(schedule, new InterpretedKernels(schedule), matrix);
        }

        /// <summary>The plan interpreted.</summary>
        public KernelPlan Plan { get; }

        /// <summary>The schedule lowered from <see cref="Plan"/>, which the interpreter executes.</summary>
        public KernelSchedule Schedule => _stepper.Schedule;

        /// <summary>The uniform values of the last step (float64), by slot.</summary>
        public ReadOnlySpan<double> Uniforms => _stepper.Uniforms;

        /// <summary>
        /// One optimizer step. <paramref name="buffers"/> are indexed like the program's buffers
        /// (parameter, gradient, states): element buffers of the parameter's length, row states of
        /// <see cref="ShapeInfo.Rows"/>, column states of <see cref="ShapeInfo.Cols"/>, scalar states of one.
        /// </summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, IReadOnlyList<float[]> buffers)
        {
            if (hypers.Length != Plan.Program.Hypers.Count)
                throw new ArgumentException($"{Plan.Program.Name} takes {Plan.Program.Hypers.Count} hyperparameters, got {hypers.Length}");
            _stepper.Step(hypers, step, shape, buffers);
        }
    }
}
