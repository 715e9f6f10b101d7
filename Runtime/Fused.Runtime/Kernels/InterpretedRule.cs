using System;
using Fused.Execution;
using Fused.Ir;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// A <see cref="FusedRule"/> for a program built at run time (the search, tools): planned and lowered here, its
    /// passes run by the <see cref="PassInterpreter"/>. Runs on every backend a generated rule runs on and gives the
    /// generated kernels' results bit for bit.
    /// </summary>
    public sealed class InterpretedRule : FusedRule
    {
        private readonly string _irSource;
        private readonly KernelSchedule _schedule;
        private readonly InterpretedKernels _kernels;

        /// <summary>A rule built at run time from <paramref name="program"/>: planned here and run by the column interpreter.</summary>
        public InterpretedRule(RuleProgram program)
        {
            Verifier.ThrowIfInvalid(program);
            Name = program.Name;
            _irSource = IrText.Write(program);
            _schedule = ScheduleLowering.Lower(Planner.Plan(program));
            _kernels = new InterpretedKernels(_schedule);
        }

        /// <inheritdoc/>
        public override string Name { get; }
        /// <inheritdoc/>
        public override string IrSource => _irSource;

        /// <inheritdoc/>
        protected override KernelSchedule LoadSchedule() => _schedule;

        /// <inheritdoc/>
        public override void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials)
            => _kernels.RunPass(pass, uniforms, buffers, partials);
    }
}
