using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Kernels;
using Fused.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// Every catalog rule against the float64 references of <see cref="References"/>, step by step
    /// with teacher forcing: before each step the kernel's float32 buffers are copied (widened) into
    /// the reference, one reference step runs, and every buffer the rule writes is compared element by
    /// element. Errors therefore never accumulate: each comparison measures one step of float32
    /// arithmetic against exact-ish arithmetic on identical inputs.
    /// </summary>
    public sealed class ReferenceTests
    {
        /// <summary>
        /// Tolerance (<see cref="FloatAgreement.WithinTolerance"/>, the bound users' agreement checks use too):
        /// |got − ref| ≤ 1e-6 · (|ref| + rms(ref buffer) + |in|), in = the element's value at entry.
        /// The |ref| term is the usual relative bound (a handful of float32 roundings, each ≤ 2^-24 ≈ 6e-8,
        /// a few ulps in all). The other terms are needed because the updates are sums of terms that can
        /// cancel: β·m + (1 − β)·g for an EMA, θ − η·u for the parameter. Float32 rounds each term to
        /// ~6e-8 of its own magnitude, so the absolute error is ~1e-7 · (|β·m| + |(1 − β)·g|), which can be
        /// arbitrarily large relative to a near-zero result. Those terms are of the order of the buffer's
        /// typical magnitude, hence rms(ref buffer). For buffers of one or a few elements the rms is no
        /// larger than the (cancelled) result itself, so the element's entry value is added too: when the
        /// terms cancel, the new term is as large as the entry term (|(1 − β)·g| ≈ β·|m|, |η·u| ≈ |θ|), so
        /// |in| bounds them. A wrong constant or formula gives errors of 1e-3 relative or more.
        /// </summary>
        public const double Tolerance = FloatAgreement.DefaultTolerance;

        public const int Steps = 25;

        private readonly ITestOutputHelper _out;

        public ReferenceTests(ITestOutputHelper output) { _out = output; }

        public static IEnumerable<object[]> Cases()
        {
            foreach (var r in Catalog.All)
                for (int set = 0; set < 2; set++)
                    foreach (var lengths in new[] { "0..70", "1001", "65537" })
                        yield return new object[] { r.Name, set, lengths };
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void MatchesFloat64ReferenceStepByStep(string rule, int hyperSet, string lengths)
        {
            var spec = Catalog.Get(rule);
            IEnumerable<int> ns = lengths == "0..70" ? Enumerable.Range(0, 71) : new[] { int.Parse(lengths) };
            double[] gradScales = { 1e-4, 1e-2, 1, 30 };
            long compared = 0, ties = 0, tieCandidates = 0;
            double worst = 0;
            foreach (int n in ns)
            {
                var random = new Random(TestData.Seed(rule, hyperSet, n));
                double gScale = gradScales[random.Next(gradScales.Length)];
                double pScale = new[] { 0.1, 1.0, 3.0 }[random.Next(3)];
                var result = Run(spec, hyperSet, n, random, gScale, pScale);
                compared += result.compared;
                ties += result.ties;
                tieCandidates += result.tieCandidates;
                worst = Math.Max(worst, result.worst);
            }
            ErrorLog.Record(rule, worst);
            _out.WriteLine($"{rule} set {hyperSet} lengths {lengths}: {compared} values compared, worst |got-ref|/(|ref|+rms+|in|) = {worst:E3}, sign ties skipped {ties} of {tieCandidates}");
            Assert.True(compared > 0 || lengths == "0..70");
            if (spec.SignBased)
                Assert.True(ties <= 1 + tieCandidates / 1000, $"{ties} near-ties in {tieCandidates} sign evaluations: too many to be chance");
        }

        private static (long compared, long ties, long tieCandidates, double worst) Run(
            RuleSpec spec, int hyperSet, int n, Random random, double gScale, double pScale)
        {
            var hypers = spec.Hypers(hyperSet);
            var names = spec.Rule.Program.Buffers.Select(b => b.Name).ToArray();
            Assert.Equal(spec.BufferCount, names.Length);

            // Kernel buffers: param, grad, states (zero, as an optimizer starts).
            var buffers = new float[spec.BufferCount][];
            buffers[0] = TestData.Gaussian(random, n, pScale);
            for (int s = 2; s < spec.BufferCount; s++) buffers[s] = new float[n];
            var tie = new bool[n];
            long compared = 0, ties = 0, candidates = 0;
            double worst = 0;

            for (int t = 1; t <= Steps; t++)
            {
                buffers[1] = TestData.Gaussian(random, n, gScale);
                var before = buffers.Select(b => (float[])b.Clone()).ToArray();

                // Teacher forcing: the reference starts from the kernel's current values.
                var reference = buffers.Select(TestData.Widen).ToArray();
                spec.Reference(reference, hyperSet, t, spec.SignBased ? tie : null);

                for (int level = 0; level < spec.Rule.PassCount; level++)
                {
                    var u = spec.Uniforms(hypers, t, n, level);
                    using var pinned = new Fused.Execution.PinnedKernelBuffers(buffers);
                    spec.Rule.RunPass(level, u, pinned.All, Span<double>.Empty);
                }

                Assert.True(before[1].AsSpan().SequenceEqual(buffers[1]), $"{spec.Name}: the kernel wrote the gradient");

                for (int b = 0; b < spec.BufferCount; b++)
                {
                    if (b == 1) continue;
                    bool signDependent = spec.SignBased && b == 0;
                    double rms = Rms(reference[b]);
                    for (int i = 0; i < n; i++)
                    {
                        if (signDependent)
                        {
                            candidates++;
                            if (tie[i]) { ties++; continue; }
                        }
                        double got = buffers[b][i], want = reference[b][i];
                        double scale = FloatAgreement.Scale(want, rms, before[b][i]);
                        double err = Math.Abs(got - want);
                        if (!FloatAgreement.WithinTolerance(got, want, rms, before[b][i], Tolerance))
                            Assert.Fail($"{spec.Name} (hyper set {hyperSet}, length {n}, grad scale {gScale:G3}): step {t}, buffer '{names[b]}' element {i}: " +
                                        $"kernel {got:R}, float64 reference {want:R}, |diff| {err:E3} > {Tolerance:E0}·({Math.Abs(want):E3} + rms {rms:E3} + |in| {Math.Abs(before[b][i]):E3}); " +
                                        "inputs " + string.Join(", ", Enumerable.Range(0, spec.BufferCount).Select(k => $"{names[k]} {before[k][i]:R}")));
                        if (scale > 0) worst = Math.Max(worst, err / scale);
                        compared++;
                    }
                }
            }
            return (compared, ties, candidates, worst);
        }

        private static double Rms(double[] a) => FloatAgreement.Rms(a);
    }
}
