using System.Globalization;

namespace Fused.Ir.Emit
{
    /// <summary>Culture-invariant literals for emitted C# (some cultures write U+2212 for minus).</summary>
    public static class CSharpLiteral
    {
        /// <summary>A C# float literal that round-trips <paramref name="value"/> exactly (NaN and infinities as float constants).</summary>
        public static string Float(float value)
        {
            if (float.IsNaN(value)) return "float.NaN";
            if (float.IsPositiveInfinity(value)) return "float.PositiveInfinity";
            if (float.IsNegativeInfinity(value)) return "float.NegativeInfinity";
            var text = value.ToString("R", CultureInfo.InvariantCulture);
            if (float.Parse(text, CultureInfo.InvariantCulture) != value) text = value.ToString("G9", CultureInfo.InvariantCulture);
            if (ScalarMath.ToBits(value) == unchecked((int)0x80000000)) text = "-0.0";
            return text + "f";
        }

        /// <summary>A C# double literal that round-trips <paramref name="value"/> exactly.</summary>
        public static string Double(double value)
        {
            if (double.IsNaN(value)) return "double.NaN";
            if (double.IsPositiveInfinity(value)) return "double.PositiveInfinity";
            if (double.IsNegativeInfinity(value)) return "double.NegativeInfinity";
            var text = value.ToString("R", CultureInfo.InvariantCulture);
            if (text.IndexOfAny(new[] { '.', 'E', 'e' }) < 0) text += ".0";
            return text;
        }

        /// <summary>A C# string literal of <paramref name="value"/>, escaped.</summary>
        public static string String(string value) =>
            "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\r", "\\r").Replace("\n", "\\n").Replace("\t", "\\t") + "\"";

        /// <summary>A verbatim string literal, for multi-line text such as the embedded IR.</summary>
        public static string Verbatim(string value) => "@\"" + value.Replace("\"", "\"\"") + "\"";

        /// <summary>A C# integer literal, culture-invariant.</summary>
        public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
