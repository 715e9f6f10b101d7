using System;
using System.Linq;
using Fused.Runtime.Engine;

namespace Fused.Distributed
{
    /// <summary>
    /// One rank's memory under ZeRO-1: its engine's report (state, scratch and journal for its segments only — about 1/N
    /// of one process's state), plus what every rank holds in full: float32 parameters and gradients, and the staging
    /// buffers of the exchanges (gradients packed by owner, the owners' received pieces, the gathered parameters, the
    /// norm's block partials). With all-or-nothing steps (the default at N &gt; 1) the engine's journal holds one more
    /// copy of its segments' parameters and state.
    /// </summary>
    public sealed record ShardedMemoryReport(int Rank, int WorldSize, ModelMemoryReport? Engine, long ParameterBytes, long GradientBytes, long StagingBytes)
    {
        /// <summary>This rank's optimizer state (0 when it owns no segment).</summary>
        public long StateBytes => Engine?.Groups.Sum(g => g.StateBytes) ?? 0;

        /// <summary>Everything this rank holds for training: state, engine scratch and journal, full parameters and gradients, staging.</summary>
        public long TotalBytes => (Engine?.Groups.Sum(g => g.StateBytes + g.ScratchBytes + g.JournalBytes + g.AccumulationBytes) ?? 0)
            + ParameterBytes + GradientBytes + StagingBytes;

        public override string ToString()
            => $"rank {Rank} of {WorldSize}: state {StateBytes:N0} B, parameters {ParameterBytes:N0} B, gradients {GradientBytes:N0} B, staging {StagingBytes:N0} B, total {TotalBytes:N0} B";

        /// <summary>
        /// Per-rank bytes of a model of <paramref name="parameters"/> parameters at <paramref name="ranks"/> ranks, for a
        /// rule keeping <paramref name="stateBytesPerParameter"/> (see <see cref="MemoryReport.RowOf"/>): state / N, 4 B
        /// float32 master weights and 4 B gradients in full, staging: two round buffers of at most
        /// <paramref name="stagingElements"/> floats each, plus the global norm's float64 partial per 1024-element block;
        /// and with <paramref name="allOrNothing"/> steps (N &gt; 1) the journal: (4 + state bytes) / N per parameter.
        /// </summary>
        public static (double State, double MasterAndGradients, double Staging, double Journal, double Total) Estimate(double parameters, int ranks, double stateBytesPerParameter,
            int stagingElements = ShardedOptimizerBuilder.DefaultStagingElements, bool allOrNothing = true)
        {
            if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "at least one rank");
            double state = parameters * stateBytesPerParameter / ranks, full = parameters * 8;
            double staging = ranks == 1 ? 0 : 2 * 4 * Math.Min(parameters, stagingElements) + 8 * parameters / Fused.Ir.Reduction.BlockSize;
            double journal = ranks > 1 && allOrNothing ? parameters * (4 + stateBytesPerParameter) / ranks : 0;
            return (state, full, staging, journal, state + full + staging + journal);
        }
    }

    public sealed partial class ShardedOptimizer
    {
        /// <summary>This rank's memory (see <see cref="ShardedMemoryReport"/>).</summary>
        public ShardedMemoryReport MemoryReport()
        {
            long elements = _parameters.Sum(p => p.Numel);
            long staging = 4L * (_send.Length + _receive.Length) + 8L * _globalBlocks.Length;
            return new ShardedMemoryReport(Rank, WorldSize, _engine?.MemoryReport(), 4 * elements, 4 * elements, staging);
        }
    }
}
