using System;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// A <see cref="FusedRule"/> for a program built at run time: the plan's element passes run as
    /// compiled column operations (<see cref="ColumnPass"/>), uniforms through
    /// <see cref="UniformEvaluator"/>. Works with <see cref="Fused.Runtime.Cpu.CpuRuleRunner"/> and gives
    /// the generated kernels' results bit for bit.
    /// </summary>
    public sealed class InterpretedRule : FusedRule
    {
        private readonly string _name;
        private readonly string _irSource;
        private readonly ColumnPass[] _passes;
        private readonly UniformProgram _uniforms;

        public InterpretedRule(RuleProgram program)
        {
            Verifier.ThrowIfInvalid(program);
            _name = program.Name;
            _irSource = IrText.Write(program);
            // Compile from the base class's plan (parsed from IrSource) so slots agree with what runners use.
            var plan = Plan;
            _passes = plan.Passes.Select(p => new ColumnPass(plan, p)).ToArray();
            _uniforms = new UniformProgram(plan);
        }

        public override string Name => _name;
        public override string IrSource => _irSource;

        public override void ComputeUniforms(int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<float> scalars, Span<double> uniforms)
            => _uniforms.Evaluate(level, hypers, step, shape, scalars, uniforms);

        public override void StoreScalars(ReadOnlySpan<double> uniforms, Span<float> scalars)
            => UniformEvaluator.StoreScalars(Plan, uniforms, scalars);

        public override void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials)
            => _passes[pass].Run(uniforms, buffers, partials);
    }
}
