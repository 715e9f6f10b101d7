using System;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// Float64 reference steps for the catalog rules that use whole-tensor statistics (several passes):
    /// C-AdamW and C-Lion (seed 001, cautious optimizers), LAMB (You et al. 2019), Tiger in its full form
    /// (seed 001, bojone/tiger) and HyperBall-AdamW (seed 003 ch. 12). Written from the formulas in the
    /// rules' doc comments and the seeds, in plain double arithmetic; they know nothing of the IR, the
    /// passes or the generated kernels. Mean(x) = Σx/numel, Norm(x) = √Σx², Rms(x) = √(Σx²/numel).
    /// </summary>
    public static class MultiPassReferences
    {
        /// <summary>Relative width of the band around zero in which a sign argument counts as a tie.</summary>
        public const double TieTolerance = References.TieTolerance;

        /// <summary>Products below this may underflow (or flush to zero) in float32: the mask decision is then a tie too.</summary>
        public const double UnderflowProduct = 1e-30;

        private static double Sign(double x) => x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;

        private static double SumSquares(double[] a)
        {
            double s = 0;
            foreach (var x in a) s += x * x;
            return s;
        }

        /// <summary>
        /// The per-element half of a cautious step: the base optimizer's direction u, the mask decision
        /// [u·g &gt; 0] and whether that decision is a near tie. The parameter update needs the mask's mean over
        /// the whole tensor, so it is applied separately for a given mask count (<see cref="Param"/>).
        /// </summary>
        public sealed class CautiousStep
        {
            public CautiousStep(int n) { U = new double[n]; Mask = new bool[n]; Tie = new bool[n]; P0 = new double[n]; }
            public double[] U { get; }
            public bool[] Mask { get; }
            public bool[] Tie { get; }
            /// <summary>θ at entry.</summary>
            public double[] P0 { get; }
            public double Lr { get; set; }
            public double WeightDecay { get; set; }

            /// <summary>The reference's own mask count Σ mask.</summary>
            public int Count
            {
                get { int c = 0; foreach (var b in Mask) if (b) c++; return c; }
            }

            /// <summary>
            /// θ ← θ − η·(u·mask / max(count/numel, 1e-3) + λ·θ), with the given mask count (the reference's
            /// own, or the kernel's when a near-tie decision went the other way there).
            /// </summary>
            public double[] Param(int count)
            {
                int n = P0.Length;
                double scale = Math.Max((double)count / n, 1e-3);
                var p = new double[n];
                for (int i = 0; i < n; i++)
                {
                    double u = Mask[i] ? U[i] / scale : 0.0;
                    p[i] = P0[i] - Lr * (u + WeightDecay * P0[i]);
                }
                return p;
            }
        }

        /// <summary>
        /// C-AdamW: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², u = m̂ / (√v̂ + ε) with m̂ = m/(1−β₁ᵗ),
        /// v̂ = v/(1−β₂ᵗ); mask = [u·g &gt; 0]; θ ← θ − η·(u·mask / max(mean(mask), 1e-3) + λθ).
        /// Updates m and v in place; θ is left to <see cref="CautiousStep.Param"/>.
        /// </summary>
        public static CautiousStep CautiousAdamWMoments(double[] p, double[] g, double[] m, double[] v,
            double lr, double beta1, double beta2, double eps, double weightDecay, int t)
        {
            int n = p.Length;
            var s = new CautiousStep(n) { Lr = lr, WeightDecay = weightDecay };
            double c1 = 1 - Math.Pow(beta1, t), c2 = 1 - Math.Pow(beta2, t);
            for (int i = 0; i < n; i++)
            {
                s.P0[i] = p[i];
                double a = beta1 * m[i], b = (1 - beta1) * g[i];
                m[i] = a + b;
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                double u = m[i] / c1 / (Math.Sqrt(v[i] / c2) + eps);
                s.U[i] = u;
                s.Mask[i] = u * g[i] > 0;
                // sign(u) = sign(m): a decision is a tie when m is a cancellation of its two terms, or
                // when u·g is so small that float32 could flush it to zero.
                s.Tie[i] = g[i] != 0 && (Math.Abs(m[i]) <= TieTolerance * (Math.Abs(a) + Math.Abs(b))
                                         || Math.Abs(u * g[i]) < UnderflowProduct);
            }
            return s;
        }

        /// <summary>
        /// C-Lion: c = β₁m + (1−β₁)g, u = sign(c), mask = [u·g &gt; 0],
        /// θ ← θ − η·(u·mask / max(mean(mask), 1e-3) + λθ), m ← β₂m + (1−β₂)g.
        /// Updates m in place; θ is left to <see cref="CautiousStep.Param"/>.
        /// </summary>
        public static CautiousStep CautiousLionMoments(double[] p, double[] g, double[] m,
            double lr, double beta1, double beta2, double weightDecay)
        {
            int n = p.Length;
            var s = new CautiousStep(n) { Lr = lr, WeightDecay = weightDecay };
            for (int i = 0; i < n; i++)
            {
                s.P0[i] = p[i];
                double a = beta1 * m[i], b = (1 - beta1) * g[i];
                double c = a + b;
                double u = Sign(c);
                s.U[i] = u;
                s.Mask[i] = u * g[i] > 0;
                s.Tie[i] = g[i] != 0 && Math.Abs(c) <= TieTolerance * (Math.Abs(a) + Math.Abs(b));
                m[i] = beta2 * m[i] + (1 - beta2) * g[i];
            }
            return s;
        }

        /// <summary>
        /// LAMB: Adam moments, r = m̂/(√v̂ + ε) + λθ, trust = ‖θ‖/‖r‖ (1 when either norm is zero),
        /// θ ← θ − η·trust·r. ‖θ‖ is the norm at entry. Returns the trust ratio.
        /// </summary>
        public static double LambRef(double[] p, double[] g, double[] m, double[] v,
            double lr, double beta1, double beta2, double eps, double weightDecay, int t)
        {
            int n = p.Length;
            double c1 = 1 - Math.Pow(beta1, t), c2 = 1 - Math.Pow(beta2, t);
            var r = new double[n];
            for (int i = 0; i < n; i++)
            {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                r[i] = (m[i] / c1) / (Math.Sqrt(v[i] / c2) + eps) + weightDecay * p[i];
            }
            double pn = Math.Sqrt(SumSquares(p)), rn = Math.Sqrt(SumSquares(r));
            double trust = pn > 0 && rn > 0 ? pn / rn : 1.0;
            for (int i = 0; i < n; i++) p[i] -= lr * trust * r[i];
            return trust;
        }

        /// <summary>
        /// Tiger (full): η' = η·rms(θ) (θ at entry), m ← βm + (1−β)g, θ ← θ − η'·(sign(m) + λθ).
        /// <paramref name="tie"/>[i] is set where sign(m) is a near tie (m a cancellation).
        /// </summary>
        public static void TigerFullRef(double[] p, double[] g, double[] m, double lr, double beta, double weightDecay, bool[] tie)
        {
            int n = p.Length;
            double scaledLr = n == 0 ? 0 : lr * Math.Sqrt(SumSquares(p) / n);
            for (int i = 0; i < n; i++)
            {
                double a = beta * m[i], b = (1 - beta) * g[i];
                m[i] = a + b;
                tie[i] = g[i] != 0 && Math.Abs(m[i]) <= TieTolerance * (Math.Abs(a) + Math.Abs(b));
                p[i] = p[i] - scaledLr * (Sign(m[i]) + weightDecay * p[i]);
            }
        }

        /// <summary>
        /// HyperBall-AdamW: R = ‖θ‖ at t = 1 (kept in the scalar state afterwards); Adam moments;
        /// u = m̂/(√v̂ + ε); θ' = θ − η·R·u / max(‖u‖, 1e-12); θ ← R·θ' / max(‖θ'‖, 1e-12).
        /// radius is the one-element scalar state.
        /// </summary>
        public static void HyperBallAdamWRef(double[] p, double[] g, double[] m, double[] v, double[] radius,
            double lr, double beta1, double beta2, double eps, int t)
        {
            int n = p.Length;
            double r = t == 1 ? Math.Sqrt(SumSquares(p)) : radius[0];
            double c1 = 1 - Math.Pow(beta1, t), c2 = 1 - Math.Pow(beta2, t);
            var u = new double[n];
            for (int i = 0; i < n; i++)
            {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                u[i] = (m[i] / c1) / (Math.Sqrt(v[i] / c2) + eps);
            }
            double un = Math.Max(Math.Sqrt(SumSquares(u)), 1e-12);
            var moved = new double[n];
            for (int i = 0; i < n; i++) moved[i] = p[i] - lr * r * u[i] / un;
            double mn = Math.Max(Math.Sqrt(SumSquares(moved)), 1e-12);
            for (int i = 0; i < n; i++) p[i] = r * moved[i] / mn;
            radius[0] = r;
        }
    }
}
