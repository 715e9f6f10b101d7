using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fused.Catalog;
using Fused.Ir;
using Fused.Ir.Emit;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Runtime.Tests.Cpu
{
    /// <summary>What the generator embedded at compile time agrees with what the runtime derives from the rule's IR.</summary>
    public class GeneratedRuleTests
    {
        public static IEnumerable<object[]> Rules() => CatalogRules.All.Select(r => new object[] { r.Name });

        [Theory]
        [MemberData(nameof(Rules))]
        public void Embedded_OpenCL_source_is_what_the_runtime_would_emit_from_the_plan(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            Assert.NotNull(rule.OpenClSource);
            Assert.Equal(OpenClRuleEmitter.Emit(rule.Plan), rule.OpenClSource);
        }

        /// <summary>A rule's plan is made on first use; runners key tables by its nodes, so threads racing to
        /// that first use must all get the same instance (they did not: a runner and its row-wise pass once held two).</summary>
        [Fact]
        public void Threads_racing_to_the_first_plan_all_get_the_same_instance()
        {
            for (int attempt = 0; attempt < 20; attempt++)
            {
                var rule = new TextRule(Adafactor.Rule.IrSource);
                const int threads = 4;
                using var start = new Barrier(threads);
                var plans = new KernelPlan[threads];
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    start.SignalAndWait();
                    plans[t] = rule.Plan;
                });
                Assert.All(plans, p => Assert.Same(rule.Plan, p));
            }
        }

        /// <summary>Only the IR text: enough for Plan.</summary>
        private sealed class TextRule : FusedRule
        {
            private readonly string _ir;
            public TextRule(string ir) => _ir = ir;
            public override string Name => "text";
            public override string IrSource => _ir;
            public override void ComputeUniforms(int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<float> scalars, Span<double> uniforms) => throw new NotSupportedException();
            public override void StoreScalars(ReadOnlySpan<double> uniforms, Span<float> scalars) => throw new NotSupportedException();
            public override void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials) => throw new NotSupportedException();
        }
    }
}
