using System;

namespace Fused.Ir
{
    /// <summary>
    /// The meaning of every op, in the two precisions the IR uses: element values are float32
    /// (exactly what the kernels compute), uniform values are float64 (computed once per call, then
    /// rounded to float32 where element code uses them). Booleans are 1 and 0.
    /// The interpreter and constant folding use these; every emitter's render table must agree.
    /// </summary>
    public static class Semantics
    {
        /// <summary>What <paramref name="op"/> computes on float32 operands (as every kernel path computes it).</summary>
        public static float Float(Op op, float a, float b = 0f, float c = 0f) => op switch
        {
            Op.Neg => -a,
            Op.Abs => ScalarMath.Abs(a),
            Op.Sign => ScalarMath.Sign(a),
            Op.Sqrt => ScalarMath.Sqrt(a),
            Op.Rsqrt => ScalarMath.Rsqrt(a),
            Op.Exp => ScalarMath.Exp(a),
            Op.Log => ScalarMath.Log(a),
            Op.Add => a + b,
            Op.Sub => a - b,
            Op.Mul => a * b,
            Op.Div => a / b,
            Op.Min => ScalarMath.Min(a, b),
            Op.Max => ScalarMath.Max(a, b),
            Op.Pow => ScalarMath.Pow(a, b),
            Op.Lt => a < b ? 1f : 0f,
            Op.Le => a <= b ? 1f : 0f,
            Op.Gt => a > b ? 1f : 0f,
            Op.Ge => a >= b ? 1f : 0f,
            Op.Eq => a == b ? 1f : 0f,
            Op.Ne => a != b ? 1f : 0f,
            Op.And => (a != 0f && b != 0f) ? 1f : 0f,
            Op.Or => (a != 0f || b != 0f) ? 1f : 0f,
            Op.Not => a != 0f ? 0f : 1f,
            Op.Where => a != 0f ? b : c,
            _ => throw new IrException($"{op} has no element-wise float semantics"),
        };

        /// <summary>
        /// <see cref="Float"/> over whole columns: r[i] = Float(op, a[i], b[i], c[i]) for every i, the same operations
        /// (the interpreter's inner loop: the op is dispatched once per column, not per element).
        /// </summary>
        public static void FloatColumn(Op op, Span<float> r, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c)
        {
            int n = r.Length;
            switch (op)
            {
                case Op.Neg: for (int i = 0; i < n; i++) r[i] = -a[i]; break;
                case Op.Abs: for (int i = 0; i < n; i++) r[i] = ScalarMath.Abs(a[i]); break;
                case Op.Sign: for (int i = 0; i < n; i++) r[i] = ScalarMath.Sign(a[i]); break;
                case Op.Sqrt: for (int i = 0; i < n; i++) r[i] = ScalarMath.Sqrt(a[i]); break;
                case Op.Rsqrt: for (int i = 0; i < n; i++) r[i] = ScalarMath.Rsqrt(a[i]); break;
                case Op.Exp: for (int i = 0; i < n; i++) r[i] = ScalarMath.Exp(a[i]); break;
                case Op.Log: for (int i = 0; i < n; i++) r[i] = ScalarMath.Log(a[i]); break;
                case Op.Add: for (int i = 0; i < n; i++) r[i] = a[i] + b[i]; break;
                case Op.Sub: for (int i = 0; i < n; i++) r[i] = a[i] - b[i]; break;
                case Op.Mul: for (int i = 0; i < n; i++) r[i] = a[i] * b[i]; break;
                case Op.Div: for (int i = 0; i < n; i++) r[i] = a[i] / b[i]; break;
                case Op.Min: for (int i = 0; i < n; i++) r[i] = ScalarMath.Min(a[i], b[i]); break;
                case Op.Max: for (int i = 0; i < n; i++) r[i] = ScalarMath.Max(a[i], b[i]); break;
                case Op.Pow: for (int i = 0; i < n; i++) r[i] = ScalarMath.Pow(a[i], b[i]); break;
                case Op.Where: for (int i = 0; i < n; i++) r[i] = a[i] != 0f ? b[i] : c[i]; break;
                default:
                    // Comparisons and logic: rare in hot loops.
                    for (int i = 0; i < n; i++) r[i] = Float(op, a[i], b[i], c[i]);
                    break;
            }
        }

        /// <summary>What <paramref name="op"/> computes on float64 operands (the uniforms' arithmetic).</summary>
        public static double Double(Op op, double a, double b = 0, double c = 0) => op switch
        {
            Op.Neg => -a,
            Op.Abs => Math.Abs(a),
            Op.Sign => a > 0 ? 1.0 : (a < 0 ? -1.0 : a),
            Op.Sqrt => Math.Sqrt(a),
            Op.Rsqrt => 1.0 / Math.Sqrt(a),
            Op.Exp => Math.Exp(a),
            Op.Log => Math.Log(a),
            Op.Add => a + b,
            Op.Sub => a - b,
            Op.Mul => a * b,
            Op.Div => a / b,
            Op.Min => a < b ? a : b,
            Op.Max => a > b ? a : b,
            Op.Pow => Math.Pow(a, b),
            Op.Lt => a < b ? 1.0 : 0.0,
            Op.Le => a <= b ? 1.0 : 0.0,
            Op.Gt => a > b ? 1.0 : 0.0,
            Op.Ge => a >= b ? 1.0 : 0.0,
            Op.Eq => a == b ? 1.0 : 0.0,
            Op.Ne => a != b ? 1.0 : 0.0,
            Op.And => (a != 0 && b != 0) ? 1.0 : 0.0,
            Op.Or => (a != 0 || b != 0) ? 1.0 : 0.0,
            Op.Not => a != 0 ? 0.0 : 1.0,
            Op.Where => a != 0 ? b : c,
            _ => throw new IrException($"{op} has no uniform double semantics"),
        };
    }
}
