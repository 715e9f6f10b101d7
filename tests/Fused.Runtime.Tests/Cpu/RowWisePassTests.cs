using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Matrix;
using Xunit;

namespace Fused.Runtime.Tests.Cpu
{
    /// <summary>Row-wise passes against a float64 reference written from the rule's formula.</summary>
    public unsafe class RowWisePassTests
    {
        [Theory]
        [InlineData(1, 7, 1)]
        [InlineData(65, 33, 1)]
        [InlineData(300, 257, 2)] // above the parallel threshold: row groups split across workers
        [InlineData(129, 1030, 2)]
        public void Column_sum_state_survives_the_passes_after_it(int rows, int cols, int threads)
        {
            var rnd = new Random(rows * 31 + cols);
            int n = rows * cols;
            var param = new float[n];
            var grad = new float[n];
            for (int i = 0; i < n; i++) { param[i] = (float)(rnd.NextDouble() - 0.5); grad[i] = (float)(rnd.NextDouble() - 0.5) * 0.1f; }
            var colSq = new float[cols];
            var expectedParam = new double[n];
            var expectedCol = new double[cols];
            const double lr = 1e-2;
            for (int j = 0; j < cols; j++)
                for (int i = 0; i < rows; i++) expectedCol[j] += (double)grad[i * cols + j] * grad[i * cols + j];
            var u = new double[n];
            double sumU2 = 0;
            for (int i = 0; i < n; i++) { u[i] = grad[i] / Math.Sqrt(expectedCol[i % cols] + 1e-12); sumU2 += u[i] * u[i]; }
            double rms = Math.Max(Math.Sqrt(sumU2 / n), 1e-12);
            for (int i = 0; i < n; i++) expectedParam[i] = param[i] - lr * u[i] / rms;

            using var pool = new WorkerPool(threads, pinThreads: false);
            using var runner = new CpuRuleRunner(ColumnSquares.Rule, pool);
            runner.Step(new[] { (float)lr }, 1, ShapeInfo.Matrix(rows, cols), param, grad, colSq);

            for (int j = 0; j < cols; j++)
                Assert.True(Math.Abs(colSq[j] - expectedCol[j]) <= 1e-6 * expectedCol[j] + 1e-30, $"colSq[{j}] = {colSq[j]:R}, expected {expectedCol[j]:R}");
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(param[i] - expectedParam[i]) <= 1e-6 * Math.Abs(expectedParam[i]) + 1e-7, $"param[{i}] = {param[i]:R}, expected {expectedParam[i]:R}");
        }
    

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        public void Every_tensor_of_a_wave_keeps_its_column_values_pinned_through_a_row_wise_pass(int threads)
        {
            // The row-wise kernels read and write each tensor's column values through raw pointers into the executor's
            // managed arrays, so every tensor's must stay pinned for the whole pass. When only the wave's last tensor's
            // were, a compacting collection mid-pass moved the others (wrong bits in CI; NaN after a resume).
            var shapes = new[] { ShapeInfo.Matrix(300, 257), ShapeInfo.Matrix(7, 13), ShapeInfo.Matrix(1, 101), ShapeInfo.Matrix(15, 7) };
            int T = shapes.Length;
            var schedule = ColumnSquares.Rule.Schedule;
            int K = schedule.KernelBuffers.Count;
            var rnd = new Random(4242 + threads);
            var param = new float[T][];
            var grad = new float[T][];
            var pointers = new nint[T * K];
            for (int t = 0; t < T; t++)
            {
                int n = checked((int)shapes[t].Numel);
                param[t] = GC.AllocateArray<float>(n, pinned: true);
                grad[t] = GC.AllocateArray<float>(n, pinned: true);
                for (int i = 0; i < n; i++) { param[t][i] = (float)(rnd.NextDouble() - 0.5); grad[t][i] = (float)(rnd.NextDouble() - 0.5) * 0.1f; }
                fixed (float* p = param[t]) pointers[t * K + 0] = (nint)p;
                fixed (float* g = grad[t]) pointers[t * K + 1] = (nint)g;
            }

            using var pool = new WorkerPool(threads, pinThreads: false);
            var kernels = new CollectingKernels(ColumnSquares.Rule, schedule);
            var backend = new VectorsSeen(new CpuBackend(schedule, kernels, pool, new MatrixPasses(), waveElements: 1 << 24)); // one wave
            kernels.Backend = backend;
            var executor = new ScheduleExecutor(schedule, backend);
            // Dead from the first row-wise kernel call on, below everything allocated after them: the control (unpinned)
            // and the executor's column values, which the collection then moves unless they are pinned.
            kernels.Spacers = Enumerable.Range(0, 256).Select(_ => new float[1024]).ToList();
            kernels.Control = new float[101];
            executor.SetShapes(shapes);
            Assert.Single(executor.WaveStarts.Skip(1)); // all four tensors in one wave
            backend.Inner.SetTensors(shapes, pointers, Enumerable.Repeat(-1L, T).ToArray());
            executor.Step(new[] { 1e-2f }, 1);

            Assert.True(kernels.Collections > 0, "no row-wise kernel call");
            Assert.True(kernels.ControlMoved, "the collection moved nothing: the test cannot tell pinned from unpinned");
            Assert.Equal(0, kernels.Moved);
            // The kernels reach param and grad only through raw pointers: without these the forced collections free them
            // mid-pass (pinned arrays do not move, but they are collected like any other; an access violation on CI).
            GC.KeepAlive(param);
            GC.KeepAlive(grad);
        }

        /// <summary>Records the executor's per-tensor vector values as it hands them to the CPU backend.</summary>
        private sealed class VectorsSeen : IScheduleBackend
        {
            public readonly CpuBackend Inner;
            public VectorValues?[] Vectors = Array.Empty<VectorValues?>();
            public VectorsSeen(CpuBackend inner) => Inner = inner;
            public long WaveElements => Inner.WaveElements;
            public void BeginWave(int first, int end) => Inner.BeginWave(first, end);
            public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step) => Inner.RunMatrix(matrix, tensor, shape, step);
            public void RunPass(PassProgram pass, int first, int end, PassArguments args) { Vectors = args.Vectors; Inner.RunPass(pass, first, end, args); }
            public void EndStep() => Inner.EndStep();
        }

        /// <summary>
        /// The rule's kernels, with a full compacting collection before every row-wise call (the first frees the spacers),
        /// counting the column-value arrays it moved.
        /// </summary>
        private sealed class CollectingKernels : IPassKernels
        {
            private readonly IPassKernels _inner;
            private readonly KernelSchedule _schedule;
            private readonly int[] _columnVectors;
            public VectorsSeen? Backend;
            public List<float[]>? Spacers;
            public float[]? Control;
            public bool ControlMoved;
            public int Collections, Moved;

            public CollectingKernels(IPassKernels inner, KernelSchedule schedule)
            {
                _inner = inner;
                _schedule = schedule;
                _columnVectors = schedule.KernelBuffers.Where(b => schedule.Buffers[b].Kind == BufferKind.Column).Select(b => schedule.Buffers[b].Vector).ToArray();
            }

            private nint[] Addresses() => Backend!.Vectors.Where(v => v != null)
                .SelectMany(v => _columnVectors.Select(c => { fixed (float* a = v!.Array(c)) return (nint)a; })).ToArray();

            public void RunPass(int pass, ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials)
            {
                if (_schedule.Passes[pass].RowWise)
                    lock (this)
                    {
                        var before = Addresses();
                        nint control;
                        fixed (float* c = Control) control = (nint)c;
                        Spacers = null;
                        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                        fixed (float* c = Control) ControlMoved |= (nint)c != control;
                        Moved += before.Zip(Addresses(), (a, b) => a != b ? 1 : 0).Sum();
                        Collections++;
                    }
                _inner.RunPass(pass, uniforms, buffers, partials);
            }
        }
    }
}
