using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// A rule's memory and traffic facts, read off its schedule: the same numbers the generator writes into the
    /// rule's <c>Layout</c> constants (a test holds the two equal), reachable at run time from any rule.
    /// </summary>
    public sealed class RuleLayout
    {
        private readonly KernelSchedule _schedule;

        /// <summary>The layout facts of <paramref name="schedule"/>.</summary>
        public RuleLayout(KernelSchedule schedule) { _schedule = schedule; }

        private IEnumerable<ScheduleBuffer> States => _schedule.Buffers.Where(b => b.Kind == BufferKind.State);

        /// <summary>State buffers of every shape.</summary>
        public int StateBufferCount => States.Count();

        /// <summary>State buffer names in order.</summary>
        public IReadOnlyList<string> StateBufferNames => States.Select(s => s.Name).ToList();

        /// <summary>States with one value per parameter element.</summary>
        public int ElementStateBufferCount => States.Count(s => s.Shape == StateShape.Element);

        /// <summary>Bytes of optimizer state per parameter element in float32 (row, column and scalar state excluded).</summary>
        public int StateBytesPerParameter => 4 * ElementStateBufferCount;

        /// <summary>Scalar state names, in order.</summary>
        public IReadOnlyList<string> ScalarStateNames => NamesOf(StateShape.Scalar);
        /// <summary>Row state names, in order.</summary>
        public IReadOnlyList<string> RowStateNames => NamesOf(StateShape.Row);
        /// <summary>Column state names, in order.</summary>
        public IReadOnlyList<string> ColumnStateNames => NamesOf(StateShape.Column);

        /// <summary>Float32 values of per-tensor state (scalar, row and column states) for a tensor of this shape.</summary>
        public long SmallStateFloats(ShapeInfo shape) => States.Where(s => s.Shape != StateShape.Element).Sum(s => shape.LengthOf(s.Shape));

        /// <summary>Number of uniform levels.</summary>
        public int LevelCount => _schedule.LevelCount;
        /// <summary>Number of element passes.</summary>
        public int PassCount => _schedule.PassCount;

        /// <summary>Bytes read and written per parameter element per step over all passes (float32 state).</summary>
        public int BytesMovedPerParameter => _schedule.BytesPerParameter;

        /// <summary>The same with the element states in bfloat16: 2 bytes less per element state a pass reads and per one it writes.</summary>
        public int BytesMovedPerParameterBFloat16State => BytesMovedPerParameterFor(bfloat16State: true, bfloat16Gradient: false, parameterCopy: false);

        /// <summary>The same as <see cref="BytesMovedPerParameter"/> with the gradient in bfloat16: 2 bytes less per pass that reads it.</summary>
        public int BytesMovedPerParameterBFloat16Gradient => BytesMovedPerParameterFor(bfloat16State: false, bfloat16Gradient: true, parameterCopy: false);

        /// <summary>Element states and the gradient in bfloat16.</summary>
        public int BytesMovedPerParameterBFloat16StateAndGradient => BytesMovedPerParameterFor(bfloat16State: true, bfloat16Gradient: true, parameterCopy: false);

        /// <summary>What writing the parameters' bfloat16 copy adds: 2 bytes per pass that stores the parameter.</summary>
        public int BFloat16ParameterCopyBytesPerParameter => BytesMovedPerParameterFor(false, false, parameterCopy: true) - BytesMovedPerParameter;

        /// <summary>
        /// Bytes read and written per parameter element per step in one configuration: 4 per tensor-sized buffer a pass reads
        /// and per one it writes, 2 for those in bfloat16, and 2 per parameter store for the bfloat16 copy written beside it.
        /// </summary>
        public int BytesMovedPerParameterFor(bool bfloat16State, bool bfloat16Gradient, bool parameterCopy)
        {
            int bytes = _schedule.BytesPerParameter;
            for (int pass = 0; pass < _schedule.Passes.Count; pass++) bytes += PassBytesChange(pass, bfloat16State, bfloat16Gradient, parameterCopy);
            return bytes;
        }

        /// <summary>
        /// How many bytes per element pass <paramref name="pass"/> moves more (negative: fewer) than in float32 in one
        /// configuration: −2 per bfloat16 buffer it reads and per one it writes, +2 per parameter store with the copy.
        /// </summary>
        public int PassBytesChange(int pass, bool bfloat16State, bool bfloat16Gradient, bool parameterCopy)
        {
            var p = _schedule.Passes[pass];
            int bytes = 0;
            for (int b = 0; b < _schedule.Buffers.Count; b++)
            {
                var buffer = _schedule.Buffers[b];
                bool half = bfloat16State && buffer.Kind == BufferKind.State && buffer.Shape == StateShape.Element || bfloat16Gradient && buffer.Kind == BufferKind.Grad;
                if (half) bytes -= 2 * ((p.LoadsBuffer(b) ? 1 : 0) + (p.StoresBuffer(b) ? 1 : 0));
                if (parameterCopy && buffer.Kind == BufferKind.Param && p.StoresBuffer(b)) bytes += 2;
            }
            return bytes;
        }

        /// <summary>Tensor-sized float32 temporaries the runtime provides.</summary>
        public int TempBufferCount => _schedule.TempBuffers.Count;

        /// <summary>Matrix passes (Newton-Schulz, Shampoo) per step.</summary>
        public int MatrixPassCount => _schedule.Matrices.Count;

        /// <summary>Number of uniform slots.</summary>
        public int UniformCount => _schedule.UniformCount;

        /// <summary>The rule's own buffers (parameter, gradient, states).</summary>
        public int BufferCount => _schedule.ProgramBufferCount;

        private IReadOnlyList<string> NamesOf(StateShape shape) => States.Where(s => s.Shape == shape).Select(s => s.Name).ToList();
    }
}
