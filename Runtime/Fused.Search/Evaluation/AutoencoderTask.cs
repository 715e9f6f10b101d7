using System;
using System.Collections.Generic;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// A one-hidden-layer autoencoder x → tanh(W₁x + b₁) → W₂h + b₂ with mean squared reconstruction
    /// error (per pixel), trained on minibatches of one set and scored on another: a meta-validation
    /// task of another kind than classification (a regression loss, no softmax).
    /// </summary>
    public sealed class AutoencoderTask : TensorTask
    {
        private readonly ClassificationData _train, _eval;
        private readonly int _inputs, _hidden, _batch;
        private readonly int[] _order;
        private readonly List<(ShapeInfo, float[])> _parameters;

        public AutoencoderTask(string name, ClassificationData train, ClassificationData eval, int hidden, int batch, int steps, ulong seed)
        {
            Name = name;
            _train = train;
            _eval = eval;
            _inputs = train.FeatureCount;
            _hidden = hidden;
            _batch = Math.Min(batch, train.Count);
            Steps = steps;
            var rng = new SearchRandom(seed);
            _parameters = new List<(ShapeInfo, float[])>
            {
                (ShapeInfo.Matrix(hidden, _inputs), Gaussian(rng, (long)hidden * _inputs, 1.0 / Math.Sqrt(_inputs))),
                (ShapeInfo.Vector(hidden), new float[hidden]),
                (ShapeInfo.Matrix(_inputs, hidden), Gaussian(rng, (long)hidden * _inputs, 1.0 / Math.Sqrt(hidden))),
                (ShapeInfo.Vector(_inputs), new float[_inputs]),
            };
            _order = new int[train.Count];
            for (int i = 0; i < _order.Length; i++) _order[i] = i;
            for (int i = _order.Length - 1; i > 0; i--) { int j = rng.Next(i + 1); (_order[i], _order[j]) = (_order[j], _order[i]); }
        }

        public override string Name { get; }
        public override int Steps { get; }
        public override double BaseLearningRate => 0.01;
        public override double LossFloor => 1e-5;
        protected override IReadOnlyList<(ShapeInfo shape, float[] init)> Parameters => _parameters;

        /// <summary>Hidden activations and reconstruction of one sample.</summary>
        private void Forward(float[][] p, ReadOnlySpan<float> x, float[] h, float[] y)
        {
            for (int o = 0; o < _hidden; o++)
            {
                float s = p[1][o];
                var w = p[0].AsSpan(o * _inputs, _inputs);
                for (int k = 0; k < _inputs; k++) s += w[k] * x[k];
                h[o] = MathF.Tanh(s);
            }
            for (int o = 0; o < _inputs; o++)
            {
                float s = p[3][o];
                var w = p[2].AsSpan(o * _hidden, _hidden);
                for (int k = 0; k < _hidden; k++) s += w[k] * h[k];
                y[o] = s;
            }
        }

        protected override void Gradient(float[][] p, float[][] g, int step)
        {
            foreach (var x in g) Array.Clear(x);
            var h = new float[_hidden];
            var y = new float[_inputs];
            var dh = new float[_hidden];
            int start = (int)(((long)(step - 1) * _batch) % _train.Count);
            float scale = 2f / (_batch * _inputs); // d/dy of the mean over batch and pixels of (y − x)²
            for (int n = 0; n < _batch; n++)
            {
                var x = _train.Row(_order[(start + n) % _train.Count]);
                Forward(p, x, h, y);
                Array.Clear(dh);
                for (int o = 0; o < _inputs; o++)
                {
                    float d = scale * (y[o] - x[o]);
                    g[3][o] += d;
                    int wo = o * _hidden;
                    for (int k = 0; k < _hidden; k++)
                    {
                        g[2][wo + k] += d * h[k];
                        dh[k] += d * p[2][wo + k];
                    }
                }
                for (int k = 0; k < _hidden; k++)
                {
                    float d = dh[k] * (1f - h[k] * h[k]);
                    g[1][k] += d;
                    int wk = k * _inputs;
                    for (int i = 0; i < _inputs; i++) g[0][wk + i] += d * x[i];
                }
            }
        }

        protected override double Loss(float[][] p)
        {
            var h = new float[_hidden];
            var y = new float[_inputs];
            double total = 0;
            for (int n = 0; n < _eval.Count; n++)
            {
                var x = _eval.Row(n);
                Forward(p, x, h, y);
                for (int o = 0; o < _inputs; o++) total += (double)(y[o] - x[o]) * (y[o] - x[o]);
            }
            return total / ((double)_eval.Count * _inputs);
        }
    }
}
