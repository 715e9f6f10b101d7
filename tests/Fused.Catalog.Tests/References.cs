using System;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// Float64 reference steps written from the seed documents' formulas (seed 000: SGD-momentum, AdamW,
    /// Lion; seed 003: SGD, AdaGrad, RMSprop, Adam, AdamW, SignSGD, Lion; seed 001: Tiger; ADOPT from
    /// Taniguchi et al. 2024 as the rule's doc comment describes it). Each updates its buffers in place
    /// and knows nothing of the generator, the IR or the kernels. Hyperparameters arrive as the float32
    /// values the kernels get, widened to double; t is the 1-based step.
    /// </summary>
    public static class References
    {
        /// <summary>Relative width of the band around zero in which a sign argument counts as a tie.</summary>
        public const double TieTolerance = 1e-5;

        private static bool IsTie(double x, double sumOfAbsTerms) => Math.Abs(x) <= TieTolerance * sumOfAbsTerms;

        private static double Sign(double x) => x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;

        /// <summary>θ ← θ − η·g.</summary>
        public static void SgdRef(double[] p, double[] g, double lr)
        {
            for (int i = 0; i < p.Length; i++) p[i] -= lr * g[i];
        }

        /// <summary>Heavy ball (seed 000): m ← β·m + g; θ ← θ − η·m.</summary>
        public static void SgdMomentumRef(double[] p, double[] g, double[] m, double lr, double beta)
        {
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = beta * m[i] + g[i];
                p[i] -= lr * m[i];
            }
        }

        /// <summary>Nesterov in PyTorch's form: m ← β·m + g; θ ← θ − η·(g + β·m) (with the new m).</summary>
        public static void NesterovRef(double[] p, double[] g, double[] m, double lr, double beta)
        {
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = beta * m[i] + g[i];
                p[i] -= lr * (g[i] + beta * m[i]);
            }
        }

        /// <summary>AdaGrad (seed 003): G ← G + g²; θ ← θ − η·g / √(G + ε).</summary>
        public static void AdaGradRef(double[] p, double[] g, double[] sumSq, double lr, double eps)
        {
            for (int i = 0; i < p.Length; i++)
            {
                sumSq[i] += g[i] * g[i];
                p[i] -= lr * g[i] / Math.Sqrt(sumSq[i] + eps);
            }
        }

        /// <summary>RMSprop (seed 003): v ← β₂·v + (1 − β₂)·g²; θ ← θ − η·g / √(v + ε).</summary>
        public static void RmsPropRef(double[] p, double[] g, double[] v, double lr, double beta2, double eps)
        {
            for (int i = 0; i < p.Length; i++)
            {
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                p[i] -= lr * g[i] / Math.Sqrt(v[i] + eps);
            }
        }

        /// <summary>
        /// Adam with coupled L2 decay (seed 003 ch. 5, "the bug"): g ← g + λ·θ, then Adam:
        /// m, v EMAs, bias-corrected m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ), θ ← θ − η·m̂ / (√v̂ + ε).
        /// </summary>
        public static void AdamL2Ref(double[] p, double[] grad, double[] m, double[] v,
            double lr, double beta1, double beta2, double eps, double weightDecay, int t)
        {
            double c1 = 1 - Math.Pow(beta1, t), c2 = 1 - Math.Pow(beta2, t);
            for (int i = 0; i < p.Length; i++)
            {
                double g = grad[i] + weightDecay * p[i];
                m[i] = beta1 * m[i] + (1 - beta1) * g;
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                double mHat = m[i] / c1, vHat = v[i] / c2;
                p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }

        /// <summary>AdamW (seed 000): Adam's moments and bias correction; θ ← θ − η·(m̂ / (√v̂ + ε) + λ·θ).</summary>
        public static void AdamWRef(double[] p, double[] g, double[] m, double[] v,
            double lr, double beta1, double beta2, double eps, double weightDecay, int t)
        {
            double c1 = 1 - Math.Pow(beta1, t), c2 = 1 - Math.Pow(beta2, t);
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                double mHat = m[i] / c1, vHat = v[i] / c2;
                p[i] = p[i] - lr * (mHat / (Math.Sqrt(vHat) + eps) + weightDecay * p[i]);
            }
        }

        /// <summary>SignSGD (seed 003 ch. 6): θ ← θ − η·sign(g).</summary>
        public static void SignSgdRef(double[] p, double[] g, double lr, bool[]? tie)
        {
            for (int i = 0; i < p.Length; i++)
            {
                if (tie != null) tie[i] = IsTie(g[i], Math.Abs(g[i]));
                p[i] -= lr * Sign(g[i]);
            }
        }

        /// <summary>
        /// Lion (seed 000 / 001): c = β₁·m + (1 − β₁)·g; θ ← θ − η·(sign(c) + λ·θ); m ← β₂·m + (1 − β₂)·g.
        /// </summary>
        public static void LionRef(double[] p, double[] g, double[] m,
            double lr, double beta1, double beta2, double weightDecay, bool[]? tie)
        {
            for (int i = 0; i < p.Length; i++)
            {
                double a = beta1 * m[i], b = (1 - beta1) * g[i];
                double c = a + b;
                if (tie != null) tie[i] = IsTie(c, Math.Abs(a) + Math.Abs(b));
                p[i] = p[i] - lr * (Sign(c) + weightDecay * p[i]);
                m[i] = beta2 * m[i] + (1 - beta2) * g[i];
            }
        }

        /// <summary>Tiger (seed 001): m ← β·m + (1 − β)·g; θ ← θ − η·(sign(m) + λ·θ).</summary>
        public static void TigerRef(double[] p, double[] g, double[] m, double lr, double beta, double weightDecay, bool[]? tie)
        {
            for (int i = 0; i < p.Length; i++)
            {
                double a = beta * m[i], b = (1 - beta) * g[i];
                m[i] = a + b;
                if (tie != null) tie[i] = IsTie(m[i], Math.Abs(a) + Math.Abs(b));
                p[i] = p[i] - lr * (Sign(m[i]) + weightDecay * p[i]);
            }
        }

        /// <summary>
        /// ADOPT (Taniguchi et al. 2024), as Adopt.cs documents it: at t = 1 only v ← g² (m and θ
        /// unchanged). Afterwards the gradient is normalised by the previous second moment,
        /// n = clip(g / max(√v, ε), ±(t − 1)^¼), then m ← β₁·m + (1 − β₁)·n,
        /// θ ← θ − η·(m + λ·θ) (decoupled decay), and finally v ← β₂·v + (1 − β₂)·g².
        /// </summary>
        public static void AdoptRef(double[] p, double[] g, double[] m, double[] v,
            double lr, double beta1, double beta2, double eps, double weightDecay, int t)
        {
            double limit = Math.Pow(t - 1, 0.25);
            for (int i = 0; i < p.Length; i++)
            {
                if (t == 1)
                {
                    v[i] = g[i] * g[i];
                    continue;
                }
                double n = g[i] / Math.Max(Math.Sqrt(v[i]), eps);
                n = Math.Min(Math.Max(n, -limit), limit);
                m[i] = beta1 * m[i] + (1 - beta1) * n;
                p[i] = p[i] - lr * (m[i] + weightDecay * p[i]);
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            }
        }
    }
}
