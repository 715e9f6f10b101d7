using System.Linq;
using System.Reflection;
using Fused.Ir;
using Xunit;

namespace Fused.Dsl.Tests
{
    /// <summary>The lowering table covers exactly the intrinsics users can call.</summary>
    public class IntrinsicLoweringTests
    {
        /// <summary>
        /// Norm and Rms called directly (one element) agree with what the kernels compute: Sqrt of the square rounded to
        /// float32, against a float64 reference of that formula. Abs(x) differed below ~1e-23 (0 vs |x|) and above ~1.8e19.
        /// </summary>
        [Fact]
        public void Norm_and_Rms_on_one_element_square_in_float32()
        {
            var random = new System.Random(16);
            var values = new System.Collections.Generic.List<float> { 1e-30f, -1e-30f, 3f, -4f, 1e20f, -1e20f, 0f, float.Epsilon };
            for (int k = 0; k < 1000; k++) values.Add((float)((random.NextDouble() - 0.5) * System.Math.Pow(10, random.Next(-30, 30))));
            foreach (float x in values)
            {
                float squared = (float)((double)x * x); // exact in double, then rounded once: the float32 square
                float expected = (float)System.Math.Sqrt(squared);
                Assert.Equal(expected, Fused.Intrinsics.Norm(x));
                Assert.Equal(expected, Fused.Intrinsics.Rms(x));
            }
            Assert.Equal(0f, Fused.Intrinsics.Norm(1e-30f));
            Assert.Equal(float.PositiveInfinity, Fused.Intrinsics.Rms(-1e20f));
        }

        [Fact]
        public void Every_intrinsic_function_and_property_has_a_lowering_and_nothing_else_does()
        {
            var functions = typeof(Intrinsics).GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Where(m => !m.IsSpecialName).Select(m => m.Name).Distinct().OrderBy(n => n).ToArray();
            Assert.Equal(functions, IntrinsicLowering.Names.OrderBy(n => n).ToArray());
            foreach (var m in typeof(Intrinsics).GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => !m.IsSpecialName))
            {
                var b = new IrBuilder();
                var args = m.GetParameters().Select((p, i) => p.ParameterType == typeof(bool) ? b.Make(Op.Lt, b.Load(2), b.Const(i)) : b.Load(i)).ToArray();
                Assert.NotNull(IntrinsicLowering.Lower(b, m.Name, args));
            }
            Assert.Null(IntrinsicLowering.Lower(new IrBuilder(), "Tanh", new[] { new IrBuilder().Const(1) }));

            var properties = typeof(Intrinsics).GetProperties(BindingFlags.Public | BindingFlags.Static).Select(p => p.Name).ToArray();
            Assert.All(properties, p => Assert.NotNull(IntrinsicLowering.ShapeScalarNamed(p)));
            Assert.Equal(3, properties.Length);
        }

        [Fact]
        public void Whole_tensor_members_are_the_ones_whose_lowering_reduces_or_reads_the_shape()
        {
            var expected = new[] { "Numel", "Rows", "Cols", "Sum", "Mean", "Norm", "Rms", "MaxAbs", "RowMean", "ColMean", "RowSum", "ColSum", "Orthogonalize", "Precondition" };
            Assert.All(expected, n => Assert.True(IntrinsicLowering.NeedsTensor(n), n));
            Assert.All(IntrinsicLowering.Names.Except(expected), n => Assert.False(IntrinsicLowering.NeedsTensor(n), n));
        }
    }
}
