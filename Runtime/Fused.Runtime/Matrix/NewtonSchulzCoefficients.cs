using System;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// One quintic Newton-Schulz step X ← a·X + b·(X·Xᵀ)·X + c·(X·Xᵀ)²·X, i.e. each singular value σ
    /// maps to a·σ + b·σ³ + c·σ⁵.
    /// </summary>
    /// <param name="A">Linear coefficient.</param>
    /// <param name="B">Cubic coefficient.</param>
    /// <param name="C">Quintic coefficient.</param>
    public readonly record struct NewtonSchulzCoefficients(double A, double B, double C)
    {
        /// <summary>The step applied to one singular value: a·σ + b·σ³ + c·σ⁵.</summary>
        public double Apply(double sigma)
        {
            double square = sigma * sigma;
            return sigma * (A + (square * (B + (square * C))));
        }

        internal void Validate(string name)
        {
            if (!double.IsFinite(A) || !double.IsFinite(B) || !double.IsFinite(C))
            {
                throw new ArgumentException($"{name} has a non-finite coefficient ({A}, {B}, {C}).", name);
            }
        }
    }
}
