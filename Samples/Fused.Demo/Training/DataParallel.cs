using System;
using System.IO;
using Fused.Demo.Model;
using Fused.Distributed;
using Fused.Distributed.Mpi;
using Spectre.Console;

namespace Fused.Demo.Training
{
    /// <summary>
    /// `mpirun -np N fused train --distributed`: data parallelism with ZeRO-1 state sharding. Every rank holds the whole
    /// model and trains on its contiguous slice of each global batch (--batch-size); the optimizer is a
    /// <see cref="ShardedOptimizer"/> (see <see cref="Optimizers.EngineOptimizer"/>), which averages the gradients over
    /// ranks, steps this rank's shard of the optimizer state and gathers the parameters, so every rank ends each step
    /// with the same weights. Rank 0 evaluates, prints and writes the report; the other ranks are quiet.
    /// </summary>
    public sealed class DataParallel : IDisposable
    {
        private readonly MpiCollectives _mpi;
        private readonly double[] _loss = new double[1];

        private DataParallel(MpiCollectives mpi) => _mpi = mpi;

        public ICollectives Collectives => _mpi;
        public int Rank => _mpi.Rank;
        public int Size => _mpi.Size;

        /// <summary>Rank 0 evaluates, prints and writes the report.</summary>
        public bool IsRoot => _mpi.Rank == 0;

        /// <summary>
        /// MPI's world of an mpirun launch of at least 2 ranks over which <paramref name="batchSize"/> divides evenly;
        /// otherwise null and a one-line <paramref name="error"/>. Silences this process's console unless it is rank 0.
        /// </summary>
        public static DataParallel? Start(int batchSize, out string? error)
        {
            error = null;
            // Open MPI's launcher sets this in every rank; a process started without mpirun would be a world of one.
            if (!int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE"), out int size) || size < 2)
            {
                error = "--distributed needs an Open MPI launch of at least 2 ranks: mpirun -np 2 fused train --distributed ...";
                return null;
            }
            if (batchSize % size != 0)
            {
                error = $"--batch-size {batchSize} does not divide over {size} ranks: the global batch is split evenly, choose a multiple of {size}";
                return null;
            }
            var parallel = new DataParallel(MpiCollectives.Initialize());
            if (!parallel.IsRoot)
            {
                System.Console.SetOut(TextWriter.Null);
                AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
            }
            return parallel;
        }

        /// <summary>
        /// This rank's share of one global batch: forward and backward on its contiguous slice, the gradients weighted so
        /// that the ranks' average is the gradient of the mean loss over the whole batch (equal slices: the slice mean as
        /// it is; a short last batch: scaled by slice × ranks / batch). Returns the global batch's mean loss (collective).
        /// </summary>
        public float TrainBatch(IModel model, ReadOnlySpan<int> batch)
        {
            int lo = (int)((long)batch.Length * Rank / Size), hi = (int)((long)batch.Length * (Rank + 1) / Size);
            float loss = 0;
            if (hi > lo) loss = model.TrainBatch(batch[lo..hi]);
            if ((hi - lo) * Size != batch.Length)
            {
                float weight = (float)(hi - lo) * Size / batch.Length;
                foreach (var p in model.Parameters)
                {
                    var g = p.Gradient;
                    for (int i = 0; i < g.Length; i++) g[i] = hi > lo ? g[i] * weight : 0f;
                }
            }
            _loss[0] = (double)loss * (hi - lo) / batch.Length;
            _mpi.AllReduceSum(_loss);
            return (float)_loss[0];
        }

        /// <summary>Finalizes MPI (every rank, after its last collective).</summary>
        public void Dispose() => _mpi.Dispose();
    }
}
