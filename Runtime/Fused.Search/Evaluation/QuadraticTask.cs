using System;
using System.Collections.Generic;
using Fused.Runtime.Kernels;

namespace Fused.Search.Evaluation
{
    /// <summary>
    /// Ill-conditioned quadratic ½·xᵀQᵀΛQx with a random rotation Q (so axis-aligned preconditioners
    /// get no free lunch) and eigenvalues log-spaced over the condition number, plus seeded gradient
    /// noise. The cheapest proxy.
    /// </summary>
    public sealed class QuadraticTask : TensorTask
    {
        private readonly int _dim;
        private readonly double[] _h; // dense Hessian QᵀΛQ, row-major
        private readonly float[][] _noise;
        private readonly List<(ShapeInfo, float[])> _parameters;

        public QuadraticTask(int dim = 16, double condition = 1e3, int steps = 100, double noise = 0.01, ulong seed = 1)
        {
            _dim = dim;
            Steps = steps;
            var rng = new SearchRandom(seed);
            var q = RandomRotation(dim, rng);
            _h = new double[dim * dim];
            for (int k = 0; k < dim; k++)
            {
                double lambda = Math.Pow(condition, dim == 1 ? 0 : (double)k / (dim - 1));
                for (int i = 0; i < dim; i++)
                    for (int j = 0; j < dim; j++)
                        _h[i * dim + j] += q[k * dim + i] * lambda * q[k * dim + j];
            }
            for (int i = 0; i < _h.Length; i++) _h[i] /= Math.Sqrt(condition); // centre the curvature scale
            _noise = new float[steps][];
            for (int s = 0; s < steps; s++) _noise[s] = Gaussian(rng, dim, noise);
            _parameters = new List<(ShapeInfo, float[])> { (ShapeInfo.Vector(dim), Gaussian(rng, dim, 1.0)) };
            Name = $"quadratic(d={dim},cond={condition:G2})";
        }

        public override string Name { get; }
        public override int Steps { get; }
        public override double BaseLearningRate => 0.3;
        protected override IReadOnlyList<(ShapeInfo shape, float[] init)> Parameters => _parameters;

        protected override void Gradient(float[][] p, float[][] g, int step)
        {
            var x = p[0];
            var noise = _noise[step - 1];
            for (int i = 0; i < _dim; i++)
            {
                double s = 0;
                for (int j = 0; j < _dim; j++) s += _h[i * _dim + j] * x[j];
                g[0][i] = (float)s + noise[i];
            }
        }

        protected override double Loss(float[][] p)
        {
            var x = p[0];
            double f = 0;
            for (int i = 0; i < _dim; i++)
            {
                double s = 0;
                for (int j = 0; j < _dim; j++) s += _h[i * _dim + j] * x[j];
                f += 0.5 * x[i] * s;
            }
            return f;
        }

        /// <summary>Rows of an orthogonal matrix, by Gram–Schmidt on Gaussian vectors.</summary>
        private static double[] RandomRotation(int n, SearchRandom rng)
        {
            var q = new double[n * n];
            for (int k = 0; k < n; k++)
            {
                for (int i = 0; i < n; i++) q[k * n + i] = rng.NextGaussian();
                for (int pass = 0; pass < 2; pass++)
                    for (int j = 0; j < k; j++)
                    {
                        double dot = 0;
                        for (int i = 0; i < n; i++) dot += q[k * n + i] * q[j * n + i];
                        for (int i = 0; i < n; i++) q[k * n + i] -= dot * q[j * n + i];
                    }
                double norm = 0;
                for (int i = 0; i < n; i++) norm += q[k * n + i] * q[k * n + i];
                norm = Math.Sqrt(norm);
                for (int i = 0; i < n; i++) q[k * n + i] /= norm;
            }
            return q;
        }
    }
}
