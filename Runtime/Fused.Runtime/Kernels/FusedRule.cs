using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// What the runtime knows of a rule: its plan (buffers, hyperparameters, passes), how to compute
    /// its uniform values, and how to run each element pass over a range. The generator emits one per
    /// rule class (<c>MyRule.Rule</c>); <see cref="InterpretedRule"/> gives the same for programs built
    /// at run time.
    /// </summary>
    public abstract class FusedRule
    {
        private KernelPlan? _plan;

        /// <summary>The rule's name (the class name unless [Optimizer(Name = ...)] says otherwise).</summary>
        public abstract string Name { get; }

        /// <summary>The rule's IR in <see cref="IrText"/> form.</summary>
        public abstract string IrSource { get; }

        /// <summary>The plan every backend executes (parsed once from <see cref="IrSource"/>).</summary>
        public KernelPlan Plan => _plan ??= Planner.Plan(IrText.Parse(IrSource));

        public RuleProgram Program => Plan.Program;

        public int PassCount => Plan.PassCount;
        public int UniformCount => Plan.Uniforms.Count;
        public int BufferCount => Program.Buffers.Count;

        public IReadOnlyList<HyperDecl> Hyperparameters => Program.Hypers;

        public IEnumerable<BufferDecl> States => Program.Buffers.Where(b => b.Role == BufferRole.State);

        /// <summary>Default values of the hyperparameters, in declaration order.</summary>
        public float[] DefaultHyperparameters() => Program.Hypers.Select(h => (float)h.Default).ToArray();

        /// <summary>Computes the uniform values of <paramref name="level"/> (see <see cref="UniformEvaluator"/>).</summary>
        public abstract void ComputeUniforms(int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, Span<double> uniforms);

        /// <summary>Runs element pass <paramref name="pass"/> over buffers already sliced to one range.</summary>
        public abstract void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers);

        public override string ToString() => Name;
    }
}
