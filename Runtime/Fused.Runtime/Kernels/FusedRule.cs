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

        /// <summary>
        /// The OpenCL C of the rule's passes when it was emitted ahead of time (the generator's
        /// <c>OpenClSource</c> constant), so the OpenCL runner need not emit it again; null for rules built
        /// at run time, whose source the runner emits from <see cref="Plan"/>.
        /// </summary>
        public virtual string? OpenClSource => null;

        /// <summary>The plan every backend executes (parsed once from <see cref="IrSource"/>).</summary>
        /// <remarks>Planned on first use; every caller on every thread gets the same instance (the runtime keys
        /// tables by the plan's nodes, so two plans of one rule must never meet).</remarks>
        public KernelPlan Plan
        {
            get
            {
                var plan = System.Threading.Volatile.Read(ref _plan);
                if (plan != null) return plan;
                var created = Planner.Plan(IrText.Parse(IrSource));
                return System.Threading.Interlocked.CompareExchange(ref _plan, created, null) ?? created;
            }
        }

        public RuleProgram Program => Plan.Program;

        public int PassCount => Plan.PassCount;
        public int UniformCount => Plan.Uniforms.Count;
        public int BufferCount => Program.Buffers.Count;

        public IReadOnlyList<HyperDecl> Hyperparameters => Program.Hypers;

        public IEnumerable<BufferDecl> States => Program.Buffers.Where(b => b.Role == BufferRole.State);

        /// <summary>Default values of the hyperparameters, in declaration order.</summary>
        public float[] DefaultHyperparameters() => Program.Hypers.Select(h => (float)h.Default).ToArray();

        /// <summary>Uniform levels; level k is computed before the pass of level k, if there is one.</summary>
        public int LevelCount => Plan.LevelCount;

        /// <summary>Buffers with one value per element (temporaries last), in the order kernels take them.</summary>
        public int ElementBufferCount => Plan.ElementBuffers.Count;

        /// <summary>
        /// Computes the uniform values of <paramref name="level"/> in float64 (see <see cref="UniformEvaluator"/>);
        /// <paramref name="scalars"/> holds the scalar states at entry, in <see cref="KernelPlan.ScalarBuffers"/> order.
        /// </summary>
        public abstract void ComputeUniforms(int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<float> scalars, Span<double> uniforms);

        /// <summary>Writes the scalar states' new values once every level has been computed.</summary>
        public abstract void StoreScalars(ReadOnlySpan<double> uniforms, Span<float> scalars);

        /// <summary>
        /// Runs element pass <paramref name="pass"/> over the element buffers sliced to one range. A pass
        /// with reductions writes one partial per block of <see cref="Reduction.BlockSize"/> elements
        /// and reduction (block-major) into <paramref name="partials"/>; its range must start on a block boundary.
        /// </summary>
        public abstract void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials);

        public override string ToString() => Name;
    }
}
