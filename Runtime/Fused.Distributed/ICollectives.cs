using System;

namespace Fused.Distributed
{
    /// <summary>
    /// The collectives the sharded optimizer needs, over one group of ranks that all call them in the same order.
    /// Small on purpose: MPI implements it (<see cref="Mpi.MpiCollectives"/>); a GPU collective library could too.
    /// Every call is blocking and collective; a failure is an exception naming the call. An implementation must not wait
    /// forever for a rank that stopped taking part (<see cref="Mpi.MpiCollectives.Timeout"/>).
    /// </summary>
    public interface ICollectives
    {
        /// <summary>This process's rank, 0 to <see cref="Size"/> − 1.</summary>
        int Rank { get; }

        /// <summary>Number of ranks.</summary>
        int Size { get; }

        /// <summary>Element-wise sum over every rank, in place (float64).</summary>
        void AllReduceSum(Span<double> values);

        /// <summary>Element-wise maximum over every rank, in place (float64).</summary>
        void AllReduceMax(Span<double> values);

        /// <summary>
        /// Every rank sends <paramref name="sendCounts"/>[r] floats to rank r (consecutive in <paramref name="send"/>, rank
        /// order) and receives <paramref name="receiveCounts"/>[r] from rank r (consecutive in <paramref name="receive"/>).
        /// </summary>
        void AllToAllV(ReadOnlySpan<float> send, int[] sendCounts, Span<float> receive, int[] receiveCounts);

        /// <summary>Rank r contributes <paramref name="counts"/>[r] floats; every rank receives them all, concatenated in rank order.</summary>
        void AllGatherV(ReadOnlySpan<float> mine, Span<float> all, int[] counts);

        /// <summary>Rank r contributes <paramref name="counts"/>[r] bytes; every rank receives them all, concatenated in rank order.</summary>
        void AllGatherV(ReadOnlySpan<byte> mine, Span<byte> all, int[] counts);

        /// <summary>
        /// Not collective over every rank: only <paramref name="ranks"/> (ascending, this rank among them) call it, with
        /// the same tag and counts. Rank <c>ranks[i]</c> contributes <paramref name="counts"/>[i] values; each of them
        /// receives them all, concatenated in that order. Calls among the same ranks with the same tag match in call order.
        /// </summary>
        void GatherAmong(ReadOnlySpan<int> ranks, int tag, ReadOnlySpan<double> mine, Span<double> all, ReadOnlySpan<int> counts);

        /// <summary>Every rank receives one long from each rank, in rank order.</summary>
        void AllGather(long mine, Span<long> all);

        /// <summary>Rank <paramref name="root"/>'s bytes are copied into every rank's <paramref name="buffer"/> (same length everywhere).</summary>
        void Broadcast(Span<byte> buffer, int root);

        /// <summary>Returns when every rank has called it.</summary>
        void Barrier();

        /// <summary>Bytes this rank has sent so far through these collectives (payload only, as counted by the caller's sizes).</summary>
        long BytesSent { get; }
    }
}
