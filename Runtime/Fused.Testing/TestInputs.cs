using System;
using System.Text;

namespace Fused.Testing
{
    /// <summary>Seeded random inputs for rule tests: the same case always gets the same numbers, in every process.</summary>
    public static class TestInputs
    {
        /// <summary>A stable seed from the parts of a test case (FNV-1a of their text; string.GetHashCode is randomised per process).</summary>
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

        /// <summary>A standard normal sample (Box–Muller).</summary>
        public static double Normal(Random random)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }

        /// <summary>N(0,1)·scale, each element also scaled by e^U(−1,1) so magnitudes vary within a buffer.</summary>
        public static float[] Gaussian(Random random, int length, double scale)
        {
            var a = new float[length];
            for (int i = 0; i < length; i++) a[i] = (float)(Normal(random) * scale * Math.Exp(2 * random.NextDouble() - 1));
            return a;
        }
    }
}
