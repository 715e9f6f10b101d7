using System.Collections.Generic;

namespace Fused.Ir.Emit
{
    /// <summary>
    /// How each element-wise op renders in an ILGPU kernel: plain C# over <c>float</c> and <c>bool</c> that ILGPU
    /// compiles for every accelerator, so the device computes what <see cref="ScalarMath"/> computes on the host,
    /// bit for bit. Min/Max/Sign/Where are our ternaries (a NaN is never hidden; <c>MathF.Sign</c> throws and ILGPU
    /// refuses code that throws); Exp/Log/Pow are <see cref="ScalarMath"/>'s own polynomials, called with the
    /// device's bit casts (<c>Fused.Runtime.Kernels.DeviceBits</c>: ILGPU refuses the host's union), never the
    /// device's approximate <c>ex2</c>/<c>lg2</c>; no fused multiply-add. Booleans combine with the non-short-circuit
    /// <c>&amp;</c>/<c>|</c> (no branches). Operands are plain names or literals, so a template may use one twice. An
    /// op without an entry cannot be emitted: <see cref="Get"/> throws.
    /// </summary>
    public static class IlgpuRenderTable
    {
        private const string SM = "global::Fused.Ir.ScalarMath";
        private const string Bits = "<global::Fused.Runtime.Kernels.DeviceBits>";
        private const string MF = "global::System.MathF";

        private static readonly Dictionary<Op, string> Table = new Dictionary<Op, string>
        {
            [Op.Neg] = "-{0}",
            [Op.Abs] = MF + ".Abs({0})",
            [Op.Sign] = "{0} > 0f ? 1f : ({0} < 0f ? -1f : {0})",
            [Op.Sqrt] = MF + ".Sqrt({0})",
            [Op.Rsqrt] = "1f / " + MF + ".Sqrt({0})",
            [Op.Exp] = SM + ".Exp" + Bits + "({0})",
            [Op.Log] = SM + ".Log" + Bits + "({0})",
            [Op.Add] = "{0} + {1}",
            [Op.Sub] = "{0} - {1}",
            [Op.Mul] = "{0} * {1}",
            [Op.Div] = "{0} / {1}",
            [Op.Min] = "{0} < {1} ? {0} : {1}",
            [Op.Max] = "{0} > {1} ? {0} : {1}",
            [Op.Pow] = SM + ".Pow" + Bits + "({0}, {1})",
            [Op.Lt] = "{0} < {1}",
            [Op.Le] = "{0} <= {1}",
            [Op.Gt] = "{0} > {1}",
            [Op.Ge] = "{0} >= {1}",
            [Op.Eq] = "{0} == {1}",
            [Op.Ne] = "{0} != {1}",
            [Op.And] = "{0} & {1}",
            [Op.Or] = "{0} | {1}",
            [Op.Not] = "!{0}",
            [Op.Where] = "{0} ? {1} : {2}",
        };

        /// <summary>The ILGPU C# template of <paramref name="op"/>; an op without a row is an error.</summary>
        public static string Get(Op op) =>
            Table.TryGetValue(op, out var t) ? t : throw new IrException($"the ILGPU backend has no rendering for {op}");

        /// <summary>Whether <paramref name="op"/> has a row in the table.</summary>
        public static bool Has(Op op) => Table.ContainsKey(op);

        /// <summary>A float literal; a negative one in parentheses (so <c>-{0}</c> never reads <c>--1f</c>).</summary>
        public static string Literal(float value)
        {
            var text = CSharpLiteral.Float(value);
            return text.StartsWith("-") ? "(" + text + ")" : text;
        }
    }
}
