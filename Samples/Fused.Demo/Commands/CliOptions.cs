using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Fused.Demo.Commands
{
    /// <summary>
    /// Range-checked options. The value is parsed and checked in one custom parser, so text that is not a number,
    /// a number outside the type's range and a number outside the option's range are all one parse error naming the
    /// option and the range (a validator that reads the value of an option that failed to parse throws instead).
    /// </summary>
    internal static class CliOptions
    {
        /// <summary>Most worker threads any command accepts.</summary>
        public const int MaxThreads = 1024;

        public static Option<int> Int(string name, string description, int defaultValue, int min, int max = int.MaxValue) =>
            new Option<int>(name)
            {
                Description = description,
                DefaultValueFactory = _ => defaultValue,
                CustomParser = r => ParseInt(r, name, min, max) ?? defaultValue,
            };

        public static Option<int?> OptionalInt(string name, string description, int min, int max = int.MaxValue) =>
            new Option<int?>(name)
            {
                Description = description,
                CustomParser = r => ParseInt(r, name, min, max),
            };

        public static Option<double> Double(string name, string description, double defaultValue, double minExclusive, double max) =>
            new Option<double>(name)
            {
                Description = description,
                DefaultValueFactory = _ => defaultValue,
                CustomParser = r =>
                {
                    string text = Token(r);
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > minExclusive && value <= max)
                        return value;
                    r.AddError($"{name} must be a number above {minExclusive.ToString(CultureInfo.InvariantCulture)} and at most {max.ToString(CultureInfo.InvariantCulture)}, got '{text}'.");
                    return defaultValue;
                },
            };

        private static int? ParseInt(ArgumentResult r, string name, int min, int max)
        {
            string text = Token(r);
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
                return value;
            string range = max == int.MaxValue ? $"at least {min}" : $"from {min} to {max}";
            r.AddError($"{name} must be a whole number {range}, got '{text}'.");
            return null;
        }

        private static string Token(ArgumentResult r) => r.Tokens.Count == 0 ? "" : r.Tokens[r.Tokens.Count - 1].Value;
    }
}
