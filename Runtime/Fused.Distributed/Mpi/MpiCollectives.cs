using System;
using static Fused.Distributed.Mpi.MpiNative;

namespace Fused.Distributed.Mpi
{
    /// <summary>
    /// <see cref="ICollectives"/> over Open MPI's MPI_COMM_WORLD. <see cref="Initialize"/> starts MPI (once per process)
    /// and sets MPI_ERRORS_RETURN on the communicator, so a failed call returns its code and becomes a
    /// <see cref="MpiException"/> naming the call instead of aborting the process. <see cref="Dispose"/> finalizes MPI.
    /// </summary>
    public sealed unsafe class MpiCollectives : ICollectives, IDisposable
    {
        private static MpiCollectives? _world;
        private bool _disposed;

        private MpiCollectives(int rank, int size) { Rank = rank; Size = size; }

        public int Rank { get; }
        public int Size { get; }
        public long BytesSent { get; private set; }

        /// <summary>The world communicator, initializing MPI on first use (a process started without mpirun is one rank of one).</summary>
        /// <exception cref="MpiException">libmpi.so.40 is missing or MPI_Init failed.</exception>
        public static MpiCollectives Initialize()
        {
            if (_world != null && !_world._disposed) return _world;
            Load();
            int initialized = 0, finalized = 0;
            Check(MPI_Finalized(&finalized), "MPI_Finalized");
            if (finalized != 0) throw new MpiException("MPI was already finalized in this process; it cannot be started again");
            Check(MPI_Initialized(&initialized), "MPI_Initialized");
            if (initialized == 0) Check(MPI_Init(0, 0), "MPI_Init");
            Check(MPI_Comm_set_errhandler(CommWorld, ErrorsReturn), "MPI_Comm_set_errhandler");
            int rank = 0, size = 0;
            Check(MPI_Comm_rank(CommWorld, &rank), "MPI_Comm_rank");
            Check(MPI_Comm_size(CommWorld, &size), "MPI_Comm_size");
            return _world = new MpiCollectives(rank, size);
        }

        public void AllReduceSum(Span<double> values) => AllReduce(values, OpSum, "MPI_Allreduce(sum)");

        public void AllReduceMax(Span<double> values) => AllReduce(values, OpMax, "MPI_Allreduce(max)");

        private void AllReduce(Span<double> values, nint op, string call)
        {
            ThrowIfDisposed();
            fixed (double* v = values) Check(MPI_Allreduce((void*)InPlace, v, values.Length, MpiDouble, op, CommWorld), call);
            BytesSent += 2L * (Size - 1) * values.Length * sizeof(double) / Size; // ring: reduce-scatter + allgather
        }

        /// <summary>MPI_Reduce_scatter_block: the element-wise sum of every rank's <paramref name="send"/> (Size blocks of <paramref name="receive"/>.Length), block r to rank r.</summary>
        public void ReduceScatterBlockSum(ReadOnlySpan<float> send, Span<float> receive)
        {
            ThrowIfDisposed();
            if (send.Length != (long)receive.Length * Size) throw new ArgumentException($"send holds {send.Length} floats, not {Size} blocks of {receive.Length}");
            fixed (float* s = send)
            fixed (float* r = receive)
                Check(MPI_Reduce_scatter_block(s, r, receive.Length, MpiFloat, OpSum, CommWorld), "MPI_Reduce_scatter_block");
            BytesSent += (long)(Size - 1) * receive.Length * sizeof(float);
        }

        public void AllToAllV(ReadOnlySpan<float> send, int[] sendCounts, Span<float> receive, int[] receiveCounts)
        {
            ThrowIfDisposed();
            var sendAt = Displacements(sendCounts, send.Length, "send");
            var receiveAt = Displacements(receiveCounts, receive.Length, "receive");
            fixed (float* s = send)
            fixed (float* r = receive)
            fixed (int* sc = sendCounts)
            fixed (int* sd = sendAt)
            fixed (int* rc = receiveCounts)
            fixed (int* rd = receiveAt)
                Check(MPI_Alltoallv(s, sc, sd, MpiFloat, r, rc, rd, MpiFloat, CommWorld), "MPI_Alltoallv");
            for (int r = 0; r < Size; r++) if (r != Rank) BytesSent += (long)sendCounts[r] * sizeof(float);
        }

        public void AllGatherV(ReadOnlySpan<float> mine, Span<float> all, int[] counts) => AllGatherV(mine, all, counts, MpiFloat);

        public void AllGatherV(ReadOnlySpan<byte> mine, Span<byte> all, int[] counts) => AllGatherV(mine, all, counts, MpiByte);

        private void AllGatherV<T>(ReadOnlySpan<T> mine, Span<T> all, int[] counts, nint type) where T : unmanaged
        {
            ThrowIfDisposed();
            var at = Displacements(counts, all.Length, "receive");
            if (mine.Length != counts[Rank]) throw new ArgumentException($"rank {Rank} contributes {mine.Length} values, counts say {counts[Rank]}");
            fixed (T* m = mine)
            fixed (T* a = all)
            fixed (int* c = counts)
            fixed (int* d = at)
                Check(MPI_Allgatherv(m, mine.Length, type, a, c, d, type, CommWorld), "MPI_Allgatherv");
            BytesSent += (all.Length - (long)counts[(Rank + 1) % Size]) * sizeof(T); // ring: every block but the successor's
        }

        public void GatherAmong(ReadOnlySpan<int> ranks, int tag, ReadOnlySpan<double> mine, Span<double> all, ReadOnlySpan<int> counts)
        {
            ThrowIfDisposed();
            if (ranks.Length != counts.Length) throw new ArgumentException($"{ranks.Length} ranks but {counts.Length} counts");
            int me = ranks.IndexOf(Rank), total = 0;
            if (me < 0) throw new ArgumentException($"rank {Rank} is not among the ranks it gathers with");
            if (mine.Length != counts[me]) throw new ArgumentException($"rank {Rank} contributes {mine.Length} values, counts say {counts[me]}");
            foreach (int c in counts) total += c;
            if (total > all.Length) throw new ArgumentException($"counts add up to {total} values, the buffer holds {all.Length}");
            Span<nint> requests = stackalloc nint[2 * ranks.Length];
            int pending = 0;
            fixed (double* m = mine)
            fixed (double* a = all)
            fixed (nint* q = requests)
            {
                for (int i = 0, at = 0; i < ranks.Length; at += counts[i], i++)
                {
                    if (i == me) { mine.CopyTo(all.Slice(at, counts[i])); continue; }
                    Check(MPI_Irecv(a + at, counts[i], MpiDouble, ranks[i], tag, CommWorld, q + pending++), "MPI_Irecv");
                    Check(MPI_Isend(m, mine.Length, MpiDouble, ranks[i], tag, CommWorld, q + pending++), "MPI_Isend");
                    BytesSent += (long)mine.Length * sizeof(double);
                }
                WaitAll(q, pending, "MPI_Isend/MPI_Irecv (gather among ranks " + string.Join(", ", ranks.ToArray()) + ")");
            }
        }

        /// <summary>Polls <paramref name="count"/> requests with MPI_Testall until all completed.</summary>
        private static void WaitAll(nint* requests, int count, string call)
        {
            int done = 0;
            var spinner = new System.Threading.SpinWait();
            while (true)
            {
                Check(MPI_Testall(count, requests, &done, 0), call);
                if (done != 0) return;
                spinner.SpinOnce(sleep1Threshold: -1); // spin, then yield the core: other ranks may share it
            }
        }

        public void AllGather(long mine, Span<long> all)
        {
            ThrowIfDisposed();
            if (all.Length != Size) throw new ArgumentException($"room for {all.Length} values, {Size} ranks");
            fixed (long* a = all) Check(MPI_Allgather(&mine, 1, MpiLong, a, 1, MpiLong, CommWorld), "MPI_Allgather");
            BytesSent += (Size - 1L) * sizeof(long);
        }

        public void Broadcast(Span<byte> buffer, int root)
        {
            ThrowIfDisposed();
            fixed (byte* b = buffer) Check(MPI_Bcast(b, buffer.Length, MpiByte, root, CommWorld), "MPI_Bcast");
            if (Rank == root) BytesSent += buffer.Length;
        }

        public void Barrier()
        {
            ThrowIfDisposed();
            Check(MPI_Barrier(CommWorld), "MPI_Barrier");
        }

        /// <summary>Ends every rank's job at once with <paramref name="exitCode"/> (MPI_Abort): for a rank that cannot go on.</summary>
        public void Abort(int exitCode)
        {
            ThrowIfDisposed();
            MPI_Abort(CommWorld, exitCode);
        }

        private int[] Displacements(int[] counts, int length, string what)
        {
            if (counts.Length != Size) throw new ArgumentException($"{what} counts for {counts.Length} ranks, the communicator has {Size}");
            var at = new int[Size];
            long total = 0;
            for (int r = 0; r < Size; r++)
            {
                if (counts[r] < 0) throw new ArgumentException($"{what} count of rank {r} is negative");
                at[r] = checked((int)total);
                total += counts[r];
            }
            if (total > length) throw new ArgumentException($"{what} counts add up to {total} elements, the buffer holds {length}");
            return at;
        }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(MpiCollectives), "MPI was finalized");
        }

        /// <summary>MPI_Finalize (collective: every rank calls it).</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            Check(MPI_Finalize(), "MPI_Finalize");
        }
    }
}
