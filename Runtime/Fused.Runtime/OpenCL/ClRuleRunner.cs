using System;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Runs a rule on an OpenCL device, one tensor at a time: the rule's schedule through the
    /// <see cref="ScheduleExecutor"/> on a <see cref="ClBackend"/>. Each tensor is a <see cref="ClTensorState"/> with its
    /// own executor and backend (parameter, gradient and element states on the device, scalar and row/column states in
    /// the executor on the host); upload and download are explicit. The rule's kernels are built once per runner
    /// (<see cref="ClRuleProgram"/>) and shared by its tensors. Works the same for rules generated at compile time and
    /// programs built at run time (the search).
    /// </summary>
    public sealed class ClRuleRunner : IDisposable
    {
        private readonly NewtonSchulzOptions? _newtonSchulz;
        private readonly ShampooOptions? _shampoo;

        /// <param name="rule">The rule (its OpenCL C, or, for rules built at run time, the source emitted from its program).</param>
        /// <param name="queue">The queue every step runs on.</param>
        /// <param name="matrix">Newton-Schulz options for rules with an Orthogonalize pass.</param>
        /// <param name="kernels">Scalar or vector kernels; <see cref="ClKernelShape.Auto"/> decides from the environment and the device.</param>
        /// <param name="vectorWidth">Width of the vector kernels (2, 4, 8, 16); 0 takes the device's preferred width.</param>
        /// <param name="shampoo">Settings for rules with a Precondition pass (Shampoo; it runs on the host).</param>
        public ClRuleRunner(FusedRule rule, ClQueue queue, NewtonSchulzOptions? matrix = null, ClKernelShape kernels = ClKernelShape.Auto, int vectorWidth = 0, ShampooOptions? shampoo = null)
        {
            Program = new ClRuleProgram(rule, queue, kernels, vectorWidth);
            _newtonSchulz = matrix;
            _shampoo = shampoo;
        }

        /// <summary>The rule this runner steps.</summary>
        public FusedRule Rule => Program.Rule;
        /// <summary>The queue (device) the runner steps on.</summary>
        public ClQueue Queue => Program.Queue;

        /// <summary>The rule's kernels on <see cref="Queue"/>.</summary>
        public ClRuleProgram Program { get; }

        /// <summary>Which kernels run (scalar or vector, the width) and why.</summary>
        public ClKernelChoice Kernels => Program.Kernels;

        /// <summary>Work-group size of the main launch of every pass.</summary>
        public long LocalSize => Program.LocalSize;

        /// <summary>Where the rule's program came from: built now, loaded from the disk cache, or already in memory.</summary>
        public ProgramOrigin ProgramOrigin => Program.Origin;

        /// <summary>Device buffers for one tensor of <paramref name="shape"/> (states start at zero). Dispose it before the runner.</summary>
        public ClTensorState Allocate(ShapeInfo shape) => new ClTensorState(this, shape, _newtonSchulz, _shampoo);

        /// <summary>One step of <paramref name="tensor"/> on the device.</summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ClTensorState tensor)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            if (tensor.Runner != this) throw new ArgumentException("the tensor state was allocated by another runner", nameof(tensor));
            tensor.Step(hypers, step);
        }

        /// <inheritdoc/>
        public void Dispose() => Program.Dispose();
    }

    /// <summary>
    /// One tensor of a <see cref="ClRuleRunner"/>: its executor (scalar and row/column states, on the host) and its
    /// backend (element buffers on the device). Upload and download by buffer name reach either.
    /// </summary>
    public sealed class ClTensorState : IDisposable
    {
        private readonly KernelSchedule _schedule;
        private readonly ScheduleExecutor _executor;
        private readonly ClBackend _backend;

        internal ClTensorState(ClRuleRunner runner, ShapeInfo shape, NewtonSchulzOptions? newtonSchulz, ShampooOptions? shampoo)
        {
            _schedule = runner.Program.Schedule;
            if (shape.Numel < 0 || shape.Rows < 0 || shape.Cols < 0 || shape.Rows * shape.Cols != shape.Numel)
                throw new ArgumentException($"{_schedule.Name}: shape {shape.Rows}×{shape.Cols} does not hold {shape.Numel} elements", nameof(shape));
            Runner = runner;
            Shape = shape;
            _backend = new ClBackend(runner.Program, newtonSchulz, shampoo);
            _executor = new ScheduleExecutor(_schedule, _backend);
            var shapes = new[] { shape };
            _backend.SetTensors(shapes);
            _executor.SetShapes(shapes);
        }

        internal ClRuleRunner Runner { get; }
        /// <summary>The shape of the tensor these states belong to.</summary>
        public ShapeInfo Shape { get; }

        /// <summary>The device side (its buffers, and the time spent on host matrix passes).</summary>
        public ClBackend Backend => _backend;

        /// <summary>Scalar states (one value per tensor, in <see cref="KernelSchedule.ScalarBuffers"/> order), on the host.</summary>
        public Span<float> Scalars => _executor.Scalars(0);

        internal void Step(ReadOnlySpan<float> hypers, long step) => _executor.Step(hypers, step);

        /// <summary>
        /// Copies host data into a buffer (the parameter, the gradient or a state, by name): Numel floats for element
        /// buffers, Rows for a row state, Cols for a column state, one for a scalar state.
        /// </summary>
        public void Upload(string buffer, ReadOnlySpan<float> data)
        {
            int b = BufferNamed(buffer);
            if (_schedule.Buffers[b].Shape != StateShape.Element) data.CopyTo(HostState(b, buffer, data.Length));
            else _backend.Upload(0, buffer, data);
        }

        /// <summary>Copies a buffer back to the host (lengths as for <see cref="Upload"/>).</summary>
        public void Download(string buffer, Span<float> data)
        {
            int b = BufferNamed(buffer);
            if (_schedule.Buffers[b].Shape != StateShape.Element) HostState(b, buffer, data.Length).CopyTo(data);
            else _backend.Download(0, buffer, data);
        }

        private int BufferNamed(string name)
        {
            int b = _schedule.BufferNamed(name);
            if (b < 0)
                throw new ArgumentException($"{_schedule.Name} has no buffer '{name}' (it has {string.Join(", ", Enumerable.Range(0, _schedule.ProgramBufferCount).Select(x => _schedule.Buffers[x].Name))})", nameof(name));
            return b;
        }

        /// <summary>The executor's copy of a scalar or row/column state, checked against <paramref name="length"/>.</summary>
        private Span<float> HostState(int b, string name, int length)
        {
            var shape = _schedule.Buffers[b].Shape;
            var values = shape == StateShape.Scalar
                ? _executor.Scalars(0).Slice(_schedule.ScalarBuffers.AsImmutableArray().IndexOf(b), 1)
                : _executor.VectorState(0, b).AsSpan();
            if (length != values.Length)
            {
                string unit = shape switch { StateShape.Row => "rows", StateShape.Column => "columns", _ => "value" };
                throw new ArgumentException($"'{name}' holds {values.Length} {unit}, got {length}", nameof(name));
            }
            return values;
        }

        /// <inheritdoc/>
        public void Dispose() => _backend.Dispose();
    }
}
