using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// A noisy training problem the search ranks programs on: every seed is a different instance
    /// (initialisation, shuffling and data sample all drawn from it), trained under a warm-up + cosine
    /// schedule to a horizon. Programs are compared on the same seeds (paired), so the noise between
    /// instances cancels in the comparison instead of deciding it.
    /// </summary>
    public abstract class RankingTask
    {
        private readonly ConcurrentDictionary<ulong, TensorTask> _instances = new ConcurrentDictionary<ulong, TensorTask>();

        protected RankingTask(string name, int horizon, double baseLearningRate)
        {
            Name = name;
            Horizon = horizon;
            BaseLearningRate = baseLearningRate;
        }

        public string Name { get; }

        /// <summary>Training steps a candidate gets.</summary>
        public int Horizon { get; }

        /// <summary>Where AdamW's learning-rate tuning starts (it is extended when the best is on an edge).</summary>
        public double BaseLearningRate { get; }

        /// <summary>The instance of a seed (built once, then shared: instances are read-only while training).</summary>
        public TensorTask Instance(ulong seed) => _instances.GetOrAdd(seed, Create);

        protected abstract TensorTask Create(ulong seed);

        /// <summary>A seeded random sample without replacement (partial Fisher–Yates).</summary>
        internal static ClassificationData Sample(ClassificationData data, int count, SearchRandom rng)
        {
            var index = new int[data.Count];
            for (int i = 0; i < index.Length; i++) index[i] = i;
            for (int i = 0; i < count; i++) { int j = i + rng.Next(index.Length - i); (index[i], index[j]) = (index[j], index[i]); }
            var x = new float[count * data.FeatureCount];
            var y = new int[count];
            for (int n = 0; n < count; n++)
            {
                data.Row(index[n]).CopyTo(x.AsSpan(n * data.FeatureCount, data.FeatureCount));
                y[n] = data.Labels[index[n]];
            }
            return new ClassificationData(x, y, data.FeatureCount, data.ClassCount, data.Source);
        }

        /// <summary>Two disjoint seeded samples of one set: <paramref name="train"/> rows to train on and <paramref name="eval"/> to score on.</summary>
        internal static (ClassificationData train, ClassificationData eval) DisjointSamples(ClassificationData data, int train, int eval, SearchRandom rng)
        {
            var both = Sample(data, train + eval, rng);
            return (both.Slice(0, train), both.Slice(train, eval));
        }

        /// <summary>The whole set when <paramref name="count"/> is 0 or covers it, else a seeded sample.</summary>
        internal static ClassificationData SampleOrAll(ClassificationData data, int count, SearchRandom rng) =>
            count <= 0 || count >= data.Count ? data : Sample(data, count, rng);

        /// <summary>Final loss after <paramref name="steps"/> steps of a schedule peaking at <paramref name="peakLearningRate"/> (NaN: diverged).</summary>
        public double Run(FusedRule rule, float[] hypers, double peakLearningRate, int steps, ulong seed, CancellationToken ct) =>
            Instance(seed).Train(rule, hypers, steps, new LearningRateSchedule(peakLearningRate, steps), ct);
    }

    /// <summary>A tanh MLP on Fashion-MNIST (14×14): each seed trains on its own sample of a split and is scored on another sample.</summary>
    public sealed class FashionMlpRanking : RankingTask
    {
        private readonly string _directory;
        private readonly int[] _hidden;
        private readonly int _train, _eval, _batch;
        private readonly bool _trainSplit, _scoreOnTestSplit;

        /// <param name="train">Training samples per seed (0: the whole split).</param>
        /// <param name="scoreOnTestSplit">Train on the train split and score on (a sample of) the t10k split.</param>
        public FashionMlpRanking(int[] hidden, int batch, int horizon, int train, int eval, string? directory = null,
            bool scoreOnTestSplit = false, double baseLearningRate = 0.01)
            : base($"fashion-mlp({string.Join("-", new[] { 196 }.Concat(hidden))}-10,b{batch},T{horizon})", horizon, baseLearningRate)
        {
            _directory = directory ?? FashionMnist.DefaultDirectory;
            FashionMnist.Require(_directory, train: true);
            if (scoreOnTestSplit) FashionMnist.Require(_directory, train: false);
            _hidden = hidden;
            _batch = batch;
            _train = train;
            _eval = eval;
            _trainSplit = true;
            _scoreOnTestSplit = scoreOnTestSplit;
        }

        protected override TensorTask Create(ulong seed)
        {
            var rng = new SearchRandom(seed * 0x9E3779B97F4A7C15UL + 17);
            var split = FashionMnist.LoadSplit(_directory, _trainSplit);
            ClassificationData train, eval;
            if (_scoreOnTestSplit)
            {
                train = SampleOrAll(split, _train, rng);
                eval = SampleOrAll(FashionMnist.LoadSplit(_directory, train: false), _eval, rng);
            }
            else (train, eval) = DisjointSamples(split, _train, _eval, rng);
            return new ClassifierTask(Name, train, eval, _hidden, _batch, Horizon, BaseLearningRate, rng.NextULong());
        }
    }

    /// <summary>The sparse, heavy-tailed ranking task: a next-token embedding model on a Zipfian Markov corpus (see <see cref="TokenModelTask"/>).</summary>
    public sealed class TokenRanking : RankingTask
    {
        private readonly int _vocabulary, _dimension, _batch;

        public TokenRanking(int vocabulary, int dimension, int batch, int horizon, double baseLearningRate = 0.01)
            : base($"zipf-token(V{vocabulary},d{dimension},b{batch},T{horizon})", horizon, baseLearningRate)
        {
            _vocabulary = vocabulary;
            _dimension = dimension;
            _batch = batch;
        }

        protected override TensorTask Create(ulong seed) => new TokenModelTask(Name, _vocabulary, _dimension, _batch, Horizon, seed);
    }

    /// <summary>
    /// A Fashion-MNIST autoencoder (see <see cref="AutoencoderTask"/>): each seed trains on its own sample of the train split and is
    /// scored on a sample of the t10k split (meta-validation), or on another sample of the train split (<c>scoreOnTestSplit: false</c>,
    /// the search's ranking task, which never sees the test split).
    /// </summary>
    public sealed class AutoencoderRanking : RankingTask
    {
        private readonly string _directory;
        private readonly int _hidden, _batch, _train, _eval;
        private readonly bool _scoreOnTestSplit;

        public AutoencoderRanking(int hidden, int batch, int horizon, int train, int eval, string? directory = null, double baseLearningRate = 0.01,
            bool scoreOnTestSplit = true)
            : base($"fashion-autoencoder(196-{hidden}-196,b{batch},T{horizon}{(scoreOnTestSplit ? "" : ",train-split")})", horizon, baseLearningRate)
        {
            _directory = directory ?? FashionMnist.DefaultDirectory;
            FashionMnist.Require(_directory, train: true);
            if (scoreOnTestSplit) FashionMnist.Require(_directory, train: false);
            _hidden = hidden;
            _batch = batch;
            _train = train;
            _eval = eval;
            _scoreOnTestSplit = scoreOnTestSplit;
        }

        protected override TensorTask Create(ulong seed)
        {
            var rng = new SearchRandom(seed * 0x9E3779B97F4A7C15UL + 29);
            var split = FashionMnist.LoadSplit(_directory, train: true);
            var (train, eval) = _scoreOnTestSplit
                ? (SampleOrAll(split, _train, rng), SampleOrAll(FashionMnist.LoadSplit(_directory, train: false), _eval, rng))
                : DisjointSamples(split, _train, _eval, rng);
            return new AutoencoderTask(Name, train, eval, _hidden, _batch, Horizon, rng.NextULong());
        }
    }
}
