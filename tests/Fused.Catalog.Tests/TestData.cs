using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Catalog.Tests
{
    /// <summary>Seeded random inputs.</summary>
    public static class TestData
    {
        /// <summary>A stable seed from the parts of a test case (Fused.Testing's, which users get too).</summary>
        public static int Seed(params object[] parts) => Fused.Testing.TestInputs.Seed(parts);

        /// <summary>N(0,1)·scale with per-element magnitudes e^U(−1,1) (Fused.Testing's).</summary>
        public static float[] Gaussian(Random r, int n, double scale) => Fused.Testing.TestInputs.Gaussian(r, n, scale);

        public static double[] Widen(float[] a) => a.Select(x => (double)x).ToArray();
    }

    /// <summary>Worst errors seen per rule, for the report printed by the tests.</summary>
    public static class ErrorLog
    {
        private static readonly ConcurrentDictionary<string, double> Worst = new ConcurrentDictionary<string, double>();

        public static void Record(string key, double value) =>
            Worst.AddOrUpdate(key, value, (_, old) => Math.Max(old, value));

        public static double Get(string key) => Worst.TryGetValue(key, out var v) ? v : 0.0;

        public static IEnumerable<KeyValuePair<string, double>> All => Worst.OrderBy(kv => kv.Key);
    }
}
