namespace Fused.Generator.Tests.Infrastructure
{
    /// <summary>Builds the text of a one-rule file around an Update signature and body.</summary>
    public static class RuleSource
    {
        public const string DefaultParameters = "ref float param, float grad, [Hyper(0.01)] float lr";

        /// <summary>A complete rule file; <paramref name="body"/> lines are indented into the method.</summary>
        public static string Rule(string body, string parameters = DefaultParameters, string className = "TestRule", string leadingLines = "") =>
            leadingLines +
            "using System;\n" +
            "using Fused;\n" +
            "using static Fused.Intrinsics;\n" +
            "\n" +
            "namespace Fused.Tests\n" +
            "{\n" +
            "    [Optimizer]\n" +
            $"    public static partial class {className}\n" +
            "    {\n" +
            $"        static void Update({parameters})\n" +
            "        {\n" +
            Indent(body, "            ") +
            "        }\n" +
            "    }\n" +
            "}\n";

        private static string Indent(string body, string indent)
        {
            var lines = body.Replace("\r\n", "\n").Trim('\n').Split('\n');
            var sb = new System.Text.StringBuilder();
            foreach (var line in lines) sb.Append(line.Length == 0 ? "" : indent + line.Trim()).Append('\n');
            return sb.ToString();
        }
    }
}
