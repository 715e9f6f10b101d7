using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Fused.Demo.Data;
using Fused.Demo.Model;
using Fused.Demo.Optimizers;
using Fused.Runtime.Execution;

namespace Fused.Demo.Training
{
    /// <summary>Progress of one run, reported after every step.</summary>
    public readonly record struct TrainingProgress(string Optimizer, long Step, long TotalSteps, int Epoch, int Epochs, double RunningLoss, double? LastTestAccuracy);

    /// <summary>
    /// The one training loop, for any <see cref="IModelTask"/>: trains a fresh model with one optimizer, with the
    /// same initial weights (from the seed) and the same batch order for every optimizer, so the runs differ
    /// only in the update rule.
    /// </summary>
    public sealed class Trainer
    {
        private readonly IModelTask _task;
        private readonly TrainingOptions _options;
        private readonly WorkerPool _pool;
        private readonly DataParallel? _parallel;

        /// <summary>An image classifier on <paramref name="train"/>/<paramref name="test"/>: options.Model "mlp" (default) or "cnn".</summary>
        public Trainer(Dataset train, Dataset test, TrainingOptions options, WorkerPool pool)
            : this(ModelTasks.ForImages(options, train, test), options, pool)
        {
        }

        /// <param name="parallel">Under `mpirun --distributed`: each rank trains on its slice of every batch with a sharded optimizer; only rank 0 evaluates.</param>
        public Trainer(IModelTask task, TrainingOptions options, WorkerPool pool, DataParallel? parallel = null)
        {
            options.Validate();
            _task = task;
            _options = options;
            _pool = pool;
            _parallel = parallel;
        }

        /// <summary>The model being trained.</summary>
        public IModelTask Task => _task;

        public long StepsPerEpoch => (_task.TrainingExampleCount + _options.BatchSize - 1) / _options.BatchSize;
        public long TotalSteps => StepsPerEpoch * _options.Epochs;

        public RunResult Run(OptimizerRecipe recipe, Action<TrainingProgress>? progress = null)
        {
            int batchSize = _options.BatchSize;
            var model = _task.Create(_options.Seed, batchSize);
            using var optimizer = recipe.Create(new OptimizerContext(model.Parameters, TotalSteps, _pool) { Parallel = _parallel });
            // Same shuffles for every optimizer: the generator is seeded apart from the initialisation.
            var shuffle = new SplitMix64(_options.Seed ^ 0x5DEECE66DUL);
            var order = Enumerable.Range(0, _task.TrainingExampleCount).ToArray();
            var losses = new List<float>((int)TotalSteps);
            var evaluations = new List<EvaluationPoint>();
            double runningLoss = double.NaN;
            double? lastAccuracy = null;
            long step = 0;
            var total = Stopwatch.StartNew();
            var training = new Stopwatch();
            var optimizing = new Stopwatch();

            for (int epoch = 1; epoch <= _options.Epochs; epoch++)
            {
                shuffle.Shuffle(order);
                for (int start = 0; start < order.Length; start += batchSize)
                {
                    int batch = Math.Min(batchSize, order.Length - start);
                    step++;
                    training.Start();
                    float loss = _parallel?.TrainBatch(model, order.AsSpan(start, batch)) ?? model.TrainBatch(order.AsSpan(start, batch));
                    optimizing.Start();
                    optimizer.Step(step);
                    optimizing.Stop();
                    training.Stop();
                    losses.Add(loss);
                    runningLoss = double.IsNaN(runningLoss) ? loss : 0.98 * runningLoss + 0.02 * loss;

                    bool epochEnd = start + batchSize >= order.Length;
                    // EvaluationsPerEpoch evenly spaced evaluations, the last at the epoch's end (no near-duplicate pair there).
                    long inEpoch = step - (epoch - 1) * StepsPerEpoch;
                    if (_parallel is not { IsRoot: false } && (epochEnd || inEpoch * _options.EvaluationsPerEpoch / StepsPerEpoch != (inEpoch - 1) * _options.EvaluationsPerEpoch / StepsPerEpoch))
                    {
                        var (testLoss, accuracy) = model.Evaluate();
                        double epochPosition = epoch - 1 + (double)(step - (epoch - 1) * StepsPerEpoch) / StepsPerEpoch;
                        evaluations.Add(new EvaluationPoint(step, epochPosition, testLoss, accuracy));
                        lastAccuracy = accuracy;
                    }

                    progress?.Invoke(new TrainingProgress(recipe.Name, step, TotalSteps, epoch, _options.Epochs, runningLoss, lastAccuracy));
                    if (!float.IsFinite(loss)) break;
                }

                if (!float.IsFinite(losses[^1])) break;
            }

            var final = evaluations.Count > 0 ? evaluations[^1] : new EvaluationPoint(step, 0, double.NaN, double.NaN);
            // Final train loss: mean of the last epoch's last tenth of batches (a single batch is noisy).
            int tail = (int)Math.Max(1, Math.Min(losses.Count, StepsPerEpoch / 10));
            double finalTrainLoss = losses.Skip(losses.Count - tail).Average(l => (double)l);
            return new RunResult(
                recipe.Name, optimizer.Description, step, losses, evaluations, finalTrainLoss, final.TestAccuracy, final.TestLoss,
                training.Elapsed.TotalMilliseconds / Math.Max(1, step), optimizing.Elapsed.TotalMilliseconds / Math.Max(1, step),
                optimizer.StateBytes, model.Parameters.Sum(p => (long)p.Count), total.Elapsed.TotalSeconds) { Model = _task.Name };
        }
    }
}
