using System;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Engine;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Ilgpu.Tests
{
    /// <summary>
    /// A device backend under the schedule executor against the CPU kernels (<see cref="CpuRuleRunner"/>), bit for bit:
    /// every element buffer, scalar state and row/column state of every tensor after every step, from the same random
    /// parameters and gradients. Tensors of odd lengths share one backend, so scratch sized for the largest is reused by
    /// the smaller ones.
    /// </summary>
    public static class CpuComparison
    {
        /// <summary>
        /// Odd lengths: one element, less than a reduction lane group, one block and a bit; a matrix for the matrix passes.
        /// Shampoo takes sides up to 1024: its block and a bit is 7 rows of 149.
        /// </summary>
        public static ShapeInfo[] OddShapes(FusedRule rule)
        {
            bool shampoo = rule.Schedule.Matrices.Any(m => m.Op == MatrixOp.Precondition);
            return new[] { ShapeInfo.Vector(1), ShapeInfo.Vector(7), shampoo ? ShapeInfo.Matrix(7, 149) : ShapeInfo.Vector(1031), ShapeInfo.Matrix(37, 101) };
        }

        /// <summary>
        /// Row-wise passes (Adafactor): several rows per ColSum group (130 rows: groups of 3); rows of two reduction blocks;
        /// rows narrower than a lane group; one long row.
        /// </summary>
        public static readonly ShapeInfo[] RowShapes = { ShapeInfo.Matrix(130, 31), ShapeInfo.Matrix(3, 1031), ShapeInfo.Matrix(200, 3), ShapeInfo.Vector(1031) };

        private static readonly float[] Special = { 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-40f, -1e-40f, 1e-45f, 100f, -100f, 89f, -104f, 1f, -1f, 0.5f };

        /// <summary>The tensors for <see cref="SpecialGradient"/>: the special values, then odd lengths.</summary>
        public static readonly ShapeInfo[] SpecialShapes = { ShapeInfo.Vector(Special.Length), ShapeInfo.Vector(1031), ShapeInfo.Matrix(37, 101) };

        /// <summary>Tensor 0: ±0, ±∞, NaN, subnormals and values past Exp's range (where the polynomials take their edges); the others wide.</summary>
        public static float SpecialGradient(int tensor, int index, Random rnd) =>
            tensor == 0 ? Special[index] : (float)((rnd.NextDouble() - 0.5) * (index % 3 == 0 ? 200 : 2));

        /// <summary>Gradients of about ±0.05.</summary>
        public static float SmallGradient(int tensor, int index, Random rnd) => (float)((rnd.NextDouble() - 0.5) * 0.1);

        /// <summary>Steps <paramref name="rule"/> on <paramref name="backend"/> and on the CPU; returns how many values were compared.</summary>
        public static long MatchesCpu(FusedRule rule, IDeviceBackend backend, ShapeInfo[] shapes, int steps, Func<int, int, Random, float>? gradient = null)
        {
            gradient ??= SmallGradient;
            var schedule = rule.Schedule;
            int T = shapes.Length, B = schedule.ProgramBufferCount;
            int param = Index(schedule, "param"), grad = Index(schedule, "grad");
            var rnd = new Random(rule.Name.Length * 31 + T);
            var cpu = shapes.Select(shape => Enumerable.Range(0, B).Select(b => new float[shape.LengthOf(schedule.Buffers[b].Shape)]).ToArray()).ToArray();
            var hypers = rule.DefaultHyperparameters();

            using var pool = new WorkerPool(1);
            var cpuRunners = shapes.Select(_ => new CpuRuleRunner(rule, pool)).ToArray();
            var executor = new ScheduleExecutor(schedule, backend);
            backend.SetTensors(shapes);
            executor.SetShapes(shapes);
            for (int t = 0; t < T; t++)
            {
                for (int i = 0; i < cpu[t][param].Length; i++) cpu[t][param][i] = (float)(rnd.NextDouble() - 0.5);
                backend.Upload(t, param, cpu[t][param]);
            }
            long compared = 0;
            try
            {
                for (int step = 1; step <= steps; step++)
                {
                    for (int t = 0; t < T; t++)
                    {
                        for (int i = 0; i < cpu[t][grad].Length; i++) cpu[t][grad][i] = gradient(t, i, rnd);
                        backend.Upload(t, grad, cpu[t][grad]);
                        cpuRunners[t].Step(hypers, step, shapes[t], cpu[t]);
                    }
                    executor.Step(hypers, step);
                    for (int t = 0; t < T; t++)
                        for (int b = 0; b < B; b++)
                        {
                            var decl = schedule.Buffers[b];
                            var expected = cpu[t][b];
                            var device = new float[expected.Length];
                            if (decl.Shape == StateShape.Element) backend.Download(t, b, device);
                            else if (decl.Shape == StateShape.Scalar) device[0] = executor.Scalars(t)[schedule.ScalarBuffers.AsImmutableArray().IndexOf(b)];
                            else executor.VectorState(t, b).CopyTo(device, 0);
                            for (int i = 0; i < device.Length; i++)
                            {
                                // Bit for bit, except that any NaN equals any NaN (as in SimdBitIdentityTests): IEEE 754 leaves the
                                // payload and sign of a propagated NaN open, and the CPU's scalar head and vector body may differ there.
                                bool same = float.IsNaN(expected[i]) ? float.IsNaN(device[i])
                                    : BitConverter.SingleToInt32Bits(device[i]) == BitConverter.SingleToInt32Bits(expected[i]);
                                if (!same)
                                    Assert.Fail($"{rule.Name}, {shapes[t].Rows}x{shapes[t].Cols}, step {step}, {decl.Name}[{i}]: device {device[i]:R}, CPU {expected[i]:R}");
                                compared++;
                            }
                        }
                }
            }
            finally
            {
                foreach (var r in cpuRunners) r.Dispose();
            }
            return compared;
        }

        private static int Index(KernelSchedule schedule, string name)
        {
            for (int b = 0; b < schedule.ProgramBufferCount; b++)
                if (schedule.Buffers[b].Name == name) return b;
            throw new ArgumentException($"{schedule.Name} has no buffer '{name}'", nameof(name));
        }
    }
}
