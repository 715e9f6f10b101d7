using System;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// For a run that steps only a piece of some tensors (a rank of a sharded optimizer steps a block-aligned range of a
    /// tensor as a tensor of its own): what the <see cref="ScheduleExecutor"/> needs to make a piece's whole-tensor values
    /// equal the whole tensor's — the whole shape for its uniforms, and every block partial of each whole-tensor reduction,
    /// which the exchange completes (from the other pieces' owners) before the executor folds them in the canonical order
    /// of <see cref="Reduction.FoldBlocks"/>. Without one, every tensor is whole.
    /// </summary>
    public interface IReductionExchange
    {
        /// <summary>The shape that uniforms of tensor <paramref name="tensor"/> read: the whole tensor's when it is a piece, else <paramref name="local"/>.</summary>
        ShapeInfo UniformShape(int tensor, ShapeInfo local);

        /// <summary>
        /// Called once per pass with whole-tensor reductions and tensor, in step order, with the tensor's own partials
        /// (<paramref name="reductions"/> per block, block-major); returns the whole tensor's partials in the same layout
        /// (<paramref name="partials"/> itself for a whole tensor). The span is read before the next call.
        /// </summary>
        ReadOnlySpan<double> Complete(int tensor, ReadOnlySpan<double> partials, int reductions);
    }
}
