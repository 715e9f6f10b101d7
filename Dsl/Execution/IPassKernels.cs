using System;
using System.Linq;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// The element passes of a rule as something to call over a range: generated kernels (a rule's <c>RunPass</c>) or the
    /// interpreter (<see cref="InterpretedKernels"/>). Host backends run either.
    /// </summary>
    public interface IPassKernels
    {
        /// <summary>
        /// Runs pass <paramref name="pass"/> over <paramref name="buffers"/> (the schedule's kernel buffers sliced to one
        /// range). With reductions, writes one partial per block of <see cref="Reduction.BlockSize"/> elements and
        /// reduction, block-major, into <paramref name="partials"/>; the range must start on a block boundary.
        /// </summary>
        void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials);
    }

    /// <summary>Every pass of a schedule through the <see cref="PassInterpreter"/>.</summary>
    public sealed class InterpretedKernels : IPassKernels
    {
        private readonly PassInterpreter[] _passes;

        /// <summary>Interprets the element passes of <paramref name="schedule"/> (one <see cref="PassInterpreter"/> per pass).</summary>
        public InterpretedKernels(KernelSchedule schedule)
        {
            _passes = schedule.Passes.Select(p => new PassInterpreter(schedule, p)).ToArray();
        }

        /// <inheritdoc/>
        public void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials)
            => _passes[pass].Run(uniforms, buffers, partials);
    }
}
