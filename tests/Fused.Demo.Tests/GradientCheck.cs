using System;
using System.Collections.Generic;
using Fused.Demo.Model;
using Xunit;

namespace Fused.Demo.Tests
{
    /// <summary>Central finite differences of a float64 reference loss against a model's float32 analytic gradients.</summary>
    internal static class GradientCheck
    {
        /// <param name="loss64">The reference loss with element i of the parameter replaced by the given value.</param>
        /// <returns>How many elements were checked.</returns>
        public static long AgainstFiniteDifferences(IEnumerable<Parameter> parameters, Func<Parameter, int, double, double> loss64, double h, double absolute = 1e-4, double relative = 1e-3)
        {
            long checkedCount = 0;
            foreach (var p in parameters)
            {
                for (int i = 0; i < p.Count; i++)
                {
                    // Perturbed in float64 (the reference reads the replacement value) so the difference is not limited by float32 resolution.
                    double numeric = (loss64(p, i, p.Value[i] + h) - loss64(p, i, p.Value[i] - h)) / (2 * h);
                    double analytic = p.Gradient[i];
                    Assert.True(Math.Abs(numeric - analytic) <= absolute + relative * Math.Abs(numeric),
                        $"{p.Name}[{i}]: analytic {analytic:G6}, finite difference {numeric:G6}");
                    checkedCount++;
                }
            }

            return checkedCount;
        }
    }
}
