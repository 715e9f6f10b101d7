using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Runtime.Execution
{
    /// <summary>
    /// The tensors a device backend of the executor holds (OpenCL, ILGPU): per tensor its shape, one device buffer per
    /// program element buffer of the schedule (parameter, gradient, element states; null for the other kernel buffers,
    /// which the backend keeps as shared scratch) and a key that names the allocation (Shampoo's statistics). A tensor
    /// whose shape is unchanged keeps its buffers and their contents when the set changes; new buffers start at zero.
    /// </summary>
    public sealed class DeviceTensors<TBuffer> : IDisposable where TBuffer : class, IDisposable
    {
        private readonly KernelSchedule _schedule;
        private readonly Func<long, TBuffer> _allocate;
        private readonly bool[] _tensorOwned;   // per kernel ordinal: a program buffer (one per tensor)
        private ShapeInfo[] _shapes = Array.Empty<ShapeInfo>();
        private TBuffer?[][] _buffers = Array.Empty<TBuffer?[]>();
        private long[] _keys = Array.Empty<long>();
        private long _nextKey;

        /// <param name="schedule">The schedule whose buffers each tensor gets.</param>
        /// <param name="allocate">A zeroed device buffer of at least one float and at least the given count.</param>
        /// <param name="maxElements">The most elements one tensor may hold on this device.</param>
        public DeviceTensors(KernelSchedule schedule, Func<long, TBuffer> allocate, long maxElements = long.MaxValue)
        {
            _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
            _allocate = allocate ?? throw new ArgumentNullException(nameof(allocate));
            _tensorOwned = schedule.KernelBuffers.Select(b => schedule.Buffers[b].IsProgramBuffer).ToArray();
            MaxElements = maxElements;
        }

        /// <summary>The element count of the largest tensor.</summary>
        public long MaxElements { get; }
        /// <summary>The shapes of the tensors, in order.</summary>
        public ShapeInfo[] Shapes => _shapes;
        /// <summary>How many tensors there are.</summary>
        public int Count => _shapes.Length;

        /// <summary>Whether kernel ordinal <paramref name="ordinal"/> is a buffer per tensor (else the backend's scratch).</summary>
        public bool IsTensorOwned(int ordinal) => _tensorOwned[ordinal];

        /// <summary>Tensor <paramref name="tensor"/>'s buffer of kernel ordinal <paramref name="ordinal"/> (null for scratch ordinals).</summary>
        public TBuffer? Buffer(int tensor, int ordinal) => _buffers[tensor][ordinal];

        /// <summary>The key of tensor <paramref name="tensor"/>'s allocation: new whenever its buffers are.</summary>
        public long Key(int tensor) => _keys[tensor];

        /// <summary>Takes the tensors to hold, in the executor's order; keeps the buffers of tensors whose shape is unchanged.</summary>
        public void Set(IReadOnlyList<ShapeInfo> shapes)
        {
            ArgumentNullException.ThrowIfNull(shapes);
            foreach (var s in shapes)
                if (s.Numel < 0 || s.Rows < 0 || s.Cols < 0 || s.Rows * s.Cols != s.Numel || s.Numel > MaxElements)
                    throw new ArgumentException(s.Numel > MaxElements
                        ? $"{_schedule.Name}: a tensor of {s.Numel} elements is more than this device backend takes ({MaxElements})"
                        : $"{_schedule.Name}: shape {s.Rows}×{s.Cols} does not hold {s.Numel} elements", nameof(shapes));
            int T = shapes.Count;
            var buffers = new TBuffer?[T][];
            var keys = new long[T];
            for (int t = 0; t < T; t++)
            {
                if (t < _shapes.Length && SameShape(shapes[t], _shapes[t]))
                {
                    buffers[t] = _buffers[t];
                    keys[t] = _keys[t];
                    _buffers[t] = null!;
                    continue;
                }
                buffers[t] = new TBuffer?[_tensorOwned.Length];
                for (int i = 0; i < _tensorOwned.Length; i++)
                    if (_tensorOwned[i]) buffers[t][i] = _allocate(Math.Max(1, shapes[t].Numel)); // no empty device buffers
                keys[t] = _nextKey++;
            }
            DisposeBuffers();
            _buffers = buffers;
            _keys = keys;
            _shapes = shapes.ToArray();
        }

        private static bool SameShape(ShapeInfo a, ShapeInfo b) => a.Numel == b.Numel && a.Rows == b.Rows && a.Cols == b.Cols;

        /// <summary>
        /// The schedule buffer named <paramref name="name"/> of tensor <paramref name="tensor"/>, checked to be an element
        /// buffer (parameter, gradient or element state) of <paramref name="length"/> = Numel floats. Scalar and row/column
        /// states are the executor's (<c>ScheduleExecutor.Scalars</c>, <c>VectorState</c>).
        /// </summary>
        public int ElementBufferNamed(int tensor, string name, int length)
        {
            if ((uint)tensor >= (uint)_shapes.Length) throw new ArgumentOutOfRangeException(nameof(tensor), tensor, $"the backend holds {_shapes.Length} tensor(s)");
            int b = _schedule.BufferNamed(name);
            if (b < 0 || _schedule.Buffers[b].Shape != StateShape.Element)
            {
                var names = _schedule.KernelBuffers.Where(x => _schedule.Buffers[x].IsProgramBuffer).Select(x => _schedule.Buffers[x].Name);
                throw new ArgumentException(b < 0
                    ? $"{_schedule.Name} has no buffer '{name}' (its element buffers: {string.Join(", ", names)})"
                    : $"'{name}' is a {_schedule.Buffers[b].Shape.ToString().ToLowerInvariant()} state of {_schedule.Name}, held by the executor, not the device", nameof(name));
            }
            long numel = _shapes[tensor].Numel;
            if (length != numel) throw new ArgumentException($"'{name}' holds {numel} elements, got {length}", nameof(name));
            return b;
        }

        private void DisposeBuffers()
        {
            foreach (var tensor in _buffers) if (tensor != null) foreach (var b in tensor) b?.Dispose();
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            DisposeBuffers();
            _buffers = Array.Empty<TBuffer?[]>();
        }
    }
}
