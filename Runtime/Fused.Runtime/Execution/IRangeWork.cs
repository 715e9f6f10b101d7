namespace Fused.Runtime.Execution
{
    /// <summary>
    /// A unit of data-parallel work over a contiguous index range of one tensor.
    /// Implemented by structs so that <see cref="WorkerPool.Run{TWork}"/> dispatches without allocation.
    /// </summary>
    public interface IRangeWork
    {
        /// <summary>Processes elements in the half-open range [<paramref name="start"/>, <paramref name="end"/>).</summary>
        /// <remarks>Called concurrently from several threads on the same instance, each with a disjoint range.</remarks>
        void Execute(long start, long end);
    }

    /// <summary>
    /// A unit of data-parallel work over many tensors at once (e.g. one optimizer step over every parameter).
    /// Implemented by structs so that <see cref="WorkerPool.RunBatch{TWork}"/> dispatches without allocation.
    /// </summary>
    public interface IBatchWork
    {
        /// <summary>
        /// Processes elements [<paramref name="start"/>, <paramref name="end"/>) of item <paramref name="item"/>
        /// (an index into the lengths passed to <see cref="WorkerPool.RunBatch{TWork}"/>).
        /// </summary>
        /// <remarks>Called concurrently from several threads on the same instance, each with a disjoint range.</remarks>
        void Execute(int item, long start, long end);
    }
}
