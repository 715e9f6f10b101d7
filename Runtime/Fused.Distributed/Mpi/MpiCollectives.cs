using System;
using System.Diagnostics;
using System.Threading;
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

        private MpiCollectives(int rank, int size, TimeSpan timeout) { Rank = rank; Size = size; Timeout = timeout; }

        /// <summary>How long a call waits for the other ranks by default (10 minutes, as PyTorch's NCCL default).</summary>
        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

        /// <summary>The environment variable that sets <see cref="Timeout"/> in seconds when <see cref="Initialize"/> is given none.</summary>
        public const string TimeoutVariable = "FUSED_MPI_TIMEOUT_SECONDS";

        /// <summary>Exit code of a job ended because a call waited longer than <see cref="Timeout"/>.</summary>
        public const int TimeoutExitCode = 124;

        /// <summary>
        /// How long any call waits for the other ranks before this rank ends the job (MPI_Abort) with a message naming
        /// the call: a rank that hangs without dying never hangs the others. Every call runs as a non-blocking MPI
        /// operation polled with MPI_Testall.
        /// </summary>
        public TimeSpan Timeout { get; }

        public int Rank { get; }
        public int Size { get; }
        public long BytesSent { get; private set; }

        /// <summary>The world communicator, initializing MPI on first use (a process started without mpirun is one rank of one).</summary>
        /// <param name="timeout">How long a call waits for the other ranks (see <see cref="Timeout"/>); default: <see cref="TimeoutVariable"/> seconds, else <see cref="DefaultTimeout"/>.</param>
        /// <exception cref="MpiException">libmpi.so.40 is missing, MPI_Init failed, or <see cref="TimeoutVariable"/> is not a positive number.</exception>
        public static MpiCollectives Initialize(TimeSpan? timeout = null)
        {
            var limit = timeout ?? TimeoutFromEnvironment();
            if (limit <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "must be positive");
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
            return _world = new MpiCollectives(rank, size, limit);
        }

        private static TimeSpan TimeoutFromEnvironment()
        {
            string? text = Environment.GetEnvironmentVariable(TimeoutVariable);
            if (string.IsNullOrEmpty(text)) return DefaultTimeout;
            if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && seconds < 1e9)
                return TimeSpan.FromSeconds(seconds);
            throw new MpiException($"{TimeoutVariable}='{text}' is not a positive number of seconds");
        }

        public void AllReduceSum(Span<double> values) => AllReduce(values, OpSum, "MPI_Allreduce(sum)");

        public void AllReduceMax(Span<double> values) => AllReduce(values, OpMax, "MPI_Allreduce(max)");

        private void AllReduce(Span<double> values, nint op, string call)
        {
            ThrowIfDisposed();
            nint request = 0;
            fixed (double* v = values) Wait(MPI_Iallreduce((void*)InPlace, v, values.Length, MpiDouble, op, CommWorld, &request), call, &request);
            BytesSent += 2L * (Size - 1) * values.Length * sizeof(double) / Size; // ring: reduce-scatter + allgather
        }

        /// <summary>MPI_Reduce_scatter_block: the element-wise sum of every rank's <paramref name="send"/> (Size blocks of <paramref name="receive"/>.Length), block r to rank r.</summary>
        public void ReduceScatterBlockSum(ReadOnlySpan<float> send, Span<float> receive)
        {
            ThrowIfDisposed();
            nint request = 0;
            if (send.Length != (long)receive.Length * Size) throw new ArgumentException($"send holds {send.Length} floats, not {Size} blocks of {receive.Length}");
            fixed (float* s = send)
            fixed (float* r = receive)
                Wait(MPI_Ireduce_scatter_block(s, r, receive.Length, MpiFloat, OpSum, CommWorld, &request), "MPI_Reduce_scatter_block", &request);
            BytesSent += (long)(Size - 1) * receive.Length * sizeof(float);
        }

        public void AllToAllV(ReadOnlySpan<float> send, int[] sendCounts, Span<float> receive, int[] receiveCounts)
        {
            ThrowIfDisposed();
            nint request = 0;
            var sendAt = Displacements(sendCounts, send.Length, "send");
            var receiveAt = Displacements(receiveCounts, receive.Length, "receive");
            fixed (float* s = send)
            fixed (float* r = receive)
            fixed (int* sc = sendCounts)
            fixed (int* sd = sendAt)
            fixed (int* rc = receiveCounts)
            fixed (int* rd = receiveAt)
                Wait(MPI_Ialltoallv(s, sc, sd, MpiFloat, r, rc, rd, MpiFloat, CommWorld, &request), "MPI_Alltoallv", &request);
            for (int r = 0; r < Size; r++) if (r != Rank) BytesSent += (long)sendCounts[r] * sizeof(float);
        }

        public void AllGatherV(ReadOnlySpan<float> mine, Span<float> all, int[] counts) => AllGatherV(mine, all, counts, MpiFloat);

        public void AllGatherV(ReadOnlySpan<byte> mine, Span<byte> all, int[] counts) => AllGatherV(mine, all, counts, MpiByte);

        private void AllGatherV<T>(ReadOnlySpan<T> mine, Span<T> all, int[] counts, nint type) where T : unmanaged
        {
            ThrowIfDisposed();
            nint request = 0;
            var at = Displacements(counts, all.Length, "receive");
            if (mine.Length != counts[Rank]) throw new ArgumentException($"rank {Rank} contributes {mine.Length} values, counts say {counts[Rank]}");
            fixed (T* m = mine)
            fixed (T* a = all)
            fixed (int* c = counts)
            fixed (int* d = at)
                Wait(MPI_Iallgatherv(m, mine.Length, type, a, c, d, type, CommWorld, &request), "MPI_Allgatherv", &request);
            long total = (long)at[Size - 1] + counts[Size - 1]; // what the counts fill, not the whole buffer
            BytesSent += (total - counts[(Rank + 1) % Size]) * sizeof(T); // ring: every block but the successor's
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
                WaitAll(q, pending, "MPI_Isend/MPI_Irecv (partials of a tensor shared with other ranks)");
            }
        }

        /// <summary>Completes the one request a non-blocking call (returning <paramref name="code"/>) started, within <see cref="Timeout"/>.</summary>
        private void Wait(int code, string call, nint* request)
        {
            Check(code, call);
            WaitAll(request, 1, call);
        }

        /// <summary>
        /// Polls <paramref name="count"/> requests with MPI_Testall until all completed. Past <see cref="Timeout"/> a rank
        /// stopped taking part (it hangs, or works outside the collectives for too long): the pending operations still
        /// own their buffers and MPI cannot cancel a collective, so this rank says which call waited how long (standard
        /// error) and ends the job with MPI_Abort, exit code <see cref="TimeoutExitCode"/>, instead of hanging.
        /// </summary>
        private void WaitAll(nint* requests, int count, string call)
        {
            int done = 0;
            long start = Stopwatch.GetTimestamp();
            long deadline = start + (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                Check(MPI_Testall(count, requests, &done, 0), call);
                if (done != 0) return;
                long now = Stopwatch.GetTimestamp();
                if (now > deadline)
                {
                    var timeout = new MpiTimeoutException($"rank {Rank}: {call} did not complete within {Timeout.TotalSeconds:0.###} s: another rank stopped taking part (hung, or busy outside the collectives); aborting the job ({TimeoutVariable} sets the limit)");
                    Console.Error.WriteLine(timeout.Message);
                    Console.Error.Flush();
                    MPI_Abort(CommWorld, TimeoutExitCode);
                    throw timeout; // not reached: MPI_Abort ends every rank
                }
                // Open MPI progresses a non-blocking collective only inside MPI calls: poll without sleeping (a 1 ms sleep
                // between tests made a 67 MB exchange 3-4 times slower), yielding the core to any other runnable thread.
                Thread.Yield();
            }
        }

        public void AllGather(long mine, Span<long> all)
        {
            ThrowIfDisposed();
            nint request = 0;
            if (all.Length != Size) throw new ArgumentException($"room for {all.Length} values, {Size} ranks");
            fixed (long* a = all) Wait(MPI_Iallgather(&mine, 1, MpiLong, a, 1, MpiLong, CommWorld, &request), "MPI_Allgather", &request);
            BytesSent += (Size - 1L) * sizeof(long);
        }

        public void Broadcast(Span<byte> buffer, int root)
        {
            ThrowIfDisposed();
            nint request = 0;
            fixed (byte* b = buffer) Wait(MPI_Ibcast(b, buffer.Length, MpiByte, root, CommWorld, &request), "MPI_Bcast", &request);
            if (Rank == root) BytesSent += buffer.Length;
        }

        public void Barrier()
        {
            ThrowIfDisposed();
            nint request = 0;
            Wait(MPI_Ibarrier(CommWorld, &request), "MPI_Barrier", &request);
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
