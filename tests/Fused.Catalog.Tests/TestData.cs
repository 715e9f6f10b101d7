using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Fused.Catalog.Tests
{
    /// <summary>Seeded random inputs.</summary>
    public static class TestData
    {
        /// <summary>A stable seed from the parts of a test case (string.GetHashCode is randomised per process).</summary>
        public static int Seed(params object[] parts)
        {
            unchecked
            {
                uint h = 2166136261;
                foreach (var b in Encoding.UTF8.GetBytes(string.Join("|", parts)))
                {
                    h ^= b;
                    h *= 16777619;
                }
                return (int)(h & 0x7FFFFFFF);
            }
        }

        public static double Normal(Random r)
        {
            double u1 = 1.0 - r.NextDouble(), u2 = r.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }

        /// <summary>N(0,1)·scale, each element also scaled by e^U(−1,1) so magnitudes vary within a buffer.</summary>
        public static float[] Gaussian(Random r, int n, double scale)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)(Normal(r) * scale * Math.Exp(2 * r.NextDouble() - 1));
            return a;
        }

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
