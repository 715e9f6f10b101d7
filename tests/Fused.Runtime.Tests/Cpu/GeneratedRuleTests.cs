using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Ir;
using Fused.Ir.Emit;
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
    }
}
