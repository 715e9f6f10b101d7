using Fused.Generator.Model;
using Fused.Ir.Emit;

namespace Fused.Generator
{
    /// <summary>Turns a rule spec into the generated file (the text itself comes from Dsl's emitter).</summary>
    internal static class RuleEmitter
    {
        public static string Emit(RuleSpec spec) => CSharpRuleEmitter.Emit(spec.Class, spec.Plan);
    }
}
