using System;
using Fused.Runtime.Matrix;

namespace Fused.Demo.Model
{
    /// <summary>
    /// Multi-head causal self-attention on packed projections: qkv is [batch·context, 3·width] with each row
    /// [q | k | v] and head h in columns h·headWidth.. of each part. Per sequence and head: S = QKᵀ/√headWidth,
    /// P = softmax over positions ≤ the row's, output = P·V written to the head's columns of [batch·context, width].
    /// Every product is one Blas.Sgemm on strided views, no copies.
    /// </summary>
    public sealed class CausalAttention
    {
        private readonly int _context, _width, _heads, _headWidth;
        private readonly float _scale;
        private readonly float[] _dProbabilities;

        public CausalAttention(int context, int width, int heads)
        {
            if (width % heads != 0) throw new ArgumentException($"width {width} is not a multiple of {heads} heads");
            _context = context;
            _width = width;
            _heads = heads;
            _headWidth = width / heads;
            _scale = (float)(1.0 / Math.Sqrt(_headWidth));
            _dProbabilities = new float[context * context];
        }

        /// <summary>Floats of the probabilities kept for the backward pass per sequence.</summary>
        public int ProbabilitiesPerSequence => _heads * _context * _context;

        public void Forward(ReadOnlySpan<float> qkv, int batch, Span<float> probabilities, Span<float> output)
        {
            int t = _context, stride = 3 * _width;
            for (int b = 0; b < batch; b++)
                for (int h = 0; h < _heads; h++)
                {
                    int rows = b * t * stride + h * _headWidth;
                    var p = probabilities.Slice((b * _heads + h) * t * t, t * t);
                    Blas.Sgemm(false, true, t, t, _headWidth, _scale, qkv.Slice(rows), stride, qkv.Slice(rows + _width), stride, 0f, p, t);
                    for (int i = 0; i < t; i++) SoftmaxCausalRow(p.Slice(i * t, t), i);
                    Blas.Sgemm(false, false, t, _headWidth, t, 1f, p, t, qkv.Slice(rows + 2 * _width), stride, 0f,
                        output.Slice(b * t * _width + h * _headWidth), _width);
                }
        }

        /// <summary>From dOutput [batch·context, width] writes dQKV [batch·context, 3·width].</summary>
        public void Backward(ReadOnlySpan<float> qkv, ReadOnlySpan<float> probabilities, ReadOnlySpan<float> dOutput, int batch, Span<float> dQkv)
        {
            int t = _context, stride = 3 * _width;
            var dP = _dProbabilities.AsSpan();
            for (int b = 0; b < batch; b++)
                for (int h = 0; h < _heads; h++)
                {
                    int rows = b * t * stride + h * _headWidth;
                    var p = probabilities.Slice((b * _heads + h) * t * t, t * t);
                    var dO = dOutput.Slice(b * t * _width + h * _headWidth);
                    // dP = dO·Vᵀ; dV = Pᵀ·dO.
                    Blas.Sgemm(false, true, t, t, _headWidth, 1f, dO, _width, qkv.Slice(rows + 2 * _width), stride, 0f, dP, t);
                    Blas.Sgemm(true, false, t, _headWidth, t, 1f, p, t, dO, _width, 0f, dQkv.Slice(rows + 2 * _width), stride);
                    // Softmax backward: dS = P ⊙ (dP − Σⱼ dPⱼPⱼ); masked entries have P = 0, so dS = 0 there.
                    for (int i = 0; i < t; i++)
                    {
                        var pRow = p.Slice(i * t, t);
                        var dRow = dP.Slice(i * t, t);
                        double dot = 0;
                        for (int j = 0; j <= i; j++) dot += dRow[j] * pRow[j];
                        for (int j = 0; j < t; j++) dRow[j] = j <= i ? (float)(pRow[j] * (dRow[j] - dot)) : 0f;
                    }

                    // S = scale·QKᵀ: dQ = scale·dS·K, dK = scale·dSᵀ·Q.
                    Blas.Sgemm(false, false, t, _headWidth, t, _scale, dP, t, qkv.Slice(rows + _width), stride, 0f, dQkv.Slice(rows), stride);
                    Blas.Sgemm(true, false, t, _headWidth, t, _scale, dP, t, qkv.Slice(rows), stride, 0f, dQkv.Slice(rows + _width), stride);
                }
        }

        // Softmax over positions 0..last of the row; later positions (the future) get probability 0.
        private static void SoftmaxCausalRow(Span<float> row, int last)
        {
            float max = float.NegativeInfinity;
            for (int j = 0; j <= last; j++) max = Math.Max(max, row[j]);
            double sum = 0;
            for (int j = 0; j <= last; j++) sum += row[j] = MathF.Exp(row[j] - max);
            float inverse = (float)(1.0 / sum);
            for (int j = 0; j <= last; j++) row[j] *= inverse;
            row.Slice(last + 1).Clear();
        }
    }
}
