using System;
using System.Linq;
using Fused.Runtime.Matrix;
using MathNet.Numerics.LinearAlgebra;
using Xunit;

namespace Fused.Runtime.Tests.Matrix
{
    public class NewtonSchulzTests
    {
        // The seed's muon_step coefficients, typed independently of the library's constant.
        private static readonly (double A, double B, double C)[] Jordan = { (3.4445, -4.7750, 2.0315) };

        // Muon's NS5 maps normalised singular values in [0.002, 1] into [0.6818, 1.2024] (scalar composite, float64);
        // the band below is that, rounded outward.
        private const double BandLow = 0.68;
        private const double BandHigh = 1.21;

        private static NewtonSchulzOptions Plain(NewtonSchulzCoefficients[]? schedule = null, int steps = 5)
            => new NewtonSchulzOptions(steps, schedule, useSymmetricProducts: false, gramAspectRatioThreshold: double.PositiveInfinity);

        private static float[] Run(float[] g, int rows, int cols, NewtonSchulzOptions options)
        {
            var result = new float[g.Length];
            NewtonSchulz.Orthogonalize(g, rows, cols, result, options, new MatrixWorkspace());
            return result;
        }

        /// <summary>Inputs whose normalised singular values all lie in [0.002, 1]: random non-square, and skewed (κ = 100) spectra.</summary>
        public static TheoryData<string, int, int> WellSpreadInputs()
        {
            var data = new TheoryData<string, int, int>();
            foreach ((int r, int c) in new[] { (32, 64), (64, 32), (37, 53), (53, 37), (40, 160), (160, 40), (24, 200) })
            {
                data.Add("random", r, c);
            }

            foreach ((int r, int c) in new[] { (48, 48), (37, 53), (53, 37), (30, 150), (150, 30), (1, 17) })
            {
                data.Add("skewed", r, c);
            }

            return data;
        }

        private static float[] Input(string kind, int rows, int cols)
        {
            var random = new Random((rows * 1000) + cols + kind.Length);
            return kind == "random" ? Reference.Gaussian(random, rows * cols, 0.02) : Reference.SkewedSpectrum(random, rows, cols, 100);
        }

        private static double MinNormalisedSigma(float[] g, int rows, int cols)
        {
            double[] s = Reference.SingularValues(g, rows, cols);
            return s.Min() / Math.Sqrt(s.Sum(x => x * x));
        }

        private static bool InBand(float[] x, int rows, int cols, out string detail)
        {
            if (x.Any(v => !float.IsFinite(v)))
            {
                detail = "output contains NaN or infinity";
                return false;
            }

            double[] s = Reference.SingularValues(x, rows, cols);
            detail = $"σ ∈ [{s.Min():F4}, {s.Max():F4}]";
            return s.All(v => v >= BandLow && v <= BandHigh);
        }

        [Theory]
        [MemberData(nameof(WellSpreadInputs))]
        public void Muon_NS5_puts_singular_values_in_band_and_matches_the_svd_prediction(string kind, int rows, int cols)
        {
            float[] g = Input(kind, rows, cols);
            Assert.True(MinNormalisedSigma(g, rows, cols) >= 0.002, "input not in the band's domain; test set-up is wrong");

            foreach (NewtonSchulzOptions options in new[] { Plain(), NewtonSchulzOptions.Default })
            {
                float[] x = Run(g, rows, cols, options);
                Assert.True(InBand(x, rows, cols, out string detail), detail);

                // Same directions as G, singular values mapped by the scalar quintic.
                double error = Reference.RelativeError(x, Reference.NewtonSchulzPrediction(g, rows, cols, Jordan, 5));
                Assert.True(error <= 2e-3, $"relative error to U·f(Σ)·Vᵀ = {error}");
            }
        }

        [Fact]
        public void Muon_NS5_is_not_the_exact_polar_factor_which_is_why_the_polar_check_uses_a_converging_schedule()
        {
            // Documents the seed's "to ~5 decimal places" claim as false: NS5 leaves singular values in ~[0.68, 1.2].
            float[] g = Input("random", 32, 64);
            float[] x = Run(g, 32, 64, NewtonSchulzOptions.Default);
            double polarError = Reference.RelativeError(x, Reference.PolarFactor(g, 32, 64));
            Assert.InRange(polarError, 0.02, 0.3);
        }

        [Theory]
        [MemberData(nameof(WellSpreadInputs))]
        public void Polar_Express_reaches_the_svd_polar_factor_within_1e_2(string kind, int rows, int cols)
        {
            float[] g = Input(kind, rows, cols);
            foreach (NewtonSchulzOptions options in new[] { NewtonSchulzOptions.PolarExpress(false, double.PositiveInfinity), NewtonSchulzOptions.PolarExpress() })
            {
                float[] x = Run(g, rows, cols, options);
                double error = Reference.RelativeError(x, Reference.PolarFactor(g, rows, cols));
                Assert.True(error <= 1e-2, $"relative Frobenius error to U·Vᵀ = {error}");
            }
        }

        [Fact]
        public void Polar_Express_scalar_composite_maps_0_001_to_1_onto_1()
        {
            (double, double, double)[] schedule = NewtonSchulzSchedules.PolarExpress().Select(c => (c.A, c.B, c.C)).ToArray();
            for (double x = 1e-3; x <= 1.0; x *= 1.01)
            {
                double y = Reference.ComposeScalar(x, schedule, 8);
                Assert.InRange(y, 0.999, 1.001);
            }
        }

        [Theory]
        [InlineData(3.4445, 4.7750, 2.0315)] // sign of b flipped
        [InlineData(1.5, -0.5, 0.0)] // cubic Newton-Schulz: converges, but far too slowly in five steps
        [InlineData(3.4445, -4.7750, -2.0315)] // sign of c flipped
        public void Wrong_coefficients_fail_the_same_checks(double a, double b, double c)
        {
            var wrong = new[] { new NewtonSchulzCoefficients(a, b, c) };
            foreach ((string kind, int rows, int cols) in new[] { ("random", 37, 53), ("skewed", 48, 48), ("random", 160, 40) })
            {
                float[] g = Input(kind, rows, cols);
                float[] x = Run(g, rows, cols, Plain(wrong));
                Assert.False(InBand(x, rows, cols, out _), $"{kind} {rows}x{cols}: band check passed with wrong coefficients");
                double predictionError = Reference.RelativeError(x, Reference.NewtonSchulzPrediction(g, rows, cols, Jordan, 5));
                Assert.False(predictionError <= 2e-3, "prediction check passed with wrong coefficients");

            }

            // The polar check, at Polar Express's eight steps, on the ill-conditioned input (where a slow but
            // legitimate schedule such as cubic Newton-Schulz cannot have converged either).
            float[] skewed = Input("skewed", 48, 48);
            float[] polar = Run(skewed, 48, 48, Plain(wrong, 8));
            double polarError = Reference.RelativeError(polar, Reference.PolarFactor(skewed, 48, 48));
            Assert.False(polarError <= 1e-2, $"polar check passed with wrong coefficients ({polarError})");
        }

        [Fact]
        public void A_corrupted_polar_express_step_fails_the_polar_check()
        {
            NewtonSchulzCoefficients[] schedule = NewtonSchulzSchedules.PolarExpress();
            schedule[3] = schedule[3] with { B = -schedule[3].B };
            float[] g = Input("skewed", 48, 48);
            float[] x = Run(g, 48, 48, new NewtonSchulzOptions(8, schedule));
            Assert.False(Reference.RelativeError(x, Reference.PolarFactor(g, 48, 48)) <= 1e-2);
        }

        [Theory]
        [InlineData(64, 256)]
        [InlineData(256, 64)]
        [InlineData(37, 53)]
        [InlineData(53, 37)]
        [InlineData(40, 200)]
        [InlineData(64, 64)]
        [InlineData(1, 9)]
        public void Symmetric_and_Gram_variants_equal_plain_iteration(int rows, int cols)
        {
            var random = new Random(rows + (cols * 3));
            float[] g = Reference.Gaussian(random, rows * cols);
            foreach (NewtonSchulzCoefficients[]? schedule in new[] { null, NewtonSchulzSchedules.PolarExpress() })
            {
                int steps = schedule == null ? 5 : 8;
                float[] plain = Run(g, rows, cols, new NewtonSchulzOptions(steps, schedule, false, double.PositiveInfinity));
                float[] symmetric = Run(g, rows, cols, new NewtonSchulzOptions(steps, schedule, true, double.PositiveInfinity));
                float[] gram = Run(g, rows, cols, new NewtonSchulzOptions(steps, schedule, false, gramAspectRatioThreshold: 1));
                float[] gramSymmetric = Run(g, rows, cols, new NewtonSchulzOptions(steps, schedule, true, gramAspectRatioThreshold: 1));
                Assert.True(NewtonSchulz.UsesGramVariant(rows, cols, new NewtonSchulzOptions(gramAspectRatioThreshold: 1)));
                Assert.True(Reference.RelativeError(symmetric, plain) <= 1e-3, $"symmetric vs plain: {Reference.RelativeError(symmetric, plain)}");
                Assert.True(Reference.RelativeError(gram, plain) <= 1e-3, $"gram vs plain: {Reference.RelativeError(gram, plain)}");
                Assert.True(Reference.RelativeError(gramSymmetric, plain) <= 1e-3, $"gram+symmetric vs plain: {Reference.RelativeError(gramSymmetric, plain)}");
            }
        }

        [Fact]
        public void Gram_variant_is_chosen_from_aspect_ratio_four_by_default()
        {
            Assert.True(NewtonSchulz.UsesGramVariant(1024, 4096, NewtonSchulzOptions.Default));
            Assert.True(NewtonSchulz.UsesGramVariant(4096, 1024, NewtonSchulzOptions.Default));
            Assert.False(NewtonSchulz.UsesGramVariant(1024, 4095, NewtonSchulzOptions.Default));
            Assert.False(NewtonSchulz.UsesGramVariant(4096, 4096, NewtonSchulzOptions.Default));
        }

        [Fact]
        public void BFloat16_option_stays_close_to_fp32_and_in_band()
        {
            float[] g = Input("random", 64, 128);
            float[] fp32 = Run(g, 64, 128, Plain());
            float[] bf16 = Run(g, 64, 128, new NewtonSchulzOptions(useSymmetricProducts: false, gramAspectRatioThreshold: double.PositiveInfinity, roundToBFloat16: true));
            double difference = Reference.RelativeError(bf16, fp32);
            Assert.True(difference is > 0 and <= 3e-2, $"bf16 vs fp32 relative difference {difference}");
            // Every stored value is a bfloat16: low 16 bits clear.
            Assert.All(bf16, v => Assert.Equal(0, BitConverter.SingleToInt32Bits(v) & 0xFFFF));
            Assert.True(InBand(bf16, 64, 128, out string detail), detail);
        }

        [Fact]
        public void In_place_call_equals_out_of_place()
        {
            float[] g = Input("random", 37, 53);
            foreach (int steps in new[] { 4, 5 })
            {
                var options = new NewtonSchulzOptions(steps);
                float[] expected = Run(g, 37, 53, options);
                float[] inPlace = (float[])g.Clone();
                NewtonSchulz.Orthogonalize(inPlace, 37, 53, inPlace, options, new MatrixWorkspace());
                Assert.Equal(expected, inPlace);
            }
        }

        [Fact]
        public void Zero_steps_returns_the_normalised_input_and_zero_input_returns_zero()
        {
            float[] g = { 3, 0, 0, 4 };
            float[] x = Run(g, 2, 2, new NewtonSchulzOptions(steps: 0));
            Assert.Equal(0.6, x[0], 6);
            Assert.Equal(0.8, x[3], 6);
            Assert.All(Run(new float[6], 2, 3, NewtonSchulzOptions.Default), v => Assert.Equal(0f, v));
        }

        [Fact]
        public void Bad_inputs_throw_clear_errors()
        {
            var ws = new MatrixWorkspace();
            var opts = NewtonSchulzOptions.Default;
            Assert.Contains("needs exactly 6", Assert.Throws<ArgumentException>(() => NewtonSchulz.Orthogonalize(new float[5], 2, 3, new float[6], opts, ws)).Message);
            Assert.Contains("result has 5", Assert.Throws<ArgumentException>(() => NewtonSchulz.Orthogonalize(new float[6], 2, 3, new float[5], opts, ws)).Message);
            Assert.Contains("must be positive", Assert.Throws<ArgumentException>(() => NewtonSchulz.Orthogonalize(new float[0], 0, 3, new float[0], opts, ws)).Message);
            float[] withNaN = { 1, 2, float.NaN, 4, 5, 6 };
            Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => NewtonSchulz.Orthogonalize(withNaN, 2, 3, new float[6], opts, ws)).Message);
            float[] shared = new float[12];
            Assert.Contains("partially overlaps", Assert.Throws<ArgumentException>(() => NewtonSchulz.Orthogonalize(shared.AsSpan(0, 6), 2, 3, shared.AsSpan(3, 6), opts, ws)).Message);
            Assert.Throws<ArgumentException>(() => new NewtonSchulzOptions(steps: -1));
            Assert.Throws<ArgumentException>(() => new NewtonSchulzOptions(schedule: Array.Empty<NewtonSchulzCoefficients>()));
            Assert.Throws<ArgumentException>(() => new NewtonSchulzOptions(schedule: new[] { new NewtonSchulzCoefficients(double.NaN, 0, 0) }));
            Assert.Throws<ArgumentException>(() => new NewtonSchulzOptions(gramAspectRatioThreshold: 0.5));
        }

        [Theory]
        [InlineData(48, 96, false, false)]
        [InlineData(48, 96, true, false)]
        [InlineData(48, 200, true, true)]
        [InlineData(200, 48, false, true)]
        [InlineData(256, 512, true, false)]
        public void Steady_state_call_allocates_nothing(int rows, int cols, bool symmetric, bool gram)
        {
            var options = new NewtonSchulzOptions(5, null, symmetric, gram ? 1.0 : double.PositiveInfinity);
            var random = new Random(rows);
            float[] g = Reference.Gaussian(random, rows * cols);
            float[] result = new float[rows * cols];
            var workspace = new MatrixWorkspace();
            NewtonSchulz.Orthogonalize(g, rows, cols, result, options, workspace); // warm: grows the workspace, pools, JIT

            long before = GC.GetAllocatedBytesForCurrentThread();
            NewtonSchulz.Orthogonalize(g, rows, cols, result, options, workspace);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (Blas.BackendKind == BlasBackendKind.Managed && (long)rows * cols * Math.Min(rows, cols) >= 1L << 21)
            {
                return; // The managed fallback uses Parallel.For at this size, which allocates by design (documented).
            }

            Assert.Equal(0, allocated);
        }

        [Fact]
        public void Reusing_one_workspace_across_shapes_and_variants_gives_the_same_results_as_fresh_ones()
        {
            var shared = new MatrixWorkspace();
            (int Rows, int Cols, NewtonSchulzOptions Options)[] calls =
            {
                (96, 24, NewtonSchulzOptions.Default), // Gram path, tall
                (37, 53, NewtonSchulzOptions.Default), // plain, smaller than the buffers now held
                (53, 37, Plain()),
                (96, 24, NewtonSchulzOptions.PolarExpress(true, double.PositiveInfinity)),
            };
            foreach ((int rows, int cols, NewtonSchulzOptions options) in calls)
            {
                float[] g = Reference.Gaussian(new Random(rows * cols), rows * cols);
                float[] viaShared = new float[g.Length];
                NewtonSchulz.Orthogonalize(g, rows, cols, viaShared, options, shared);
                Assert.Equal(Run(g, rows, cols, options), viaShared);
            }

            float[] h = Reference.Gaussian(new Random(1), 20 * 30);
            float[] viaThreadDefault = new float[h.Length];
            NewtonSchulz.Orthogonalize(h, 20, 30, viaThreadDefault);
            Assert.Equal(Run(h, 20, 30, NewtonSchulzOptions.Default), viaThreadDefault);
        }

        [Fact]
        public void Reserved_workspace_makes_even_the_first_call_allocation_free_apart_from_the_jit()
        {
            var workspace = new MatrixWorkspace();
            workspace.ReserveForNewtonSchulz(64, 256);
            long capacity = workspace.CapacityElements;
            float[] g = Reference.Gaussian(new Random(3), 64 * 256);
            NewtonSchulz.Orthogonalize(g, 64, 256, new float[g.Length], NewtonSchulzOptions.Default, workspace);
            Assert.Equal(capacity, workspace.CapacityElements);
        }
    }
}
