using System;
using Xunit;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>Float64 comparison helpers shared by the OpenCL tests.</summary>
    internal static class Reference
    {
        /// <summary>Random floats in [-1, 1) from a fixed seed.</summary>
        public static float[] RandomFloats(int count, int seed, float low = -1f, float high = 1f)
        {
            var random = new Random(seed);
            var values = new float[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = (float)(low + (high - low) * random.NextDouble());
            }
            return values;
        }

        /// <summary>
        /// Asserts |actual − expected| ≤ relative · scale element-wise, where scale is the magnitude of the terms
        /// that produced the value (so cancellation does not make a correct result fail).
        /// </summary>
        public static void AssertClose(string what, double[] expected, float[] actual, double[] scale, double relative)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                double error = Math.Abs(actual[i] - expected[i]);
                double bound = relative * Math.Max(scale[i], 1e-30);
                if (!(error <= bound))
                {
                    Assert.Fail(what + "[" + i + "]: expected " + expected[i].ToString("R") + ", got " + actual[i].ToString("R")
                        + " (error " + error.ToString("E3") + " > bound " + bound.ToString("E3") + ")");
                }
            }
        }
    }
}
