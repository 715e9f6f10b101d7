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
            Assert.Equal(OpenClRuleEmitter.Emit(Planner.Plan(rule.Program)), rule.OpenClSource);
        }

        /// <summary>The schedule a rule loads is the one its IR lowers to today (emit → load → identical steps).</summary>
        [Theory]
        [MemberData(nameof(Rules))]
        public void Embedded_schedule_is_the_lowered_plan_of_the_rule(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            var lowered = ScheduleLowering.Lower(Planner.Plan(rule.Program));
            Assert.Equal(lowered, rule.Schedule);
            Assert.Equal(ScheduleText.Write(lowered), ScheduleText.Write(rule.Schedule));
            Assert.Equal(lowered, ScheduleText.Parse(ScheduleText.Write(lowered)));
        }

        /// <summary>A schedule written by another format version is refused with both versions named; an edited one by its hash.</summary>
        [Fact]
        public void A_schedule_from_another_Fused_version_or_edited_is_a_clear_error()
        {
            string text = ScheduleText.Write(AdamW.Rule.Schedule);
            int newline = text.IndexOf('\n');
            string header = text.Substring(0, newline);
            var parts = header.Split(' ');
            Assert.Equal("fused-schedule", parts[0]);
            string future = "fused-schedule 999 fused 99.1.0" + text.Substring(newline);
            var e = Assert.Throws<ScheduleFormatException>(() => ScheduleText.Parse(future));
            Assert.Contains("99.1.0", e.Message);
            Assert.Contains(ScheduleText.FusedVersion, e.Message);
            Assert.Contains("AdamW", e.Message);

            var hashError = Assert.Throws<ScheduleFormatException>(() => ScheduleText.Parse(text + " ", ScheduleText.Hash(text)));
            Assert.Contains("hash", hashError.Message);
        }

        /// <summary>A rule's schedule is loaded on first use; threads racing to that first use must all get the same instance.</summary>
        [Fact]
        public void Threads_racing_to_the_first_schedule_all_get_the_same_instance()
        {
            for (int attempt = 0; attempt < 20; attempt++)
            {
                var rule = new TextRule(Adafactor.Rule.IrSource);
                const int threads = 4;
                using var start = new Barrier(threads);
                var schedules = new KernelSchedule[threads];
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    start.SignalAndWait();
                    schedules[t] = rule.Schedule;
                });
                Assert.All(schedules, p => Assert.Same(rule.Schedule, p));
            }
        }

        /// <summary>Only the IR text, lowered on load (slowly enough for threads to race).</summary>
        private sealed class TextRule : FusedRule
        {
            private readonly string _ir;
            public TextRule(string ir) => _ir = ir;
            public override string Name => "Adafactor";
            public override string IrSource => _ir;
            protected override KernelSchedule LoadSchedule() => ScheduleLowering.Lower(Planner.Plan(IrText.Parse(_ir)));
            public override void RunPass(int pass, ReadOnlySpan<float> uniforms, in Fused.Execution.KernelBuffers buffers, Span<double> partials) => throw new NotSupportedException();
        }
    }
}
