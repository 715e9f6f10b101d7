using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;

namespace Fused.Testing
{
    /// <summary>
    /// Checks that a generated rule computes what it says, on random inputs of odd lengths, over several steps:
    /// <list type="bullet">
    /// <item>every SIMD width the machine has (Vector512, Vector256, Vector128) and the scalar path, through the rule's
    /// generated kernels, against the IR interpreter: <b>bit for bit</b> (any NaN equals any NaN), after every step, every
    /// buffer — the kernels and the interpreter promise identical float32 arithmetic;</item>
    /// <item>the interpreter against the rule's <c>Update</c> method called directly as C# (one element at a time), with
    /// teacher forcing (each step starts both from the same values): within <see cref="AgreementOptions.UpdateTolerance"/>
    /// (see <see cref="FloatAgreement.WithinTolerance"/>), because the kernels compute step-dependent constants such as
    /// 1 − β^t in float64 where Update computes them in float32. Rules with reductions, shape scalars or non-element state
    /// are compared on one-element tensors only, where Update's direct meaning (Sum(x) = x, Numel = 1) is the kernels'.
    /// Rules with matrix passes (Orthogonalize, Precondition) are not compared with Update: on one float those mean
    /// something else.</item>
    /// </list>
    /// The SIMD width is chosen through the process-wide <see cref="KernelDispatch.MaxVectorBits"/>, restored afterwards;
    /// calls are serialised with each other.
    /// </summary>
    public static class RuleAgreement
    {
        private static readonly object DispatchLock = new();

        /// <summary>Checks <paramref name="rule"/> (its generated <c>X.Rule</c>) against the interpreter and its own <c>Update</c>, found by reflection.</summary>
        /// <exception cref="FusedAssertionException">A path disagrees; the message names the path, shape, step, buffer and element.</exception>
        public static AgreementReport Assert(FusedRule rule, AgreementOptions? options = null) => Check(rule, null, options);

        /// <summary>
        /// As <see cref="Assert(FusedRule, AgreementOptions?)"/>, calling <paramref name="update"/> instead of the rule's own
        /// Update (a delegate with the same parameters as the rule's Update, in the same order).
        /// </summary>
        /// <exception cref="FusedAssertionException">A path disagrees; the message names the path, shape, step, buffer and element.</exception>
        public static AgreementReport Assert(FusedRule rule, Delegate update, AgreementOptions? options = null) =>
            Check(rule, update ?? throw new ArgumentNullException(nameof(update)), options);

        private static AgreementReport Check(FusedRule rule, Delegate? update, AgreementOptions? options)
        {
            if (rule == null) throw new ArgumentNullException(nameof(rule));
            options ??= new AgreementOptions();
            options.Validate();
            var schedule = rule.Schedule;
            var hypers = options.Hyperparameters ?? rule.DefaultHyperparameters();
            if (hypers.Length != schedule.Hypers.Count)
                throw new ArgumentException($"{rule.Name} takes {schedule.Hypers.Count} hyperparameters ({string.Join(", ", schedule.Hypers.Select(h => h.Name))}), got {hypers.Length}");

            bool hasMatrix = schedule.Matrices.Count > 0;
            string updateSource = "disabled";
            DirectUpdate? direct = null;
            if (options.CompareUpdate && hasMatrix)
            {
                // Orthogonalize and Precondition are whole-matrix iterations; called on one float they mean something else.
                if (update != null) throw new ArgumentException($"{rule.Name} has matrix passes, which have no element-wise meaning: its Update cannot be compared; set CompareUpdate = false", nameof(update));
                updateSource = "the rule has matrix passes, which have no element-wise meaning";
            }
            else if (options.CompareUpdate) direct = DirectUpdate.Of(rule, update, out updateSource);
            bool elementWise = IsElementWise(rule.Program);
            var widths = Widths();
            var names = schedule.Buffers.Where(b => b.IsProgramBuffer).Select(b => b.Name).ToArray();
            long bitCompared = 0, updateCompared = 0;
            double worstUpdate = 0;

            foreach (var shape in options.Shapes)
            {
                var random = new Random(TestInputs.Seed("agreement", rule.Name, options.Seed, shape.Rows, shape.Cols));
                var initial = new float[names.Length][];
                for (int b = 0; b < names.Length; b++)
                {
                    long length = shape.LengthOf(schedule.Buffers[b].Shape);
                    initial[b] = b == 0 ? TestInputs.Gaussian(random, (int)length, 1.0) : new float[length];
                }
                var interpreter = new Interpreter(Planner.Plan(rule.Program), hasMatrix ? new MatrixPasses() : null);
                var interpreted = Clone(initial);
                var paths = widths.Select(w => (Width: w, Stepper: new TensorStepper(schedule, rule, hasMatrix ? new MatrixPasses() : null), Buffers: Clone(initial))).ToList();
                bool compareDirect = direct != null && (elementWise || shape.Numel == 1);

                for (int t = 1; t <= options.Steps; t++)
                {
                    var grad = TestInputs.Gaussian(random, (int)shape.Numel, 0.1);
                    var entry = Clone(interpreted);
                    entry[1] = grad;
                    interpreted[1] = (float[])grad.Clone();
                    interpreter.Step(hypers, t, shape, interpreted);

                    foreach (var path in paths)
                    {
                        path.Buffers[1] = (float[])grad.Clone();
                        RunAt(path.Width, () => path.Stepper.Step(hypers, t, shape, path.Buffers));
                        bitCompared += CompareBits(rule, names, interpreted, path.Buffers, $"{Describe(path.Width)} kernels vs interpreter, shape {Describe(shape)}, step {t}");
                    }

                    if (compareDirect)
                    {
                        var directBuffers = Clone(entry);
                        direct!.Step(directBuffers, hypers, t, (int)shape.Numel);
                        var (compared, worst) = CompareWithin(rule, names, interpreted, directBuffers, entry, options.UpdateTolerance,
                            $"{updateSource} called directly vs the interpreter (float32 C# vs kernels' float64 constants), shape {Describe(shape)}, step {t}");
                        updateCompared += compared;
                        worstUpdate = Math.Max(worstUpdate, worst);
                    }
                }
            }
            string updateNote = direct == null
                ? $"Update not compared ({updateSource})"
                : $"{updateCompared} values against {updateSource}{(elementWise ? "" : " (one-element tensors only)")}, worst |diff|/scale {worstUpdate:E2}";
            return new AgreementReport(rule.Name, widths.Select(Describe).ToList(), bitCompared, updateCompared, worstUpdate, updateNote);
        }

        /// <summary>True when every buffer is element-shaped and the program has no reduction, matrix pass or shape scalar.</summary>
        private static bool IsElementWise(RuleProgram program) =>
            program.Buffers.All(b => b.Shape == StateShape.Element)
            && !program.Nodes().Any(n => n.Op == Op.Shape || OpInfo.IsStageBoundary(n.Op));

        /// <summary>The vector widths this machine runs (bits), then 0 for the scalar path.</summary>
        private static List<int> Widths()
        {
            var widths = new List<int>();
            if (Avx512F.IsSupported) widths.Add(512);
            if (Vector256.IsHardwareAccelerated) widths.Add(256);
            if (Vector128.IsHardwareAccelerated) widths.Add(128);
            widths.Add(0);
            return widths;
        }

        private static void RunAt(int bits, Action run)
        {
            lock (DispatchLock)
            {
                int saved = KernelDispatch.MaxVectorBits;
                try
                {
                    KernelDispatch.MaxVectorBits = bits;
                    run();
                }
                finally
                {
                    KernelDispatch.MaxVectorBits = saved;
                }
            }
        }

        private static long CompareBits(FusedRule rule, string[] names, float[][] expected, float[][] got, string what)
        {
            long compared = 0;
            for (int b = 0; b < expected.Length; b++)
                for (int i = 0; i < expected[b].Length; i++, compared++)
                    if (!FloatAgreement.SameBits(expected[b][i], got[b][i]))
                        throw new FusedAssertionException(
                            $"{rule.Name}: {what}: buffer '{names[b]}' element {i}: interpreter {expected[b][i]:R} (0x{FloatAgreement.Bits(expected[b][i]):X8}), " +
                            $"kernels {got[b][i]:R} (0x{FloatAgreement.Bits(got[b][i]):X8}); these paths must agree bit for bit");
            return compared;
        }

        private static (long Compared, double Worst) CompareWithin(FusedRule rule, string[] names, float[][] expected, float[][] got,
            float[][] entry, double tolerance, string what)
        {
            long compared = 0;
            double worst = 0;
            for (int b = 0; b < expected.Length; b++)
            {
                if (b == 1) continue; // the gradient is read, never written
                double rms = FloatAgreement.Rms(expected[b]);
                for (int i = 0; i < expected[b].Length; i++, compared++)
                {
                    double want = expected[b][i], have = got[b][i];
                    if (!FloatAgreement.WithinTolerance(have, want, rms, entry[b][i], tolerance))
                        throw new FusedAssertionException(
                            $"{rule.Name}: {what}: buffer '{names[b]}' element {i}: kernels {want:R}, Update {have:R}, |diff| {Math.Abs(have - want):E3} > " +
                            $"{tolerance:E0}·(|kernels| + rms {rms:E3} + |in| {Math.Abs(entry[b][i]):E3}); inputs " +
                            string.Join(", ", Enumerable.Range(0, names.Length).Select(k => $"{names[k]} {entry[k][entry[k].Length == 1 ? 0 : Math.Min(i, entry[k].Length - 1)]:R}")));
                    double scale = FloatAgreement.Scale(want, rms, entry[b][i]);
                    if (scale > 0 && double.IsFinite(want)) worst = Math.Max(worst, Math.Abs(have - want) / scale);
                }
            }
            return (compared, worst);
        }

        private static float[][] Clone(float[][] buffers) => buffers.Select(b => (float[])b.Clone()).ToArray();

        private static string Describe(int bits) => bits == 0 ? "scalar" : $"Vector{bits}";

        private static string Describe(ShapeInfo shape) => shape.Rows == 1 ? $"{shape.Numel}" : $"{shape.Rows}×{shape.Cols}";
    }

    /// <summary>What <see cref="RuleAgreement"/> compared (it throws on the first disagreement, so a report means all agreed).</summary>
    /// <param name="Rule">The rule's name.</param>
    /// <param name="Paths">The kernel paths run: Vector512, Vector256, Vector128 (those this machine has) and scalar.</param>
    /// <param name="BitIdenticalValues">Values compared bit for bit between the kernel paths and the interpreter.</param>
    /// <param name="UpdateValues">Values compared with Update called directly.</param>
    /// <param name="WorstUpdateError">The largest |Update − kernels| / scale seen (below the tolerance).</param>
    /// <param name="UpdateNote">How Update was compared, or why it was not.</param>
    public sealed record AgreementReport(string Rule, IReadOnlyList<string> Paths, long BitIdenticalValues, long UpdateValues,
        double WorstUpdateError, string UpdateNote)
    {
        /// <inheritdoc/>
        public override string ToString() =>
            $"{Rule}: {string.Join(", ", Paths)} agree with the interpreter bit for bit ({BitIdenticalValues} values); {UpdateNote}";
    }
}
