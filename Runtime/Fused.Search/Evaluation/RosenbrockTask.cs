using System.Collections.Generic;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>Chained Rosenbrock Σ 100(x[i+1] − x[i]²)² + (1 − x[i])², from a fixed start near (−1, 1, −1, ...).</summary>
    public sealed class RosenbrockTask : TensorTask
    {
        private readonly int _dim;
        private readonly List<(ShapeInfo, float[])> _parameters;

        public RosenbrockTask(int dim = 6, int steps = 200, ulong seed = 2)
        {
            _dim = dim;
            Steps = steps;
            var rng = new SearchRandom(seed);
            var init = new float[dim];
            for (int i = 0; i < dim; i++) init[i] = (i % 2 == 0 ? -1f : 1f) + (float)(0.1 * rng.NextGaussian());
            _parameters = new List<(ShapeInfo, float[])> { (ShapeInfo.Vector(dim), init) };
            Name = $"rosenbrock(d={dim})";
        }

        public override string Name { get; }
        public override int Steps { get; }
        public override double BaseLearningRate => 0.15;
        protected override IReadOnlyList<(ShapeInfo shape, float[] init)> Parameters => _parameters;

        protected override void Gradient(float[][] p, float[][] g, int step)
        {
            var x = p[0];
            var gr = g[0];
            System.Array.Clear(gr);
            for (int i = 0; i + 1 < _dim; i++)
            {
                double a = x[i + 1] - (double)x[i] * x[i];
                gr[i] += (float)(-400 * x[i] * a - 2 * (1 - x[i]));
                gr[i + 1] += (float)(200 * a);
            }
        }

        protected override double Loss(float[][] p)
        {
            var x = p[0];
            double f = 0;
            for (int i = 0; i + 1 < _dim; i++)
            {
                double a = x[i + 1] - (double)x[i] * x[i];
                f += 100 * a * a + (1 - x[i]) * (1 - x[i]);
            }
            return f;
        }
    }
}
