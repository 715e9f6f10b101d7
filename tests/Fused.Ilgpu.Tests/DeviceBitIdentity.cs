using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Ilgpu.Tests
{
    /// <summary>
    /// One suite for every place ILGPU's device code runs here: every catalog rule, every op with special values and
    /// Adafactor's rows and columns on a device backend under the schedule executor against the CPU kernels, bit for bit
    /// (<see cref="CpuComparison"/>). A subclass says which backend.
    /// </summary>
    public abstract class DeviceBitIdentity
    {
        protected DeviceBitIdentity(ITestOutputHelper output) => Output = output;

        protected ITestOutputHelper Output { get; }

        /// <summary>The backend under test for <paramref name="rule"/>.</summary>
        protected abstract IDeviceBackend Create(FusedRule rule);

        /// <summary>What to report after a run besides the count (launches, host time).</summary>
        protected virtual string Describe(IDeviceBackend backend) => "";

        public static IEnumerable<object[]> Rules() => CatalogRules.All.Select(r => new object[] { r.Name });

        [Theory]
        [MemberData(nameof(Rules))]
        public void Catalog_rule_matches_the_CPU_kernels_bit_for_bit(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            MatchesCpu(rule, CpuComparison.OddShapes(rule), steps: 3);
        }

        [Fact]
        public void Every_op_matches_the_CPU_kernels_bit_for_bit_special_values_included()
        {
            MatchesCpu(EveryOp.Rule, CpuComparison.SpecialShapes, steps: 3, CpuComparison.SpecialGradient);
        }

        [Fact]
        public void Adafactor_rows_and_columns_match_the_CPU_kernels_bit_for_bit()
        {
            MatchesCpu(Adafactor.Rule, CpuComparison.RowShapes, steps: 3);
        }

        protected void MatchesCpu(FusedRule rule, ShapeInfo[] shapes, int steps, Func<int, int, Random, float>? gradient = null)
        {
            using var backend = Create(rule);
            long compared = CpuComparison.MatchesCpu(rule, backend, shapes, steps, gradient);
            Output.WriteLine($"{rule.Name}: {compared} values over {steps} steps, every one bit for bit{Describe(backend)}");
        }
    }
}
