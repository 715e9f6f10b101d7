using Fused.Ir;
using Fused.Ir.Emit;

namespace Fused.Generator.Model
{
    /// <summary>
    /// Everything the emitter needs for one rule: where its class is and its plan. Plain equatable
    /// data — no symbols, syntax, compilation or locations — so unchanged rules stay cached.
    /// </summary>
    internal sealed record RuleSpec(RuleClassInfo Class, KernelPlan Plan, string HintName);

    /// <summary>What parsing one [Optimizer] class gives: a spec when it is valid, and its diagnostics.</summary>
    internal sealed record ParseResult(RuleSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics);
}
