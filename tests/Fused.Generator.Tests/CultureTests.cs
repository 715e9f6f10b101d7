using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Fused.Generator.Tests.Infrastructure;
using Xunit;

namespace Fused.Generator.Tests
{
    /// <summary>Generated text must not depend on the culture of the machine that builds it.</summary>
    [Collection(nameof(CultureTests))] // changes process-wide culture defaults: keep other tests off the same moment
    public sealed class CultureTests
    {
        // Negative hypers, tiny and huge constants, -0: everything a culture could spell differently.
        private static readonly SourceFile NumericRule = new("Numeric.cs", RuleSource.Rule(
            "var c = Clamp(grad, -1.5f, 2.5e-7f) * -3.4028235E+38f + -0f;\nparam -= lr * c + shift * 1e-8f;",
            "ref float param, float grad, [Hyper(-0.001)] float lr, [Hyper(-1.25e-9)] float shift", className: "Numeric"));

        /// <summary>
        /// A culture that writes numbers like sv-SE does (U+2212 minus, comma decimal point, no-break
        /// space groups), built by hand because the tests run with invariant globalization.
        /// </summary>
        private static CultureInfo HostileCulture()
        {
            var c = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            var nf = c.NumberFormat;
            nf.NegativeSign = "\u2212";
            nf.NumberDecimalSeparator = ",";
            nf.NumberGroupSeparator = "\u00A0";
            nf.PositiveInfinitySymbol = "∞";
            nf.NaNSymbol = "inte ett tal";
            nf.PercentDecimalSeparator = ",";
            nf.CurrencyDecimalSeparator = ",";
            return c;
        }

        public static IEnumerable<object[]> Cultures()
        {
            yield return new object[] { "hostile (sv-SE-like, built)" };
            foreach (var name in new[] { "sv-SE", "ar-SA", "fa-IR" }) yield return new object[] { name };
        }

        private static CultureInfo? Resolve(string name)
        {
            if (name.StartsWith("hostile", StringComparison.Ordinal)) return HostileCulture();
            try { return new CultureInfo(name); }
            catch (CultureNotFoundException) { return null; } // invariant globalization: real cultures are unavailable
        }

        private static List<(string, string)> Generate()
        {
            var files = GeneratorHarness.CatalogRules().Append(NumericRule).ToArray();
            var run = GeneratorHarness.Run(GeneratorHarness.Compile(files), trackSteps: false);
            Assert.Empty(run.Diagnostics);
            return run.Sources.OrderBy(s => s.HintName, StringComparer.Ordinal).Select(s => (s.HintName, s.Text)).ToList();
        }

        [Theory]
        [MemberData(nameof(Cultures))]
        public void Generated_output_is_identical_under_another_culture(string cultureName)
        {
            var culture = Resolve(cultureName);
            if (culture is null) return; // nothing to compare in this runtime configuration

            var invariant = WithCulture(CultureInfo.InvariantCulture, Generate);
            var other = WithCulture(culture, Generate);

            Assert.Equal(invariant.Select(s => s.Item1), other.Select(s => s.Item1));
            for (int i = 0; i < invariant.Count; i++)
                Assert.True(invariant[i].Item2 == other[i].Item2,
                    $"{invariant[i].Item1} differs under {cultureName}:\n" + Fused.Testing.LineDiff.Render(invariant[i].Item2, other[i].Item2, 20));
        }

        [Fact]
        public void Hostile_culture_really_formats_numbers_differently()
        {
            // Guards the test above: if this culture formatted like the invariant one it would prove nothing.
            Assert.NotEqual((-1.5f).ToString(CultureInfo.InvariantCulture), (-1.5f).ToString(HostileCulture()));
        }

        private static T WithCulture<T>(CultureInfo culture, Func<T> action)
        {
            var (current, ui, defaultCulture, defaultUi) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture,
                CultureInfo.DefaultThreadCurrentCulture, CultureInfo.DefaultThreadCurrentUICulture);
            try
            {
                CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = culture;
                CultureInfo.DefaultThreadCurrentCulture = CultureInfo.DefaultThreadCurrentUICulture = culture;
                return action();
            }
            finally
            {
                CultureInfo.CurrentCulture = current;
                CultureInfo.CurrentUICulture = ui;
                CultureInfo.DefaultThreadCurrentCulture = defaultCulture;
                CultureInfo.DefaultThreadCurrentUICulture = defaultUi;
            }
        }
    }
}
