using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// The multi-pass catalog rules (whole-tensor Mean / Norm / Rms) run by the CPU runner against the
    /// float64 references of <see cref="MultiPassReferences"/>, step by step with teacher forcing (the
    /// kernel's float32 buffers are widened into the reference before every step), with the tolerance of
    /// <see cref="ReferenceTests"/>: |got − ref| ≤ 1e-6·(|ref| + rms(ref buffer) + |in|).
    /// Matrix shapes from 1×1 to several 1024-element reduction blocks with a tail; several seeds,
    /// gradient and parameter scales, default and non-default hyperparameters.
    /// <para>
    /// Cautious rules: an element whose mask decision is a near tie in the reference is not compared,
    /// and since mean(mask) rescales every element, a step with ties is compared at the mask count that
    /// best explains the kernel's output among the counts the ties allow (reference count ± the ties).
    /// Steps where that count differs from the reference's own are counted (a flipped tie).
    /// </para>
    /// </summary>
    public sealed class MultiPassReferenceTests
    {
        public const double Tolerance = ReferenceTests.Tolerance;
        public const int Steps = 10;

        private static readonly (int rows, int cols)[] Shapes = { (1, 1), (3, 7), (37, 101), (64, 1031) };
        private static readonly double[] GradScales = { 1e-4, 1e-2, 1, 30 };
        private static readonly double[] ParamScales = { 0.1, 1, 3 };

        public enum GradMode
        {
            /// <summary>Fresh Gaussian gradients every step.</summary>
            Random,
            /// <summary>Even steps take −0.05 × the previous gradient: momentum keeps its sign, so every cautious mask is 0 (the max(mean, 1e-3) floor).</summary>
            Flip,
            /// <summary>
            /// As <see cref="Flip"/>, but max(1, numel/5000) random elements keep the previous gradient: at step 2 the
            /// cautious mask is sparse but not empty (mean below 1e-3 on the larger shapes), so max(mean, 1e-3) clamps a nonzero update.
            /// </summary>
            FlipSparse,
            /// <summary>Step 1 has an all-zero gradient (LAMB: ‖r‖ = ‖λθ‖, or 0 when λ = 0).</summary>
            ZeroFirst,
        }

        private readonly ITestOutputHelper _out;

        public MultiPassReferenceTests(ITestOutputHelper output) { _out = output; }

        // ---- the rules under test ----------------------------------------------------------------

        private sealed class Outcome
        {
            /// <summary>Elements of the parameter not to compare (sign / mask near ties).</summary>
            public bool[]? Skip;
            /// <summary>Cautious rules: the per-element half, to redo θ at another mask count.</summary>
            public MultiPassReferences.CautiousStep? Cautious;
        }

        private sealed class Rule
        {
            public string Name = "";
            public FusedRule Handle = null!;
            public Func<int, float[]> Hypers = null!;
            public int HyperSets = 2;
            public bool SignBased;
            /// <summary>(reference buffers, hyper set, t) → outcome; updates the buffers in place.</summary>
            public Func<double[][], int, int, Outcome> Reference = null!;
        }

        private static readonly CautiousAdamW.Hyperparameters[] CAdamWSets =
        {
            new CautiousAdamW.Hyperparameters(),
            new CautiousAdamW.Hyperparameters { Lr = 0.01f, Beta1 = 0.8f, Beta2 = 0.99f, Eps = 1e-6f, WeightDecay = 0.1f },
        };

        private static readonly CautiousLion.Hyperparameters[] CLionSets =
        {
            new CautiousLion.Hyperparameters(),
            new CautiousLion.Hyperparameters { Lr = 0.003f, Beta1 = 0.95f, Beta2 = 0.98f, WeightDecay = 0.1f },
        };

        private static readonly Lamb.Hyperparameters[] LambSets =
        {
            new Lamb.Hyperparameters(),
            new Lamb.Hyperparameters { Lr = 0.01f, Beta1 = 0.85f, Beta2 = 0.98f, Eps = 1e-4f, WeightDecay = 0.1f },
            // λ = 0: with a zero gradient ‖r‖ = 0, the trust ratio's other "1" branch.
            new Lamb.Hyperparameters { Lr = 0.02f, Beta1 = 0.9f, Beta2 = 0.95f, Eps = 1e-8f, WeightDecay = 0f },
        };

        private static readonly TigerFull.Hyperparameters[] TigerSets =
        {
            new TigerFull.Hyperparameters(),
            new TigerFull.Hyperparameters { Lr = 0.01f, Beta = 0.9f, WeightDecay = 0.1f },
        };

        private static readonly HyperBallAdamW.Hyperparameters[] HyperBallSets =
        {
            new HyperBallAdamW.Hyperparameters(),
            new HyperBallAdamW.Hyperparameters { Lr = 0.05f, Beta1 = 0.8f, Beta2 = 0.99f, Eps = 1e-6f },
        };

        private static readonly Rule[] Rules =
        {
            new Rule
            {
                Name = "C-AdamW", Handle = CautiousAdamW.Rule, SignBased = true, Hypers = s => CAdamWSets[s].ToArray(),
                Reference = (b, s, t) =>
                {
                    var h = CAdamWSets[s];
                    var c = MultiPassReferences.CautiousAdamWMoments(b[0], b[1], b[2], b[3], h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, t);
                    return new Outcome { Cautious = c, Skip = c.Tie };
                },
            },
            new Rule
            {
                Name = "C-Lion", Handle = CautiousLion.Rule, SignBased = true, Hypers = s => CLionSets[s].ToArray(),
                Reference = (b, s, t) =>
                {
                    var h = CLionSets[s];
                    var c = MultiPassReferences.CautiousLionMoments(b[0], b[1], b[2], h.Lr, h.Beta1, h.Beta2, h.WeightDecay);
                    return new Outcome { Cautious = c, Skip = c.Tie };
                },
            },
            new Rule
            {
                Name = "LAMB", Handle = Lamb.Rule, HyperSets = 3, Hypers = s => LambSets[s].ToArray(),
                Reference = (b, s, t) =>
                {
                    var h = LambSets[s];
                    MultiPassReferences.LambRef(b[0], b[1], b[2], b[3], h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, t);
                    return new Outcome();
                },
            },
            new Rule
            {
                Name = "Tiger (full)", Handle = TigerFull.Rule, SignBased = true, Hypers = s => TigerSets[s].ToArray(),
                Reference = (b, s, t) =>
                {
                    var h = TigerSets[s];
                    var tie = new bool[b[0].Length];
                    MultiPassReferences.TigerFullRef(b[0], b[1], b[2], h.Lr, h.Beta, h.WeightDecay, tie);
                    return new Outcome { Skip = tie };
                },
            },
            new Rule
            {
                Name = "HyperBall-AdamW", Handle = HyperBallAdamW.Rule, Hypers = s => HyperBallSets[s].ToArray(),
                Reference = (b, s, t) =>
                {
                    var h = HyperBallSets[s];
                    MultiPassReferences.HyperBallAdamWRef(b[0], b[1], b[2], b[3], b[4], h.Lr, h.Beta1, h.Beta2, h.Eps, t);
                    return new Outcome();
                },
            },
        };

        private static Rule Get(string name) => Rules.Single(r => r.Name == name);

        /// <summary>Runs of one case: (seed, gradient mode, zero-initialised parameter).</summary>
        private static IEnumerable<(int seed, GradMode mode, bool zeroParam)> Runs(Rule rule)
        {
            yield return (0, GradMode.Random, false);
            yield return (1, GradMode.Random, false);
            yield return (2, GradMode.Flip, false);
            if (rule.Name.StartsWith("C-", StringComparison.Ordinal))
                yield return (3, GradMode.FlipSparse, false);
            if (rule.Name == "LAMB")
            {
                yield return (6, GradMode.Random, true);    // ‖θ‖ = 0 at step 1: trust ratio 1
                yield return (4, GradMode.ZeroFirst, false); // g = 0 at step 1: ‖r‖ = ‖λθ‖ (0 for set 2)
                yield return (5, GradMode.ZeroFirst, true);  // both norms zero at step 1
            }
        }

        public static IEnumerable<object[]> Cases()
        {
            foreach (var r in Rules)
                for (int set = 0; set < r.HyperSets; set++)
                    foreach (var (rows, cols) in Shapes)
                        yield return new object[] { r.Name, set, rows, cols };
        }

        // ---- the test ----------------------------------------------------------------------------

        private sealed class Totals
        {
            public long Compared, Ties, TieCandidates, CountFlips, NeededFlips, TieSteps, MaskFloorSteps, EmptyMaskSteps;
            public double Worst, WorstParam;
            public string WorstAt = "";
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void MatchesFloat64ReferenceStepByStep(string rule, int hyperSet, int rows, int cols)
        {
            var spec = Get(rule);
            var totals = new Totals();
            int shapeIndex = Array.IndexOf(Shapes, (rows, cols));
            foreach (var (seed, mode, zeroParam) in Runs(spec))
            {
                double gScale = GradScales[(seed + shapeIndex + hyperSet) % GradScales.Length];
                double pScale = ParamScales[(seed + 2 * shapeIndex + hyperSet) % ParamScales.Length];
                Run(spec, hyperSet, rows, cols, seed, mode, zeroParam, gScale, pScale, totals);
            }
            ErrorLog.Record("MultiPass " + rule, totals.Worst);
            _out.WriteLine($"{rule} set {hyperSet} {rows}x{cols}: {totals.Compared} values compared, worst |got-ref|/(|ref|+rms+|in|) = {totals.Worst:E3} ({totals.WorstAt}); " +
                           $"near ties skipped {totals.Ties} of {totals.TieCandidates}, steps with ties {totals.TieSteps}, mask count changed {totals.CountFlips} (needed to pass {totals.NeededFlips}), worst param {totals.WorstParam:E3}, steps with 0 < mean(mask) < 1e-3 {totals.MaskFloorSteps}, with an empty mask {totals.EmptyMaskSteps}");
            Assert.True(totals.Compared > 0);
            if (spec.SignBased)
                Assert.True(totals.Ties <= 1 + totals.TieCandidates / 1000, $"{rule}: {totals.Ties} near ties in {totals.TieCandidates} sign decisions: too many to be chance");
            if (rule.StartsWith("C-", StringComparison.Ordinal))
            {
                Assert.True(totals.EmptyMaskSteps > 0, $"{rule}: no step had an empty mask: the Flip runs no longer reach it");
                if (rows * cols > 1000)
                    Assert.True(totals.MaskFloorSteps > 0, $"{rule}: no step had 0 < mean(mask) < 1e-3: the FlipSparse runs no longer reach the floor");
            }
        }

        private static void Run(Rule spec, int hyperSet, int rows, int cols, int seed, GradMode mode, bool zeroParam,
            double gScale, double pScale, Totals totals)
        {
            var program = spec.Handle.Program;
            var names = program.Buffers.Select(b => b.Name).ToArray();
            bool[] scalar = program.Buffers.Select(b => b.Shape == StateShape.Scalar).ToArray();
            int n = rows * cols;
            var hypers = spec.Hypers(hyperSet);
            var random = new Random(TestData.Seed("MultiPass", spec.Name, hyperSet, rows, cols, seed));
            string where = $"{spec.Name} (hyper set {hyperSet}, {rows}x{cols}, seed {seed}, {mode}, grad scale {gScale:G3}, param scale {pScale:G3}{(zeroParam ? ", zero θ₀" : "")})";

            var buffers = new float[names.Length][];
            buffers[0] = zeroParam ? new float[n] : TestData.Gaussian(random, n, pScale);
            buffers[1] = new float[n];
            for (int b = 2; b < names.Length; b++) buffers[b] = new float[scalar[b] ? 1 : n];
            double initialNorm = Norm(buffers[0]);
            float radiusAtStep1 = float.NaN;

            using var pool = new WorkerPool(1);
            using var runner = new CpuRuleRunner(spec.Handle, pool);
            for (int t = 1; t <= Steps; t++)
            {
                var previous = buffers[1];
                buffers[1] = mode == GradMode.ZeroFirst && t == 1 ? new float[n]
                    : mode == GradMode.Flip && t % 2 == 0 ? previous.Select(x => -0.05f * x).ToArray()
                    : mode == GradMode.FlipSparse && t % 2 == 0 ? FlipSparse(previous, random)
                    : TestData.Gaussian(random, n, gScale);
                var before = buffers.Select(b => (float[])b.Clone()).ToArray();

                // Teacher forcing: the reference starts from the kernel's current values.
                var reference = buffers.Select(TestData.Widen).ToArray();
                var outcome = spec.Reference(reference, hyperSet, t);

                runner.Step(hypers, t, ShapeInfo.Matrix(rows, cols), buffers);
                Assert.True(before[1].AsSpan().SequenceEqual(buffers[1]), $"{where}: step {t}: the kernel wrote the gradient");

                var skip = outcome.Skip;
                if (outcome.Cautious is { } c)
                {
                    int ties = skip!.Count(x => x);
                    if (ties > 0) totals.TieSteps++;
                    int count = ChooseMaskCount(c, buffers[0], before[0], out bool flipped, out bool needed);
                    if (flipped) totals.CountFlips++;
                    if (needed) totals.NeededFlips++;
                    if (count > 0 && count < 1e-3 * n) totals.MaskFloorSteps++;
                    if (count == 0) totals.EmptyMaskSteps++;
                    reference[0] = c.Param(count);
                }

                for (int b = 0; b < names.Length; b++)
                {
                    if (b == 1) continue;
                    double rms = Rms(reference[b]);
                    for (int i = 0; i < reference[b].Length; i++)
                    {
                        if (b == 0 && skip != null)
                        {
                            totals.TieCandidates++;
                            if (skip[i]) { totals.Ties++; continue; }
                        }
                        double got = buffers[b][i], want = reference[b][i];
                        double scale = Math.Abs(want) + rms + Math.Abs(before[b][i]);
                        double err = Math.Abs(got - want);
                        if (!(err <= Tolerance * scale))
                            Assert.Fail($"{where}: step {t}, buffer '{names[b]}' element {i} (row {i / cols}, col {i % cols}): " +
                                        $"kernel {got:R}, float64 reference {want:R}, |diff| {err:E3} > {Tolerance:E0}·({Math.Abs(want):E3} + rms {rms:E3} + |in| {Math.Abs(before[b][i]):E3}); " +
                                        "inputs " + string.Join(", ", Enumerable.Range(0, names.Length).Select(k => $"{names[k]} {before[k][scalar[k] ? 0 : i]:R}")));
                        if (b == 0 && scale > 0) totals.WorstParam = Math.Max(totals.WorstParam, err / scale);
                        if (scale > 0 && err / scale > totals.Worst)
                        {
                            totals.Worst = err / scale;
                            totals.WorstAt = $"seed {seed}, step {t}, '{names[b]}'[{i}]";
                        }
                        totals.Compared++;
                    }
                }

                if (spec.Handle == HyperBallAdamW.Rule)
                {
                    // The radius is recorded at step 1 as ‖θ₀‖ and kept bit for bit; θ stays on that sphere.
                    float radius = buffers[4][0];
                    if (t == 1)
                    {
                        radiusAtStep1 = radius;
                        Assert.True(Math.Abs(radius - initialNorm) <= Tolerance * initialNorm,
                            $"{where}: radius state {radius:R} after step 1, ‖θ₀‖ = {initialNorm:R}");
                    }
                    else
                        Assert.True(radius == radiusAtStep1, $"{where}: step {t}: radius state changed from {radiusAtStep1:R} to {radius:R}");
                    double norm = Norm(buffers[0]);
                    Assert.True(Math.Abs(norm - radiusAtStep1) <= 1e-5 * radiusAtStep1,
                        $"{where}: step {t}: ‖θ‖ = {norm:R} left the sphere of radius {radiusAtStep1:R} (relative {Math.Abs(norm - radiusAtStep1) / radiusAtStep1:E3})");
                }
            }
        }

        /// <summary>
        /// The mask count to compare a cautious step at. Without near ties it is the reference's own. With
        /// k ties the kernel may have decided any of them either way, so the count is one of
        /// (count of the non-tie ones) + 0..k: the one whose θ is closest to the kernel's over the non-tie
        /// elements is taken (the reference's own when equally close). <paramref name="needed"/>: the
        /// reference's own count would not have passed.
        /// </summary>
        private static int ChooseMaskCount(MultiPassReferences.CautiousStep c, float[] got, float[] before, out bool flipped, out bool needed)
        {
            int own = c.Count;
            flipped = needed = false;
            int ties = c.Tie.Count(x => x);
            if (ties == 0) return own;
            int fixedCount = 0;
            for (int i = 0; i < c.Mask.Length; i++) if (c.Mask[i] && !c.Tie[i]) fixedCount++;
            int best = own;
            double bestErr = ParamError(c, own, got, before);
            for (int k = 0; k <= Math.Min(ties, 64); k++)
            {
                int count = fixedCount + k;
                if (count == own) continue;
                double err = ParamError(c, count, got, before);
                if (err < bestErr) { bestErr = err; best = count; }
            }
            flipped = best != own;
            // On large tensors one count more or less moves θ by far less than float32 resolves, so the
            // choice is noise; it only matters where the reference's own count would fail.
            needed = flipped && !(ParamError(c, own, got, before) <= Tolerance);
            return best;
        }

        private static double ParamError(MultiPassReferences.CautiousStep c, int count, float[] got, float[] before)
        {
            var p = c.Param(count);
            double rms = Rms(p), worst = 0;
            for (int i = 0; i < p.Length; i++)
            {
                if (c.Tie[i]) continue;
                double scale = Math.Abs(p[i]) + rms + Math.Abs(before[i]);
                if (scale > 0) worst = Math.Max(worst, Math.Abs(got[i] - p[i]) / scale);
            }
            return worst;
        }

        private static float[] FlipSparse(float[] previous, Random random)
        {
            var g = previous.Select(x => -0.05f * x).ToArray();
            int keep = Math.Max(1, g.Length / 5000);
            for (int k = 0; k < keep; k++)
            {
                int i = random.Next(g.Length);
                g[i] = previous[i];
            }
            return g;
        }

        private static double Norm(float[] a)
        {
            double s = 0;
            foreach (var x in a) s += (double)x * x;
            return Math.Sqrt(s);
        }

        private static double Rms(double[] a)
        {
            if (a.Length == 0) return 0;
            double s = 0;
            foreach (var x in a) s += x * x;
            return Math.Sqrt(s / a.Length);
        }
    }
}
