using System;
using System.Collections.Generic;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// Next-token prediction with an embedding model, logits = W·E[token] + b, softmax cross-entropy,
    /// on a Zipfian Markov corpus: token a's successor follows Zipf(s) over a permutation chosen by
    /// a's cluster (a mod 8), so the chain is learnable by a low-rank model and token frequencies are
    /// heavy-tailed. A minibatch touches few embedding rows, most of them rarely: the sparse,
    /// heavy-tailed gradients on which adaptive and sign methods differ. Seeded: the permutations
    /// (the "language"), the corpus, the initialisation and the batches all come from the seed.
    /// Scored by the mean loss on a held-out continuation of the corpus.
    /// </summary>
    public sealed class TokenModelTask : TensorTask
    {
        public const int Clusters = 8;
        public const double ZipfExponent = 1.1;

        private readonly int _vocabulary, _dimension, _batch;
        private readonly int[] _train, _eval;
        private readonly ulong _batchSeed;
        private readonly List<(ShapeInfo, float[])> _parameters;

        public TokenModelTask(string name, int vocabulary, int dimension, int batch, int steps, ulong seed, int corpus = 32768, int heldOut = 4096)
        {
            Name = name;
            _vocabulary = vocabulary;
            _dimension = dimension;
            _batch = batch;
            Steps = steps;
            var rng = new SearchRandom(seed * 0xD1B54A32D192ED03UL + 5);
            var permutations = new int[Clusters][];
            for (int c = 0; c < Clusters; c++)
            {
                var p = new int[vocabulary];
                for (int i = 0; i < vocabulary; i++) p[i] = i;
                for (int i = vocabulary - 1; i > 0; i--) { int j = rng.Next(i + 1); (p[i], p[j]) = (p[j], p[i]); }
                permutations[c] = p;
            }
            var cdf = new double[vocabulary];
            double total = 0;
            for (int r = 0; r < vocabulary; r++) cdf[r] = total += Math.Pow(r + 1, -ZipfExponent);
            int[] Stream(int length, int first)
            {
                var s = new int[length];
                s[0] = first;
                for (int i = 1; i < length; i++)
                {
                    int rank = Array.BinarySearch(cdf, rng.NextDouble() * total);
                    if (rank < 0) rank = ~rank;
                    s[i] = permutations[s[i - 1] % Clusters][Math.Min(rank, vocabulary - 1)];
                }
                return s;
            }
            _train = Stream(corpus, rng.Next(vocabulary));
            _eval = Stream(heldOut + 1, _train[^1]);
            _parameters = new List<(ShapeInfo, float[])>
            {
                (ShapeInfo.Matrix(vocabulary, dimension), Gaussian(rng, (long)vocabulary * dimension, 1.0)),
                (ShapeInfo.Matrix(vocabulary, dimension), Gaussian(rng, (long)vocabulary * dimension, 1.0 / Math.Sqrt(dimension))),
                (ShapeInfo.Vector(vocabulary), new float[vocabulary]),
            };
            _batchSeed = rng.NextULong();
        }

        public override string Name { get; }
        public override int Steps { get; }
        public override double BaseLearningRate => 0.01;
        public override double LossFloor => 1e-4;
        protected override IReadOnlyList<(ShapeInfo shape, float[] init)> Parameters => _parameters;

        /// <summary>The (context, next) pairs of step <paramref name="step"/>: positions drawn from a stream of the step alone, so steps are reproducible in any order.</summary>
        public int[] BatchPositions(int step)
        {
            var rng = new SearchRandom(_batchSeed ^ ((ulong)step * 0x9E3779B97F4A7C15UL));
            var positions = new int[_batch];
            for (int i = 0; i < _batch; i++) positions[i] = rng.Next(_train.Length - 1);
            return positions;
        }

        /// <summary>The training corpus (read-only), for tests.</summary>
        public IReadOnlyList<int> TrainingTokens => _train;

        protected override void Gradient(float[][] p, float[][] g, int step)
        {
            foreach (var x in g) Array.Clear(x);
            var positions = BatchPositions(step);
            var delta = new double[_vocabulary];
            foreach (var pos in positions)
            {
                int a = _train[pos], y = _train[pos + 1];
                Probabilities(p, a, delta);
                delta[y] -= 1;
                int ea = a * _dimension;
                for (int j = 0; j < _vocabulary; j++)
                {
                    float d = (float)(delta[j] / _batch);
                    g[2][j] += d;
                    int wj = j * _dimension;
                    for (int k = 0; k < _dimension; k++)
                    {
                        g[1][wj + k] += d * p[0][ea + k];
                        g[0][ea + k] += d * p[1][wj + k];
                    }
                }
            }
        }

        protected override double Loss(float[][] p)
        {
            var probs = new double[_vocabulary];
            double loss = 0;
            for (int i = 0; i + 1 < _eval.Length; i++)
            {
                Probabilities(p, _eval[i], probs);
                loss -= Math.Log(Math.Max(probs[_eval[i + 1]], 1e-300));
            }
            return loss / (_eval.Length - 1);
        }

        /// <summary>Softmax of the logits for context token <paramref name="a"/>, in float64.</summary>
        private void Probabilities(float[][] p, int a, double[] probs)
        {
            int ea = a * _dimension;
            double max = double.NegativeInfinity;
            for (int j = 0; j < _vocabulary; j++)
            {
                double s = p[2][j];
                int wj = j * _dimension;
                for (int k = 0; k < _dimension; k++) s += (double)p[1][wj + k] * p[0][ea + k];
                probs[j] = s;
                if (s > max) max = s;
            }
            double sum = 0;
            for (int j = 0; j < _vocabulary; j++) sum += probs[j] = Math.Exp(probs[j] - max);
            for (int j = 0; j < _vocabulary; j++) probs[j] /= sum;
        }
    }
}
