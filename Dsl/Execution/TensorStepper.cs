using System;
using System.Collections.Generic;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// Steps one tensor at a time on the calling thread: the <see cref="ScheduleExecutor"/> on an
    /// <see cref="ArrayBackend"/>, with every buffer (scalar and row/column states too) the caller's array between
    /// calls. For the interpreter, the search's many tiny proxy tensors, and tests. One instance per thread.
    /// </summary>
    public sealed class TensorStepper
    {
        private readonly ScheduleExecutor _executor;
        private readonly ArrayBackend _backend;
        private readonly float[][][] _tensor = new float[1][][];
        private readonly ShapeInfo[] _shape = new ShapeInfo[1];

        /// <summary>A stepper for <paramref name="schedule"/> on the calling thread.</summary>
        /// <param name="schedule">The schedule to step.</param>
        /// <param name="kernels">The element passes: a rule's generated kernels, or <see cref="InterpretedKernels"/>.</param>
        /// <param name="matrix">Implementations of the schedule's matrix passes (required when it has any).</param>
        public TensorStepper(KernelSchedule schedule, IPassKernels kernels, IMatrixKernels? matrix = null)
        {
            Schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
            _backend = new ArrayBackend(schedule, kernels, matrix);
            _executor = new ScheduleExecutor(schedule, _backend);
        }

        /// <summary>The schedule stepped.</summary>
        public KernelSchedule Schedule { get; }

        /// <summary>The uniform values of the last step (float64), by slot.</summary>
        public ReadOnlySpan<double> Uniforms => _executor.TensorCount == 0 ? new double[Schedule.UniformCount] : _executor.Uniforms(0);

        /// <summary>
        /// One step. <paramref name="buffers"/> are indexed like the rule's buffers (parameter, gradient, states):
        /// element buffers of <see cref="ShapeInfo.Numel"/>, row states of Rows, column states of Cols, scalar states of one.
        /// </summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ShapeInfo shape, IReadOnlyList<float[]> buffers)
        {
            var s = Schedule;
            if (buffers.Count != s.ProgramBufferCount)
                throw new ArgumentException($"{s.Name} takes {s.ProgramBufferCount} buffers, got {buffers.Count}", nameof(buffers));
            if (shape.Numel < 0 || shape.Rows * shape.Cols != shape.Numel)
                throw new ArgumentException($"{s.Name}: shape {shape.Rows}×{shape.Cols} does not hold {shape.Numel} elements", nameof(shape));
            for (int b = 0; b < buffers.Count; b++)
            {
                long expected = shape.LengthOf(s.Buffers[b].Shape);
                if (buffers[b] == null || buffers[b].Length != expected)
                    throw new ArgumentException($"{s.Name}: buffer '{s.Buffers[b].Name}' has {buffers[b]?.Length ?? 0} elements, expected {expected}", nameof(buffers));
            }
            var own = _tensor[0];
            if (own == null || own.Length != buffers.Count) own = _tensor[0] = new float[buffers.Count][];
            for (int b = 0; b < own.Length; b++) own[b] = buffers[b];
            _shape[0] = shape;
            _executor.SetShapes(_shape);
            _backend.SetTensors(_shape, _tensor);

            // Scalar and row/column states live in the executor during the step; the caller's buffers hold them between steps.
            var scalars = _executor.Scalars(0);
            var scalarBuffers = s.ScalarBuffers;
            for (int k = 0; k < scalarBuffers.Count; k++) scalars[k] = buffers[scalarBuffers[k]][0];
            foreach (var b in s.VectorBuffers) Array.Copy(buffers[b], _executor.VectorState(0, b), buffers[b].Length);
            _executor.Step(hypers, step);
            for (int k = 0; k < scalarBuffers.Count; k++) buffers[scalarBuffers[k]][0] = scalars[k];
            foreach (var b in s.VectorBuffers) Array.Copy(_executor.VectorState(0, b), buffers[b], buffers[b].Length);
        }
    }
}
