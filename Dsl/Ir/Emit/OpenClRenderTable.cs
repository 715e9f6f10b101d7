using System.Collections.Generic;

namespace Fused.Ir.Emit
{
    /// <summary>
    /// How each element-wise op renders in OpenCL C (float32; booleans are int 0/1). Semantics follow
    /// <see cref="Semantics.Float"/>: Min/Max are selects, Sign keeps ±0 and NaN, Pow is exp(y·log x).
    /// Built-in sqrt/exp/log are within a few ulp (the program is built with correctly rounded
    /// divide and sqrt, and FP_CONTRACT off), so results agree with the C# kernels to ~1e-6 relative.
    /// An op without an entry cannot be emitted: <see cref="Get"/> throws.
    /// <para>
    /// The vector kernels (<c>floatv</c>/<c>intv</c>, see <see cref="OpenClRuleEmitter"/>) use the same
    /// templates except where a vector needs another spelling (<see cref="GetVector"/>): a vector comparison
    /// gives a mask of -1 (all bits) or 0 per lane, so booleans combine bitwise and choose with
    /// <c>select(ifFalse, ifTrue, mask)</c>, which reads each lane's top bit. The operation order is the
    /// scalar one: <c>select(b, a, a &lt; b)</c> is <c>a &lt; b ? a : b</c> lane by lane.
    /// </para>
    /// </summary>
    public static class OpenClRenderTable
    {
        private static readonly Dictionary<Op, string> Table = new Dictionary<Op, string>
        {
            [Op.Neg] = "-{0}",
            [Op.Abs] = "fabs({0})",
            [Op.Sign] = "fused_sign({0})",
            [Op.Sqrt] = "sqrt({0})",
            [Op.Rsqrt] = "1.0f / sqrt({0})",
            [Op.Exp] = "exp({0})",
            [Op.Log] = "log({0})",
            [Op.Add] = "{0} + {1}",
            [Op.Sub] = "{0} - {1}",
            [Op.Mul] = "{0} * {1}",
            [Op.Div] = "{0} / {1}",
            [Op.Min] = "{0} < {1} ? {0} : {1}",
            [Op.Max] = "{0} > {1} ? {0} : {1}",
            [Op.Pow] = "exp({1} * log({0}))",
            [Op.Lt] = "{0} < {1}",
            [Op.Le] = "{0} <= {1}",
            [Op.Gt] = "{0} > {1}",
            [Op.Ge] = "{0} >= {1}",
            [Op.Eq] = "{0} == {1}",
            [Op.Ne] = "{0} != {1}",
            [Op.And] = "{0} && {1}",
            [Op.Or] = "{0} || {1}",
            [Op.Not] = "!{0}",
            [Op.Where] = "{0} ? {1} : {2}",
        };

        /// <summary>
        /// Vector spellings that differ from <see cref="Table"/>. <c>Widen</c>: every operand must be a vector
        /// of its lane type (built-ins such as <c>select</c> do not widen a scalar), so the emitter casts
        /// uniform values and literals to <c>floatv</c>/<c>intv</c>.
        /// </summary>
        private static readonly Dictionary<Op, (string Template, bool Widen)> VectorTable = new Dictionary<Op, (string, bool)>
        {
            [Op.Sign] = ("fused_sign_v({0})", true),
            [Op.Min] = ("select({1}, {0}, {0} < {1})", true),
            [Op.Max] = ("select({1}, {0}, {0} > {1})", true),
            [Op.And] = ("{0} & {1}", false),
            [Op.Or] = ("{0} | {1}", false),
            [Op.Not] = ("~{0}", false),
            [Op.Where] = ("select({2}, {1}, {0})", true),
        };

        /// <summary>The OpenCL C template of <paramref name="op"/>; an op without a row is an error.</summary>
        public static string Get(Op op) =>
            Table.TryGetValue(op, out var t) ? t : throw new IrException($"the OpenCL backend has no rendering for {op}");

        /// <summary>The template of <paramref name="op"/> in a vector kernel, and whether its operands must all be vectors.</summary>
        public static (string Template, bool Widen) GetVector(Op op) =>
            VectorTable.TryGetValue(op, out var v) ? v : (Get(op), false);

        /// <summary>An OpenCL C float literal that round-trips <paramref name="value"/> exactly.</summary>
        public static string Literal(float value)
        {
            if (float.IsNaN(value)) return "NAN";
            if (float.IsPositiveInfinity(value)) return "INFINITY";
            if (float.IsNegativeInfinity(value)) return "(-INFINITY)";
            var text = value.ToString("G9", System.Globalization.CultureInfo.InvariantCulture);
            if (text.IndexOfAny(new[] { '.', 'E', 'e' }) < 0) text += ".0";
            if (ScalarMath.ToBits(value) == unchecked((int)0x80000000)) text = "-0.0";
            return "(" + text + "f)";
        }
    }
}
