using System.Collections.Generic;
using Fused.Ir;

namespace Fused.Search.Mutation
{
    /// <summary>
    /// The typed functions mutations may insert, by arity, with sampling weights. Guarded ops (Sqrt,
    /// Rsqrt, Log, Pow) are protected afterwards by <see cref="ProgramNormalizer"/>. Whole-tensor
    /// reductions are left out: they multiply passes and the proxies are too small to reward them.
    /// </summary>
    public static class FunctionSet
    {
        public static readonly IReadOnlyList<(Op op, double weight)> Unary = new[]
        {
            (Op.Neg, 1.0), (Op.Abs, 1.0), (Op.Sign, 2.0), (Op.Sqrt, 1.0), (Op.Rsqrt, 0.5), (Op.Exp, 0.5), (Op.Log, 0.5),
        };

        public static readonly IReadOnlyList<(Op op, double weight)> Binary = new[]
        {
            (Op.Add, 2.0), (Op.Sub, 1.5), (Op.Mul, 2.0), (Op.Div, 1.0), (Op.Min, 0.5), (Op.Max, 0.5), (Op.Pow, 0.3),
        };

        public static readonly IReadOnlyList<(Op op, double weight)> Compare = new[]
        {
            (Op.Lt, 1.0), (Op.Gt, 1.0), (Op.Le, 0.3), (Op.Ge, 0.3),
        };

        public static Op Sample(IReadOnlyList<(Op op, double weight)> table, SearchRandom rng)
        {
            double total = 0;
            foreach (var (_, w) in table) total += w;
            double x = rng.NextDouble() * total;
            foreach (var (op, w) in table)
            {
                x -= w;
                if (x < 0) return op;
            }
            return table[table.Count - 1].op;
        }

        /// <summary>Ops that can replace <paramref name="op"/> in place (same arity and types).</summary>
        public static IReadOnlyList<(Op op, double weight)>? PeersOf(Op op) => OpInfo.Group(op) switch
        {
            OpGroup.Unary => Unary,
            OpGroup.Binary => Binary,
            OpGroup.Compare => Compare,
            _ => null,
        };

        /// <summary>A fresh constant: common round values or a log-uniform magnitude with random sign.</summary>
        public static float SampleConstant(SearchRandom rng)
        {
            if (rng.Chance(0.5))
            {
                float[] common = { 0.5f, 1f, 2f, 0.1f, 0.9f, 0.99f, 0.999f, 1e-3f, 1e-8f, -1f };
                return common[rng.Next(common.Length)];
            }
            double magnitude = System.Math.Pow(10, -4 + 5 * rng.NextDouble());
            return (float)(rng.Chance(0.8) ? magnitude : -magnitude);
        }
    }
}
