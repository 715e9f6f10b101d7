using Fused;
using static Fused.Intrinsics;

namespace Fused.Ilgpu.Tests
{
    /// <summary>
    /// A rule that uses every element-wise op on the gradient (Exp, Log, Pow on the device, Sign, Abs, Min/Max, Where,
    /// Rsqrt, comparisons, And/Or/Not) and a max reduction, so the ILGPU kernels compute each of them at least once.
    /// Not a useful optimizer.
    /// </summary>
    [Optimizer]
    public static partial class EveryOp
    {
        static void Update(ref float param, float grad, [State] ref float a, [State] ref float b,
            [Hyper(0.5)] float k, [Hyper(1e-3)] float lr)
        {
            var e = Exp(grad * k) + Log(Abs(grad) + 1e-30f) + Pow(Abs(param), k);
            var s = Sign(grad) * Rsqrt(Abs(grad) + 1e-6f) + Min(grad, param) - Max(grad, -param);
            var c = Where((grad > 0f && param <= 0.25f) || !(grad != param) || grad == 0f || grad < -0.4f || grad >= 0.3f, e, s);
            a = c + 0.5f * a;
            b = Exp(grad * 20f) + Log(Abs(grad)) + Pow(Abs(grad), param * 3f) + Log(Max(grad, 0f)) + 0.25f * b;
            param -= lr * c / (MaxAbs(c) + 1f);
        }
    }

    /// <summary>An internal rule class: ILGPU compiles its kernels only because the generator opens internals to ILGPURuntime.</summary>
    [Optimizer]
    internal static partial class InternalMomentum
    {
        static void Update(ref float param, float grad, [State] ref float m, [Hyper(0.9)] float beta, [Hyper(1e-2)] float lr)
        {
            m = beta * m + grad;
            param -= lr * m;
        }
    }
}
