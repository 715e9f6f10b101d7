using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;
using Fused.Runtime.Precision;
using Xunit;

namespace Fused.Runtime.Tests.Backends
{
    /// <summary>
    /// The behaviour every backend owes, written once and run per backend (one subclass each): every catalog rule, on
    /// one tensor and on many tensors of odd sizes (tails after every SIMD width and reduction block, rows shorter and
    /// longer than a unit of work), over several steps, at each state precision the backend supports — against the
    /// interpreter stepping each tensor on its own (the yardstick the catalog tests hold to float64 references).
    /// A backend either matches bit for bit or states its tolerance (<see cref="Tolerance"/>).
    /// </summary>
    public abstract class BackendBehaviour
    {
        /// <summary>What one run produced: per tensor, the parameter and every state widened to float32, in state order.</summary>
        public sealed record Outcome(float[][] Parameters, float[][][] States);

        /// <summary>A set of tensors: names and shapes (Rows × Cols), deterministic initial values and gradients.</summary>
        public sealed record Case(string Name, (string Name, int Rows, int Cols)[] Tensors)
        {
            public static float Initial(int tensor, int i) => (float)(0.5 * Math.Sin(0.731 * i + 1.7 * tensor + 0.3));

            public static float Gradient(int tensor, int i, long step) =>
                0.1f * (float)Math.Sin(0.013 * i * (tensor + 1) + 0.917 * step + 0.21 * tensor) + 0.01f * (float)Math.Cos(i + step);

            public override string ToString() => Name;
        }

        public const int Steps = 4;

        public static readonly Case OneTensor = new("one tensor", new[] { ("w", 37, 129) });

        public static readonly Case ManyTensors = new("many tensors", new[]
        {
            // Sides stay ≤ 1024 (Shampoo's limit without blocking); g spans two units of work with a tail.
            ("a", 1, 1), ("b", 1, 7), ("c", 3, 5), ("d", 17, 33), ("e", 1, 1021), ("f", 64, 65), ("g", 7, 1003),
        });

        public static IEnumerable<object[]> Rules() => CatalogRules.All.Select(r => new object[] { r.Name });

        /// <summary>The precisions this backend keeps element state in.</summary>
        protected virtual IEnumerable<StatePrecision> Precisions => new[] { StatePrecision.Float32 };

        /// <summary>Whether (rule, precision) is held to the interpreter on this backend (see the subclass for why not).</summary>
        protected virtual bool Supports(FusedRule rule, StatePrecision precision) => true;

        /// <summary>Runs <see cref="Steps"/> steps of <paramref name="rule"/> with its default hyperparameters over <paramref name="c"/>.</summary>
        protected abstract Outcome Run(FusedRule rule, StatePrecision precision, Case c);

        /// <summary>
        /// Null: bit-identical to the interpreter. Otherwise the largest relative distance allowed between the backend's
        /// and the interpreter's parameter movement: ‖p − p_ref‖₂ ≤ tolerance · ‖p_ref − p₀‖₂ per tensor (states likewise
        /// against their own size), with the reason in the subclass.
        /// </summary>
        protected virtual double? Tolerance(FusedRule rule, StatePrecision precision) => null;

        [Theory]
        [MemberData(nameof(Rules))]
        public void Every_rule_matches_the_interpreter_on_one_tensor(string rule) => Check(rule, OneTensor);

        [Theory]
        [MemberData(nameof(Rules))]
        public void Every_rule_matches_the_interpreter_on_many_tensors_of_odd_sizes(string rule) => Check(rule, ManyTensors);

        private void Check(string name, Case c)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            var expected = Reference(rule, c);
            foreach (var precision in Precisions.Where(p => Supports(rule, p)))
            {
                var actual = Run(rule, precision, c);
                double? tolerance = Tolerance(rule, precision);
                for (int t = 0; t < c.Tensors.Length; t++)
                {
                    string where = $"{GetType().Name}, {name}, {precision}, {c.Name}, tensor {c.Tensors[t].Name} ({c.Tensors[t].Rows}×{c.Tensors[t].Cols})";
                    var initial = Enumerable.Range(0, expected.Parameters[t].Length).Select(i => Case.Initial(t, i)).ToArray();
                    Compare(expected.Parameters[t], actual.Parameters[t], initial, tolerance, where + ", parameter");
                    for (int s = 0; s < expected.States[t].Length; s++)
                        Compare(expected.States[t][s], actual.States[t][s], new float[expected.States[t][s].Length], tolerance, where + $", state {s}");
                }
            }
        }

        private static void Compare(float[] expected, float[] actual, float[] start, double? tolerance, string where)
        {
            Assert.True(expected.Length == actual.Length, $"{where}: {actual.Length} values, expected {expected.Length}");
            if (tolerance is null)
            {
                for (int i = 0; i < expected.Length; i++)
                    if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                        Assert.Fail($"{where}[{i}] = {actual[i]:R}, interpreter {expected[i]:R}");
                return;
            }
            double distance = 0, movement = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(float.IsFinite(actual[i]) == float.IsFinite(expected[i]), $"{where}[{i}] = {actual[i]:R}, interpreter {expected[i]:R}");
                if (!float.IsFinite(expected[i])) continue;
                distance += Math.Pow((double)actual[i] - expected[i], 2);
                movement += Math.Pow((double)expected[i] - start[i], 2);
            }
            Assert.True(Math.Sqrt(distance) <= tolerance.Value * Math.Sqrt(movement) + 1e-12,
                $"{where}: distance {Math.Sqrt(distance):G4} from the interpreter, {tolerance:P1} of its movement {Math.Sqrt(movement):G4} allowed");
        }

        /// <summary>The yardstick: each tensor stepped on its own by the interpreter (float32 state).</summary>
        public static Outcome Reference(FusedRule rule, Case c)
        {
            var schedule = ScheduleLowering.Lower(Planner.Plan(rule.Program));
            var hypers = rule.DefaultHyperparameters();
            var parameters = new float[c.Tensors.Length][];
            var states = new float[c.Tensors.Length][][];
            for (int t = 0; t < c.Tensors.Length; t++)
            {
                var shape = ShapeInfo.Matrix(c.Tensors[t].Rows, c.Tensors[t].Cols);
                var buffers = BuffersFor(schedule, shape, t);
                var stepper = new TensorStepper(schedule, new InterpretedKernels(schedule), new MatrixPasses());
                for (int step = 1; step <= Steps; step++)
                {
                    for (int i = 0; i < buffers[1].Length; i++) buffers[1][i] = Case.Gradient(t, i, step);
                    stepper.Step(hypers, step, shape, buffers);
                }
                parameters[t] = buffers[0];
                states[t] = StateOrder(schedule).Select(b => buffers[b]).ToArray();
            }
            return new Outcome(parameters, states);
        }

        /// <summary>A tensor's buffers: the initial parameter, zero gradient and states.</summary>
        public static float[][] BuffersFor(KernelSchedule schedule, ShapeInfo shape, int tensor)
        {
            var buffers = Enumerable.Range(0, schedule.ProgramBufferCount).Select(b => new float[shape.LengthOf(schedule.Buffers[b].Shape)]).ToArray();
            for (int i = 0; i < buffers[0].Length; i++) buffers[0][i] = Case.Initial(tensor, i);
            return buffers;
        }

        /// <summary>States in the order the engine names them: element states, then row/column states, then scalar states.</summary>
        public static IEnumerable<int> StateOrder(KernelSchedule schedule) =>
            Enumerable.Range(0, schedule.ProgramBufferCount).Where(b => schedule.Buffers[b].Kind == BufferKind.State && schedule.Buffers[b].Shape == StateShape.Element)
                .Concat(schedule.VectorBuffers).Concat(schedule.ScalarBuffers);

        /// <summary>Runs a case through the engine built by <paramref name="configure"/> (a backend choice, threads, ...).</summary>
        public static Outcome RunEngine(FusedRule rule, StatePrecision precision, Case c, Func<OptimizerBuilder, OptimizerBuilder> configure)
        {
            var parameters = c.Tensors.Select((x, t) => Enumerable.Range(0, x.Rows * x.Cols).Select(i => Case.Initial(t, i)).ToArray()).ToArray();
            var gradients = c.Tensors.Select(x => new float[x.Rows * x.Cols]).ToArray();
            var builder = new OptimizerBuilder();
            for (int t = 0; t < c.Tensors.Length; t++) builder.AddParameter(c.Tensors[t].Name, new[] { c.Tensors[t].Rows, c.Tensors[t].Cols }, parameters[t], gradients[t]);
            builder.Route("all", _ => true, rule, g => g.State(precision)).Seed(5);
            using var optimizer = configure(builder).Build();
            for (int step = 1; step <= Steps; step++)
            {
                for (int t = 0; t < gradients.Length; t++)
                    for (int i = 0; i < gradients[t].Length; i++) gradients[t][i] = Case.Gradient(t, i, step);
                Assert.True(optimizer.Step().Applied);
            }
            var states = c.Tensors.Select(x => optimizer.StateNames(x.Name).Select(s =>
            {
                var shape = ShapeInfo.Matrix(x.Rows, x.Cols);
                var decl = rule.Schedule.Buffers.First(b => b.Name == s);
                var values = new float[shape.LengthOf(decl.Shape)];
                optimizer.ReadState(x.Name, s, values);
                return values;
            }).ToArray()).ToArray();
            return new Outcome(parameters, states);
        }
    }

    /// <summary>The interpreter's own backend, every tensor in one executor (the search's path with matrix passes too).</summary>
    public sealed class InterpreterBackendBehaviour : BackendBehaviour
    {
        protected override Outcome Run(FusedRule rule, StatePrecision precision, Case c) => RunArrays(rule, c, generated: false);

        internal static Outcome RunArrays(FusedRule rule, Case c, bool generated)
        {
            var schedule = generated ? rule.Schedule : ScheduleLowering.Lower(Planner.Plan(rule.Program));
            var backend = new ArrayBackend(schedule, generated ? rule : new InterpretedKernels(schedule), new MatrixPasses());
            var executor = new ScheduleExecutor(schedule, backend);
            var shapes = c.Tensors.Select(x => ShapeInfo.Matrix(x.Rows, x.Cols)).ToArray();
            var buffers = shapes.Select((s, t) => BuffersFor(schedule, s, t)).ToArray();
            executor.SetShapes(shapes);
            backend.SetTensors(shapes, buffers);
            var hypers = rule.DefaultHyperparameters();
            for (int step = 1; step <= Steps; step++)
            {
                for (int t = 0; t < buffers.Length; t++)
                    for (int i = 0; i < buffers[t][1].Length; i++) buffers[t][1][i] = Case.Gradient(t, i, step);
                executor.Step(hypers, step);
            }
            var states = shapes.Select((s, t) => StateOrder(schedule).Select(b =>
                schedule.Buffers[b].Shape == StateShape.Element ? buffers[t][b]
                : schedule.Buffers[b].Shape == StateShape.Scalar ? new[] { executor.Scalars(t)[schedule.ScalarBuffers.AsImmutableArray().IndexOf(b)] }
                : executor.VectorState(t, b)).ToArray()).ToArray();
            return new Outcome(buffers.Select(b => b[0]).ToArray(), states);
        }
    }

    /// <summary>Generated C# kernels on host arrays, single thread: the generated code against the interpreter.</summary>
    public sealed class GeneratedKernelsBehaviour : BackendBehaviour
    {
        protected override Outcome Run(FusedRule rule, StatePrecision precision, Case c) => InterpreterBackendBehaviour.RunArrays(rule, c, generated: true);
    }

    /// <summary>
    /// The CPU engine (pinned pool, waves, generated kernels). Float32 state is bit-identical; bf16 and 8-bit state round
    /// every step, so they are held to 5% of the parameter's movement (a sign rule may flip a few near-zero momenta).
    /// Rules with a matrix pass are compared at float32 only: Newton–Schulz lifts every singular direction of the
    /// momentum to unit size, rounding noise included, so a low-rank early momentum stored in 8 bits orthogonalises to a
    /// different matrix (measured: 30–70% of the movement apart after 4 steps) — the comparison would say nothing.
    /// </summary>
    public sealed class CpuEngineBehaviour : BackendBehaviour
    {
        protected override IEnumerable<StatePrecision> Precisions => new[] { StatePrecision.Float32, StatePrecision.BFloat16, StatePrecision.Int8Blockwise };

        protected override double? Tolerance(FusedRule rule, StatePrecision precision) => precision == StatePrecision.Float32 ? null : 0.05;

        protected override bool Supports(FusedRule rule, StatePrecision precision) => precision == StatePrecision.Float32 || rule.Schedule.Matrices.Count == 0;

        protected override Outcome Run(FusedRule rule, StatePrecision precision, Case c) => RunEngine(rule, precision, c, b => b.Threads(2));
    }
}
