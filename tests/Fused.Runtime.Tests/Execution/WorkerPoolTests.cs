using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fused.Runtime.Execution;
using Xunit;

namespace Fused.Runtime.Tests.Execution
{
    public class WorkerPoolTests
    {
        private struct CountingWork : IRangeWork
        {
            public int[] Counts;
            public ConcurrentQueue<(long Start, long End)>? Ranges;

            public void Execute(long start, long end)
            {
                Ranges?.Enqueue((start, end));
                for (long i = start; i < end; i++)
                {
                    Interlocked.Increment(ref Counts[i]);
                }
            }
        }

        private struct BatchCountingWork : IBatchWork
        {
            public int[][] Counts;
            public ConcurrentQueue<(int Item, long Start, long End)> Ranges;

            public void Execute(int item, long start, long end)
            {
                Ranges.Enqueue((item, start, end));
                for (long i = start; i < end; i++)
                {
                    Interlocked.Increment(ref Counts[item][i]);
                }
            }
        }

        [Theory]
        [InlineData(1, 0)]
        [InlineData(1, 100_003)]
        [InlineData(2, 1)]
        [InlineData(2, 63)]
        [InlineData(2, 65)]
        [InlineData(3, 200_001)]
        [InlineData(4, 1_000_037)]
        public void Run_CoversEveryElementExactlyOnce_WithAlignedDeterministicChunks(int dop, int length)
        {
            using var pool = new WorkerPool(dop);
            List<(long, long)> first = RunAndRecord(pool, length, grain: 1000, out int[] counts);
            Assert.All(counts, c => Assert.Equal(1, c));

            List<(long, long)> second = RunAndRecord(pool, length, grain: 1000, out _);
            Assert.Equal(first, second);

            using var other = new WorkerPool(dop);
            Assert.Equal(first, RunAndRecord(other, length, grain: 1000, out _));

            long chunk = pool.GetChunkSize(length, 1000);
            Assert.True(chunk % 64 == 0 && chunk >= 1000);
            long expectedStart = 0;
            foreach (var (start, end) in first)
            {
                Assert.Equal(expectedStart, start);
                Assert.Equal(Math.Min(start + chunk, length), end);
                expectedStart = end;
            }

            Assert.Equal(length, expectedStart);
        }

        private static List<(long, long)> RunAndRecord(WorkerPool pool, int length, int grain, out int[] counts)
        {
            var work = new CountingWork { Counts = new int[length], Ranges = new ConcurrentQueue<(long, long)>() };
            pool.Run(ref work, length, grain);
            counts = work.Counts;
            return work.Ranges!.OrderBy(r => r.Start).ToList();
        }

        [Fact]
        public void Run_UsesSeveralThreads_ForLargeRanges()
        {
            using var pool = new WorkerPool(2);
            var threads = new ConcurrentDictionary<int, bool>();
            var work = new ThreadRecordingWork { Threads = threads };
            // Each chunk sleeps so the caller cannot finish all chunks before the worker wakes.
            pool.Run(ref work, 64 * 8, grain: 64);
            Assert.Equal(2, threads.Count);
        }

        private struct ThreadRecordingWork : IRangeWork
        {
            public ConcurrentDictionary<int, bool> Threads;

            public void Execute(long start, long end)
            {
                Threads[Environment.CurrentManagedThreadId] = true;
                Thread.Sleep(20);
            }
        }

        [Fact]
        public void RunBatch_CoversEveryElementOfEveryItem_WithRangesAlignedWithinItems()
        {
            var rng = new Random(Environment.TickCount);
            int items = 1000;
            long[] lengths = new long[items];
            for (int i = 0; i < items; i++)
            {
                // Zero-length items and odd sizes on purpose.
                lengths[i] = rng.Next(8) == 0 ? 0 : rng.Next(1, 5000);
            }

            using var pool = new WorkerPool(3);
            var work = new BatchCountingWork
            {
                Counts = lengths.Select(n => new int[n]).ToArray(),
                Ranges = new ConcurrentQueue<(int, long, long)>(),
            };
            pool.RunBatch(ref work, lengths, grain: 4096);

            for (int i = 0; i < items; i++)
            {
                Assert.All(work.Counts[i], c => Assert.Equal(1, c));
            }

            Assert.All(work.Ranges, r => Assert.Equal(0, r.Start % 64));

            // Deterministic: same lengths, same ranges.
            var again = new BatchCountingWork
            {
                Counts = lengths.Select(n => new int[n]).ToArray(),
                Ranges = new ConcurrentQueue<(int, long, long)>(),
            };
            pool.RunBatch(ref again, lengths, grain: 4096);
            Assert.Equal(work.Ranges.OrderBy(r => r).ToList(), again.Ranges.OrderBy(r => r).ToList());
        }

        [Fact]
        public void RunBatch_OfManySmallTensors_IsSplitLikeOneTensorOfTheSameTotal()
        {
            // 1000 × 4096 must cost one dispatch with as many chunks as a single 4M range, not 1000 dispatches.
            using var pool = new WorkerPool(2);
            long[] lengths = Enumerable.Repeat(4096L, 1000).ToArray();
            var chunksSeen = new ConcurrentDictionary<long, bool>();
            var work = new ChunkIdWork { ChunkSize = pool.GetChunkSize(4096L * 1000, 0), Seen = chunksSeen };
            pool.RunBatch(ref work, lengths);
            long single = (4096L * 1000 + work.ChunkSize - 1) / work.ChunkSize;
            Assert.Equal(single, chunksSeen.Count);
        }

        private struct ChunkIdWork : IBatchWork
        {
            public long ChunkSize;
            public ConcurrentDictionary<long, bool> Seen;

            public void Execute(int item, long start, long end) => Seen[(item * 4096L + start) / ChunkSize] = true;
        }

        private sealed class WorkFailure : Exception
        {
            public WorkFailure(string message) : base(message) { }
        }

        private struct ThrowingWork : IRangeWork
        {
            public int CallerThread;
            public bool ThrowOnWorkerOnly;

            public void Execute(long start, long end)
            {
                if (!ThrowOnWorkerOnly && start == 64 * 5)
                {
                    throw new WorkFailure($"chunk at {start}");
                }

                if (ThrowOnWorkerOnly)
                {
                    if (Environment.CurrentManagedThreadId == CallerThread)
                    {
                        Thread.Sleep(200); // leave the remaining chunks to the worker
                    }
                    else
                    {
                        throw new WorkFailure("from worker");
                    }
                }
            }
        }

        [Fact]
        public void Exceptions_InWorkersAndCaller_PropagateToTheCaller_AndThePoolStaysUsable()
        {
            using var pool = new WorkerPool(2);
            var failing = new ThrowingWork();
            var e = Assert.Throws<WorkFailure>(() => pool.Run(ref failing, 64 * 40, grain: 64));
            Assert.Equal("chunk at 320", e.Message);

            var workerFailing = new ThrowingWork { ThrowOnWorkerOnly = true, CallerThread = Environment.CurrentManagedThreadId };
            var we = Assert.Throws<WorkFailure>(() => pool.Run(ref workerFailing, 64 * 4, grain: 64));
            Assert.Equal("from worker", we.Message);

            var ok = new CountingWork { Counts = new int[100_000] };
            pool.Run(ref ok, 100_000, grain: 64);
            Assert.All(ok.Counts, c => Assert.Equal(1, c));
        }

        private struct NestedWork : IRangeWork
        {
            public WorkerPool Pool;
            public int[] Nested;

            public void Execute(long start, long end)
            {
                var inner = new CountingWork { Counts = Nested };
                Pool.Run(ref inner, 10, 64);
            }
        }

        [Fact]
        public void NestedDispatch_IsRejected()
        {
            using var pool = new WorkerPool(2);
            var work = new NestedWork { Pool = pool, Nested = new int[10] };
            var e = Assert.Throws<InvalidOperationException>(() => pool.Run(ref work, 10, 64));
            Assert.Contains("already running", e.Message);
        }

        [Fact]
        public void Dispose_StopsWorkers_AndLaterRunThrows()
        {
            var pool = new WorkerPool(3);
            pool.Dispose();
            pool.Dispose();
            var work = new CountingWork { Counts = new int[10] };
            Assert.Throws<ObjectDisposedException>(() => pool.Run(ref work, 10));
        }

        [Fact]
        public void InvalidArguments_AreRejected()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerPool(-1));
            using var pool = new WorkerPool(2);
            var work = new CountingWork { Counts = new int[10] };
            Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(ref work, -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(ref work, 10, -5));
            var batch = new BatchCountingWork { Counts = new int[1][], Ranges = new() };
            Assert.Throws<ArgumentOutOfRangeException>(() => pool.RunBatch(ref batch, new long[] { -3 }));
        }

        [Fact]
        public void DefaultDegreeOfParallelism_IsProcessorCount()
        {
            using var pool = new WorkerPool();
            Assert.Equal(Environment.ProcessorCount, pool.DegreeOfParallelism);
            Assert.Equal(Environment.ProcessorCount - 1, pool.WorkerThreadCount);
        }
    }
}
