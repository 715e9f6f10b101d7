using System;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// What a backend does for the <see cref="ScheduleExecutor"/>: it holds the tensor-sized buffers of a group of
    /// tensors (parameters, gradients, element states, temporaries) wherever it keeps them (host memory, a device),
    /// runs element passes over them, and runs matrix passes. Everything else — the order of the steps, uniform and
    /// per-row values, folding reductions in the canonical order, scalar and row/column states — is the executor's,
    /// once for every backend.
    /// </summary>
    public interface IScheduleBackend
    {
        /// <summary>
        /// Elements per wave: the executor steps tensors in waves of consecutive tensors holding about this many elements
        /// (at least one tensor), every step of the schedule over a wave before the next, so temporaries need room for
        /// one wave only. 0 means one tensor per wave.
        /// </summary>
        long WaveElements { get; }

        /// <summary>Tensors [<paramref name="first"/>, <paramref name="end"/>) are about to be stepped (give them temporaries).</summary>
        void BeginWave(int first, int end);

        /// <summary>Runs <paramref name="matrix"/> on tensor <paramref name="tensor"/>'s temporary, in place.</summary>
        void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step);

        /// <summary>
        /// Runs <paramref name="pass"/> over tensors [<paramref name="first"/>, <paramref name="end"/>) with the inputs and
        /// outputs in <paramref name="args"/>: per-tensor uniforms; partials per (block, reduction), block-major, at
        /// <see cref="PassArguments.PartialOffset"/> — a flat pass's blocks cover the tensor, a row-wise pass's blocks each
        /// row on its own (row-major); for row-wise passes, each row's per-row slots from the tensor's
        /// <see cref="VectorValues"/> and its ColSums, folded in the canonical order, into the same vectors.
        /// </summary>
        void RunPass(PassProgram pass, int first, int end, PassArguments args);

        /// <summary>The step is over (e.g. wait for a device queue).</summary>
        void EndStep();
    }

    /// <summary>The executor's side of one pass over a wave of tensors.</summary>
    public sealed class PassArguments
    {
        internal PassArguments(int uniformCount) { UniformCount = uniformCount; }

        /// <summary>The step being applied (1 at the first step).</summary>
        public long Step { get; internal set; }

        /// <summary>Float32 uniforms of every tensor: tensor t's are [t · <see cref="UniformCount"/>, (t + 1) · <see cref="UniformCount"/>).</summary>
        public float[] Uniforms { get; internal set; } = Array.Empty<float>();

        /// <summary>Number of uniform slots of the schedule (the length of one tensor's uniforms).</summary>
        public int UniformCount { get; }

        /// <summary>Partials of the pass's reductions (float64).</summary>
        public double[] Partials { get; internal set; } = Array.Empty<double>();

        /// <summary>Where tensor t's partials start in <see cref="Partials"/>.</summary>
        public long[] PartialOffset { get; internal set; } = Array.Empty<long>();

        /// <summary>Per-row and per-column values of tensor t (null for rules without any).</summary>
        public VectorValues?[] Vectors { get; internal set; } = Array.Empty<VectorValues?>();

        /// <summary>The shape of tensor t.</summary>
        public ShapeInfo[] Shapes { get; internal set; } = Array.Empty<ShapeInfo>();

        /// <summary>Tensor t's float32 uniforms.</summary>
        public Span<float> UniformsOf(int t) => Uniforms.AsSpan(t * UniformCount, UniformCount);
    }
}
