using System.Collections.Generic;

namespace Fused.Ir.Emit
{
    /// <summary>
    /// How each op renders in C#: in vector code ({V} is Vector128/256/512), in scalar float code,
    /// and in the float64 uniform prologue. Operands are always plain names or literals, so a template
    /// may use one twice. An op without an entry cannot be emitted: <see cref="Get"/> throws.
    /// Booleans are all-bits lane masks in vector code, bool in scalar code, 1.0/0.0 in the prologue.
    /// </summary>
    public static class CSharpRenderTable
    {
        /// <summary>How one op is written in the emitted C#: on vector lanes, on floats, and in the float64 uniform code.</summary>
        public sealed record Templates(string Vector, string Scalar, string Uniform);

        private const string KM = "global::Fused.Runtime.Kernels.KernelMath";
        private const string SM = "global::Fused.Ir.ScalarMath";
        private const string M = "global::System.Math";

        private static readonly Dictionary<Op, Templates> Table = new Dictionary<Op, Templates>
        {
            [Op.Neg] = new Templates("-{0}", "-{0}", "-{0}"),
            [Op.Abs] = new Templates("{V}.Abs({0})", "global::System.MathF.Abs({0})", M + ".Abs({0})"),
            [Op.Sign] = new Templates(KM + ".Sign({0})", SM + ".Sign({0})", "({0} > 0 ? 1.0 : ({0} < 0 ? -1.0 : {0}))"),
            [Op.Sqrt] = new Templates("{V}.Sqrt({0})", "global::System.MathF.Sqrt({0})", M + ".Sqrt({0})"),
            [Op.Rsqrt] = new Templates("{V}<float>.One / {V}.Sqrt({0})", "1f / global::System.MathF.Sqrt({0})", "1.0 / " + M + ".Sqrt({0})"),
            [Op.Exp] = new Templates(KM + ".Exp({0})", SM + ".Exp({0})", M + ".Exp({0})"),
            [Op.Log] = new Templates(KM + ".Log({0})", SM + ".Log({0})", M + ".Log({0})"),
            [Op.Add] = new Templates("{0} + {1}", "{0} + {1}", "{0} + {1}"),
            [Op.Sub] = new Templates("{0} - {1}", "{0} - {1}", "{0} - {1}"),
            [Op.Mul] = new Templates("{0} * {1}", "{0} * {1}", "{0} * {1}"),
            [Op.Div] = new Templates("{0} / {1}", "{0} / {1}", "{0} / {1}"),
            [Op.Min] = new Templates(KM + ".Min({0}, {1})", "{0} < {1} ? {0} : {1}", "{0} < {1} ? {0} : {1}"),
            [Op.Max] = new Templates(KM + ".Max({0}, {1})", "{0} > {1} ? {0} : {1}", "{0} > {1} ? {0} : {1}"),
            [Op.Pow] = new Templates(KM + ".Pow({0}, {1})", SM + ".Pow({0}, {1})", M + ".Pow({0}, {1})"),
            [Op.Lt] = new Templates("{V}.LessThan({0}, {1})", "{0} < {1}", "({0} < {1} ? 1.0 : 0.0)"),
            [Op.Le] = new Templates("{V}.LessThanOrEqual({0}, {1})", "{0} <= {1}", "({0} <= {1} ? 1.0 : 0.0)"),
            [Op.Gt] = new Templates("{V}.GreaterThan({0}, {1})", "{0} > {1}", "({0} > {1} ? 1.0 : 0.0)"),
            [Op.Ge] = new Templates("{V}.GreaterThanOrEqual({0}, {1})", "{0} >= {1}", "({0} >= {1} ? 1.0 : 0.0)"),
            [Op.Eq] = new Templates("{V}.Equals({0}, {1})", "{0} == {1}", "({0} == {1} ? 1.0 : 0.0)"),
            [Op.Ne] = new Templates("~{V}.Equals({0}, {1})", "{0} != {1}", "({0} != {1} ? 1.0 : 0.0)"),
            [Op.And] = new Templates("{0} & {1}", "{0} && {1}", "({0} != 0 && {1} != 0 ? 1.0 : 0.0)"),
            [Op.Or] = new Templates("{0} | {1}", "{0} || {1}", "({0} != 0 || {1} != 0 ? 1.0 : 0.0)"),
            [Op.Not] = new Templates("~{0}", "!{0}", "({0} != 0 ? 0.0 : 1.0)"),
            [Op.Where] = new Templates("{V}.ConditionalSelect({0}, {1}, {2})", "{0} ? {1} : {2}", "({0} != 0 ? {1} : {2})"),
        };

        /// <summary>The templates of <paramref name="op"/>; an op without a row is an error.</summary>
        public static Templates Get(Op op) =>
            Table.TryGetValue(op, out var t) ? t : throw new IrException($"the C# backend has no rendering for {op}");

        /// <summary>Whether <paramref name="op"/> has a row in the table.</summary>
        public static bool Has(Op op) => Table.ContainsKey(op);
    }
}
