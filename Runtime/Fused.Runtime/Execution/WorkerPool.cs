using System;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace Fused.Runtime.Execution
{
    /// <summary>Outcome of pinning the pool's worker threads to CPUs.</summary>
    public enum PinningStatus
    {
        /// <summary>Every worker thread is restricted to exactly one CPU (Linux, sched_setaffinity).</summary>
        Pinned,

        /// <summary>Pinning was not requested; workers float freely.</summary>
        Disabled,

        /// <summary>Not Linux: workers run unpinned (no portable affinity API is used elsewhere).</summary>
        UnsupportedPlatform,

        /// <summary>Pinning was attempted and failed for at least one worker; see <see cref="WorkerPool.PinningDetail"/>.</summary>
        Failed,

        /// <summary>The pool has no background workers (degree of parallelism 1): only the caller runs work.</summary>
        NoWorkerThreads,
    }

    /// <summary>
    /// A fixed set of worker threads, one per core, that executes data-parallel struct work with the calling
    /// thread participating. Dispatch allocates nothing in steady state: work is passed by reference as a
    /// struct and invoked through a generic function pointer, and synchronisation spins briefly before
    /// blocking on a monitor (workers) or a <see cref="ManualResetEventSlim"/> (caller).
    /// </summary>
    /// <remarks>
    /// <para>Degree of parallelism P (default <see cref="Environment.ProcessorCount"/>) counts the caller:
    /// the pool starts P − 1 background threads. On Linux, background worker k (1 ≤ k &lt; P) is pinned to the
    /// k-th CPU (modulo the count) of the affinity mask of the thread that built the pool; the calling thread is
    /// left unpinned (it belongs to the application) and is expected to run on the remaining CPU.</para>
    /// <para>Partitioning is deterministic: chunk boundaries depend only on the length(s), the grain and P,
    /// never on timing. Which thread executes which chunk is dynamic (chunks are claimed from a shared counter)
    /// so one descheduled core does not stall the whole step.</para>
    /// <para>One dispatch at a time: a concurrent or nested call throws <see cref="InvalidOperationException"/>.</para>
    /// </remarks>
    public sealed unsafe class WorkerPool : IDisposable
    {
        /// <summary>Chunk boundaries are multiples of this many elements (one cache line of floats × 16, SIMD friendly).</summary>
        public const int ChunkAlignment = 64;

        /// <summary>Grain used when the caller passes 0: chunks smaller than this cost more to dispatch than to run.</summary>
        public const int DefaultGrain = 16 * 1024;

        // More chunks than participants lets a fast core pick up the slack of a preempted one.
        private const int ChunksPerParticipant = 4;
        private const int WorkerSpinIterations = 64;

        private readonly Thread[] _threads;
        private readonly int[] _workerCpus;
        private readonly int[] _workerNativeThreadIds;

        // Per worker, GC.GetAllocatedBytesForCurrentThread() after its last job: lets tests prove dispatch is
        // allocation-free on the pool's own threads regardless of what other threads in the process do.
        private readonly long[] _workerAllocatedBytes;
        private readonly object _gate = new object();
        private readonly ManualResetEventSlim _done = new ManualResetEventSlim(false);
        private readonly int _degreeOfParallelism;

        // Job description, published before _generation is bumped (Interlocked = full fence).
        private delegate*<WorkerPool, void*, long, void> _runChunk;
        private void* _work;
        private long _chunkCount;
        private long _chunkSize;
        private long _length;
        private int _batchCount;

        private long _nextChunk;
        private long _generation;
        private int _sleepers;
        private int _pending;
        private int _busy;
        private volatile bool _stopping;
        private bool _disposed;
        private Exception? _firstException;

        // Batch bookkeeping, grown on demand and then reused (steady state allocates nothing).
        private long[] _batchPaddedStart = new long[1];
        private long[] _batchLength = new long[0];

        /// <summary>Creates the pool and starts its worker threads.</summary>
        /// <param name="degreeOfParallelism">Threads that execute work including the caller; 0 means
        /// <see cref="Environment.ProcessorCount"/>.</param>
        /// <param name="pinThreads">Pin each background worker to one CPU on Linux.</param>
        public WorkerPool(int degreeOfParallelism = 0, bool pinThreads = true)
        {
            if (degreeOfParallelism < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(degreeOfParallelism), degreeOfParallelism,
                    "degree of parallelism must be 0 (one per processor) or positive");
            }

            _degreeOfParallelism = degreeOfParallelism == 0 ? Environment.ProcessorCount : degreeOfParallelism;
            int workerCount = _degreeOfParallelism - 1;
            _threads = new Thread[workerCount];
            _workerCpus = new int[workerCount];
            _workerNativeThreadIds = new int[workerCount];
            _workerAllocatedBytes = new long[workerCount];
            _pending = 0;

            bool pin = pinThreads && workerCount > 0 && OperatingSystem.IsLinux();
            int[]? allowed = null;
            string detail;
            if (workerCount == 0)
            {
                PinningStatus = PinningStatus.NoWorkerThreads;
                detail = "degree of parallelism is 1: the caller runs everything";
            }
            else if (!pinThreads)
            {
                PinningStatus = PinningStatus.Disabled;
                detail = "pinning disabled by the caller";
            }
            else if (!OperatingSystem.IsLinux())
            {
                PinningStatus = PinningStatus.UnsupportedPlatform;
                detail = $"thread pinning is implemented for Linux only; running unpinned on {RuntimeInformation.OSDescription}";
            }
            else
            {
                var cpus = LinuxAffinity.GetAllowedCpus(0, out int errno);
                if (cpus.Count == 0)
                {
                    pin = false;
                    PinningStatus = PinningStatus.Failed;
                    detail = $"sched_getaffinity failed (errno {errno}); running unpinned";
                }
                else
                {
                    allowed = cpus.ToArray();
                    PinningStatus = PinningStatus.Pinned;
                    detail = "";
                }
            }

            for (int k = 0; k < workerCount; k++)
            {
                _workerCpus[k] = pin ? allowed![(k + 1) % allowed.Length] : -1;
            }

            // The caller's event creates its kernel handle lazily, on the first wait that has to block:
            // create it now, or a steady-state step under load would allocate it.
            _ = _done.WaitHandle;

            using var started = new CountdownEvent(workerCount == 0 ? 1 : workerCount);
            if (workerCount == 0)
            {
                started.Signal();
            }

            var pinErrors = new int[workerCount];
            for (int k = 0; k < workerCount; k++)
            {
                int index = k;
                var thread = new Thread(() => WorkerMain(index, pin, pinErrors, started))
                {
                    IsBackground = true,
                    Name = $"Fused worker {k + 1}/{_degreeOfParallelism}",
                };
                _threads[k] = thread;
                thread.Start();
            }

            started.Wait();

            if (pin)
            {
                for (int k = 0; k < workerCount; k++)
                {
                    if (pinErrors[k] != 0)
                    {
                        PinningStatus = PinningStatus.Failed;
                        detail += $"worker {k + 1}: sched_setaffinity(cpu {_workerCpus[k]}) failed with errno {pinErrors[k]}; ";
                        _workerCpus[k] = -1;
                    }
                }

                if (PinningStatus == PinningStatus.Pinned)
                {
                    detail = allowed!.Length < _degreeOfParallelism
                        ? $"pinned {workerCount} workers over {allowed.Length} allowed CPUs (some CPUs are shared); caller unpinned"
                        : $"pinned {workerCount} workers to CPUs {string.Join(",", _workerCpus)}; caller unpinned";
                }
            }

            PinningDetail = detail;
        }

        /// <summary>Threads that execute work, including the calling thread.</summary>
        public int DegreeOfParallelism => _degreeOfParallelism;

        /// <summary>Number of background worker threads (<see cref="DegreeOfParallelism"/> − 1).</summary>
        public int WorkerThreadCount => _threads.Length;

        /// <summary>Whether the background workers are pinned, and if not, why.</summary>
        public PinningStatus PinningStatus { get; }

        /// <summary>Human-readable explanation of <see cref="PinningStatus"/>.</summary>
        public string PinningDetail { get; }

        /// <summary>CPU that background worker <paramref name="worker"/> is pinned to, or −1 when unpinned.</summary>
        public int GetWorkerCpu(int worker) => _workerCpus[worker];

        /// <summary>Kernel thread id (Linux tid) of background worker <paramref name="worker"/>, or 0 elsewhere.</summary>
        public int GetWorkerNativeThreadId(int worker) => _workerNativeThreadIds[worker];

        /// <summary>Sum over the background workers of the bytes each had allocated when it finished its last job.</summary>
        internal long WorkerAllocatedBytes()
        {
            long sum = 0;
            for (int k = 0; k < _workerAllocatedBytes.Length; k++)
            {
                sum += Volatile.Read(ref _workerAllocatedBytes[k]);
            }

            return sum;
        }

        /// <summary>
        /// Chunk size used for a range of <paramref name="length"/> elements with the given grain: a multiple of
        /// <see cref="ChunkAlignment"/>, at least the grain, aiming at a few chunks per participant.
        /// Chunk i covers [i·size, min((i+1)·size, length)).
        /// </summary>
        public long GetChunkSize(long length, int grain)
        {
            if (length < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, "length must be non-negative");
            }

            if (grain < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(grain), grain, "grain must be 0 (default) or positive");
            }

            long minimum = AlignUp(grain == 0 ? DefaultGrain : grain);
            long targetChunks = (long)_degreeOfParallelism * ChunksPerParticipant;
            long even = AlignUp((length + targetChunks - 1) / targetChunks);
            return Math.Max(minimum, even);
        }

        /// <summary>
        /// Runs <paramref name="work"/> over [0, <paramref name="length"/>) split into contiguous chunks
        /// (see <see cref="GetChunkSize"/>), on the workers and the calling thread; returns when all chunks are done.
        /// </summary>
        /// <param name="work">The work; copied to the caller's stack for the duration and copied back after.</param>
        /// <param name="length">Number of elements.</param>
        /// <param name="grain">Minimum chunk length in elements (rounded up to 64); 0 = <see cref="DefaultGrain"/>.</param>
        /// <exception cref="InvalidOperationException">Another dispatch is in progress on this pool.</exception>
        /// <remarks>The first exception thrown by any chunk is rethrown here after every thread has stopped;
        /// remaining chunks are skipped.</remarks>
        public void Run<TWork>(ref TWork work, long length, int grain = 0) where TWork : struct, IRangeWork
        {
            long chunkSize = GetChunkSize(length, grain);
            ThrowIfDisposed();
            if (length == 0)
            {
                return;
            }

            long chunkCount = (length + chunkSize - 1) / chunkSize;
            EnterDispatch();
            if (chunkCount == 1 || _threads.Length == 0)
            {
                try
                {
                    // Same chunk boundaries as the parallel path, so results never depend on the thread count.
                    for (long start = 0; start < length; start += chunkSize)
                    {
                        work.Execute(start, Math.Min(start + chunkSize, length));
                    }
                }
                finally
                {
                    Volatile.Write(ref _busy, 0);
                }

                return;
            }

            // Stack copy: workers hold a raw pointer, which must not move under a compacting GC.
            TWork local = work;
            _length = length;
            DispatchEntered(&RunRangeChunk<TWork>, Unsafe.AsPointer(ref local), chunkCount, chunkSize);
            work = local;
        }

        /// <summary>
        /// Runs <paramref name="work"/> over many items at once: item i has <paramref name="lengths"/>[i] elements.
        /// The items are laid end to end (each padded to a multiple of 64) and that total is partitioned as one
        /// range, so many small tensors cost about what one tensor of the same total size costs. Every range an
        /// item receives starts at a multiple of 64 within the item.
        /// </summary>
        /// <param name="work">The work; copied to the caller's stack for the duration and copied back after.</param>
        /// <param name="lengths">Element count of each item (zero allowed).</param>
        /// <param name="grain">Minimum chunk length in elements; 0 = <see cref="DefaultGrain"/>.</param>
        public void RunBatch<TWork>(ref TWork work, ReadOnlySpan<long> lengths, int grain = 0) where TWork : struct, IBatchWork
        {
            ThrowIfDisposed();
            EnterDispatch();
            bool dispatched = false;
            try
            {
                if (_batchLength.Length < lengths.Length)
                {
                    _batchLength = new long[lengths.Length];
                    _batchPaddedStart = new long[lengths.Length + 1];
                }

                long total = 0;
                for (int i = 0; i < lengths.Length; i++)
                {
                    long n = lengths[i];
                    if (n < 0)
                    {
                        throw new ArgumentOutOfRangeException(nameof(lengths), n, $"length of item {i} is negative");
                    }

                    _batchLength[i] = n;
                    _batchPaddedStart[i] = total;
                    total = checked(total + AlignUp(n));
                }

                _batchPaddedStart[lengths.Length] = total;
                _batchCount = lengths.Length;
                if (total == 0)
                {
                    return;
                }

                long chunkSize = GetChunkSize(total, grain);
                long chunkCount = (total + chunkSize - 1) / chunkSize;
                if (chunkCount == 1 || _threads.Length == 0)
                {
                    for (long c = 0; c < chunkCount; c++)
                    {
                        ExecuteBatchChunk(ref work, c * chunkSize, Math.Min((c + 1) * chunkSize, total));
                    }

                    return;
                }

                TWork local = work;
                _length = total;
                dispatched = true;
                DispatchEntered(&RunBatchChunk<TWork>, Unsafe.AsPointer(ref local), chunkCount, chunkSize);
                work = local;
            }
            finally
            {
                if (!dispatched)
                {
                    Volatile.Write(ref _busy, 0);
                }
            }
        }

        /// <summary>Stops and joins the worker threads. Idempotent; must not race with a dispatch.</summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stopping = true;
            Interlocked.Increment(ref _generation);
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }

            foreach (var thread in _threads)
            {
                thread.Join();
            }

            _done.Dispose();
        }

        private static long AlignUp(long n) => (n + (ChunkAlignment - 1)) & ~(long)(ChunkAlignment - 1);

        private void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(WorkerPool));
            }
        }

        private void EnterDispatch()
        {
            if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            {
                throw new InvalidOperationException(
                    "WorkerPool is already running a dispatch: calls must not overlap or nest (do not call Run from inside work)");
            }
        }

        // Precondition: _busy held by this call; released on exit.
        private void DispatchEntered(delegate*<WorkerPool, void*, long, void> runChunk, void* work, long chunkCount, long chunkSize)
        {
            try
            {
                _runChunk = runChunk;
                _work = work;
                _chunkCount = chunkCount;
                _chunkSize = chunkSize;
                _nextChunk = 0;
                _firstException = null;
                _pending = _threads.Length;
                _done.Reset();

                // Full fence publishes the job; the sleeper check pairs with the fence in WaitForJob (Dekker style).
                Interlocked.Increment(ref _generation);
                if (Volatile.Read(ref _sleepers) > 0)
                {
                    lock (_gate)
                    {
                        Monitor.PulseAll(_gate);
                    }
                }

                ExecuteChunks();

                // Workers read the caller's stack through _work: never leave before all of them are done.
                if (Volatile.Read(ref _pending) != 0)
                {
                    _done.Wait();
                }

                _work = null;
                Exception? failure = _firstException;
                if (failure != null)
                {
                    _firstException = null;
                    ExceptionDispatchInfo.Capture(failure).Throw();
                }
            }
            finally
            {
                Volatile.Write(ref _busy, 0);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ExecuteChunks()
        {
            try
            {
                long count = _chunkCount;
                long chunk;
                while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < count)
                {
                    _runChunk(this, _work, chunk);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _firstException, e, null);
                // Skip the chunks nobody has claimed yet.
                Volatile.Write(ref _nextChunk, long.MaxValue / 2);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void RunRangeChunk<TWork>(WorkerPool pool, void* work, long chunk) where TWork : struct, IRangeWork
        {
            long start = chunk * pool._chunkSize;
            long end = Math.Min(start + pool._chunkSize, pool._length);
            Unsafe.AsRef<TWork>(work).Execute(start, end);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void RunBatchChunk<TWork>(WorkerPool pool, void* work, long chunk) where TWork : struct, IBatchWork
        {
            long start = chunk * pool._chunkSize;
            long end = Math.Min(start + pool._chunkSize, pool._length);
            pool.ExecuteBatchChunk(ref Unsafe.AsRef<TWork>(work), start, end);
        }

        // [start, end) is in padded concatenated coordinates.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ExecuteBatchChunk<TWork>(ref TWork work, long start, long end) where TWork : struct, IBatchWork
        {
            long[] paddedStart = _batchPaddedStart;
            long[] lengths = _batchLength;
            int item = FindItem(paddedStart, _batchCount, start);
            for (; item < _batchCount && paddedStart[item] < end; item++)
            {
                long itemStart = paddedStart[item];
                long from = Math.Max(start, itemStart) - itemStart;
                long to = Math.Min(end - itemStart, lengths[item]);
                if (from < to)
                {
                    work.Execute(item, from, to);
                }
            }
        }

        // Largest item i with paddedStart[i] <= position; that item is non-empty when position < total.
        private static int FindItem(long[] paddedStart, int count, long position)
        {
            int lo = 0, hi = count - 1;
            while (lo < hi)
            {
                int mid = lo + ((hi - lo + 1) >> 1);
                if (paddedStart[mid] <= position)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return lo;
        }

        private void WorkerMain(int index, bool pin, int[] pinErrors, CountdownEvent started)
        {
            if (OperatingSystem.IsLinux())
            {
                _workerNativeThreadIds[index] = LinuxAffinity.CurrentThreadId();
                if (pin)
                {
                    pinErrors[index] = LinuxAffinity.PinCurrentThread(_workerCpus[index]);
                }
            }

            started.Signal();

            long seen = 0;
            while (true)
            {
                seen = WaitForJob(seen);
                if (_stopping)
                {
                    return;
                }

                ExecuteChunks();
                Volatile.Write(ref _workerAllocatedBytes[index], GC.GetAllocatedBytesForCurrentThread());
                if (Interlocked.Decrement(ref _pending) == 0)
                {
                    _done.Set();
                }
            }
        }

        private long WaitForJob(long seen)
        {
            // Optimizer steps dispatch back to back: a short spin avoids a futex round trip per tensor.
            var spinner = new SpinWait();
            for (int i = 0; i < WorkerSpinIterations; i++)
            {
                long generation = Volatile.Read(ref _generation);
                if (generation != seen)
                {
                    return generation;
                }

                spinner.SpinOnce(sleep1Threshold: -1);
            }

            lock (_gate)
            {
                Interlocked.Increment(ref _sleepers);
                try
                {
                    long generation;
                    while ((generation = Volatile.Read(ref _generation)) == seen)
                    {
                        Monitor.Wait(_gate);
                    }

                    return generation;
                }
                finally
                {
                    Interlocked.Decrement(ref _sleepers);
                }
            }
        }
    }
}
