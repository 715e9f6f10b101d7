using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Demo.Model
{
    /// <summary>Sizes of the <see cref="Transformer"/>.</summary>
    public sealed record TransformerShape(int Vocabulary, int Context, int Width, int Heads, int Layers)
    {
        public int HiddenWidth => 4 * Width;

        public string Description => $"{Layers} layers, width {Width}, {Heads} heads, context {Context}, vocabulary {Vocabulary}, pre-LN, causal attention, GELU MLP ×4, untied head";
    }

    /// <summary>
    /// A small pre-LN GPT-style language model: token + position embeddings, <c>Layers</c> blocks of
    /// x += attention(LN(x)); x += MLP(LN(x)), a final LN and an untied linear head, trained on the mean
    /// next-token cross-entropy. Every matmul without a bias, each one Blas.Sgemm (<see cref="Dense"/>).
    /// Hidden matrices (attention qkv/out, MLP up/down) are marked <see cref="Parameter.IsHidden"/>; the embeddings,
    /// the head and the norms are not.
    /// </summary>
    public sealed class Transformer
    {
        private readonly TransformerShape _s;
        private readonly int _maxBatch;
        private readonly Parameter _tokens, _positions, _finalGain, _finalBias, _head;
        private readonly Block[] _blocks;
        private readonly CausalAttention _attention;
        private readonly int[] _inputs;
        private readonly float[] _finalHat, _finalStd, _finalOut, _logits, _dLogits;
        // Backward scratch shared by the blocks: the residual stream's gradient and the sub-layers' gradients.
        private readonly float[] _dX, _dNorm, _dAttention, _dQkv, _dHidden;

        public Transformer(TransformerShape shape, int maxBatch, ulong seed)
        {
            if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "batch size must be at least 1");
            _s = shape;
            _maxBatch = maxBatch;
            _attention = new CausalAttention(shape.Context, shape.Width, shape.Heads);
            int d = shape.Width, rows = maxBatch * shape.Context;
            _tokens = Parameter.Matrix("embed.tokens", shape.Vocabulary, d);
            _positions = Parameter.Matrix("embed.positions", shape.Context, d);
            _blocks = Enumerable.Range(0, shape.Layers).Select(l => new Block(l, shape, rows, _attention.ProbabilitiesPerSequence * maxBatch)).ToArray();
            _finalGain = Parameter.Vector("norm.gain", d);
            _finalBias = Parameter.Vector("norm.bias", d);
            _head = Parameter.Matrix("head.weight", shape.Vocabulary, d);
            Parameters = new[] { _tokens, _positions }.Concat(_blocks.SelectMany(b => b.Parameters)).Concat(new[] { _finalGain, _finalBias, _head }).ToArray();

            // GPT-2 style init: N(0, 0.02), the projections back into the residual stream scaled by 1/√(2·layers); norms at identity.
            var rng = new SplitMix64(seed);
            foreach (var p in Parameters.Where(p => p.IsMatrix))
            {
                double std = 0.02 * (p.Name.EndsWith(".out", StringComparison.Ordinal) || p.Name.EndsWith(".down", StringComparison.Ordinal) ? 1 / Math.Sqrt(2.0 * shape.Layers) : 1);
                for (int i = 0; i < p.Count; i++) p.Value[i] = (float)(rng.NextGaussian() * std);
            }

            foreach (var gain in Parameters.Where(p => p.Name.EndsWith(".gain", StringComparison.Ordinal))) Array.Fill(gain.Value, 1f);

            _inputs = new int[rows];
            _finalHat = new float[rows * d];
            _finalStd = new float[rows];
            _finalOut = new float[rows * d];
            _logits = new float[rows * shape.Vocabulary];
            _dLogits = new float[_logits.Length];
            _dX = new float[rows * d];
            _dNorm = new float[rows * d];
            _dAttention = new float[rows * d];
            _dQkv = new float[rows * 3 * d];
            _dHidden = new float[rows * shape.HiddenWidth];
        }

        /// <summary>The demo's default: 2 layers, width 64, 4 heads, context 64.</summary>
        public static TransformerShape DefaultShape(int vocabulary) => new TransformerShape(vocabulary, Context: 64, Width: 64, Heads: 4, Layers: 2);

        public TransformerShape Shape => _s;
        public IReadOnlyList<Parameter> Parameters { get; }
        public long ParameterCount => Parameters.Sum(p => (long)p.Count);

        /// <summary>
        /// Logits [batch·context, vocabulary] for <paramref name="batch"/> sequences of <c>Context</c> token ids
        /// (valid until the next call); row b·context + t predicts the token after position t of sequence b.
        /// </summary>
        public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int batch)
        {
            if (batch < 1 || batch > _maxBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be between 1 and {_maxBatch}");
            int t = _s.Context, d = _s.Width, rows = batch * t;
            if (tokens.Length < rows) throw new ArgumentException($"{tokens.Length} tokens for {batch} sequences of {t}", nameof(tokens));
            var x = _blocks[0].Input.AsSpan(0, rows * d);
            for (int r = 0; r < rows; r++)
            {
                int token = tokens[r];
                if ((uint)token >= (uint)_s.Vocabulary) throw new ArgumentOutOfRangeException(nameof(tokens), token, $"token id outside the vocabulary of {_s.Vocabulary}");
                _inputs[r] = token;
                var row = x.Slice(r * d, d);
                var tokenRow = _tokens.Value.AsSpan(token * d, d);
                var positionRow = _positions.Value.AsSpan(r % t * d, d);
                for (int i = 0; i < d; i++) row[i] = tokenRow[i] + positionRow[i];
            }

            for (int l = 0; l < _blocks.Length; l++)
                _blocks[l].Forward(_attention, batch, l + 1 < _blocks.Length ? _blocks[l + 1].Input : _blocks[l].Output);
            var last = _blocks[^1].Output;
            LayerNorm.Forward(last, _finalGain, _finalBias, rows, _finalHat, _finalStd, _finalOut);
            Dense.Forward(_head, null, _finalOut, rows, _logits);
            return _logits.AsSpan(0, rows * _s.Vocabulary);
        }

        /// <summary>
        /// Forward and backward: fills every gradient with that of the mean next-token cross-entropy over all
        /// batch·context positions (<paramref name="targets"/>[r] is the token after input position r) and returns it.
        /// </summary>
        public float ForwardBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int batch)
        {
            int t = _s.Context, d = _s.Width, rows = batch * t;
            if (targets.Length < rows) throw new ArgumentException($"{targets.Length} targets for {rows} positions", nameof(targets));
            var logits = Forward(tokens, batch);
            double loss = Dense.MeanCrossEntropy(logits, _s.Vocabulary, rows, targets.Slice(0, rows), _dLogits);

            Dense.Backward(_head, null, _finalOut, _dLogits, rows, _dNorm);
            var dX = _dX.AsSpan(0, rows * d);
            dX.Clear();
            LayerNorm.Backward(_dNorm, _finalHat, _finalStd, _finalGain, _finalBias, rows, dX);
            for (int l = _blocks.Length - 1; l >= 0; l--)
                _blocks[l].Backward(_attention, batch, _dX, _dNorm, _dAttention, _dQkv, _dHidden);

            // Embedding gradients: each position's residual gradient goes to its token's row and its position's row.
            Array.Clear(_tokens.Gradient);
            Array.Clear(_positions.Gradient);
            for (int r = 0; r < rows; r++)
            {
                var g = dX.Slice(r * d, d);
                var tokenRow = _tokens.Gradient.AsSpan(_inputs[r] * d, d);
                var positionRow = _positions.Gradient.AsSpan(r % t * d, d);
                for (int i = 0; i < d; i++)
                {
                    tokenRow[i] += g[i];
                    positionRow[i] += g[i];
                }
            }

            return (float)loss;
        }

        /// <summary>GELU, tanh approximation (GPT-2's): ½u(1 + tanh(√(2/π)(u + 0.044715u³))).</summary>
        public static float Gelu(float u) => 0.5f * u * (1f + MathF.Tanh(GeluC * (u + 0.044715f * u * u * u)));

        private static float GeluDerivative(float u)
        {
            float th = MathF.Tanh(GeluC * (u + 0.044715f * u * u * u));
            return 0.5f * (1f + th) + 0.5f * u * (1f - th * th) * GeluC * (1f + 3f * 0.044715f * u * u);
        }

        private static readonly float GeluC = MathF.Sqrt(2f / MathF.PI);

        /// <summary>One pre-LN block with the activations its backward pass needs.</summary>
        private sealed class Block
        {
            private readonly TransformerShape _s;
            private readonly Parameter _gain1, _bias1, _qkv, _out, _gain2, _bias2, _up, _down;
            private readonly float[] _hat1, _std1, _norm1, _qkvOut, _probabilities, _attended, _middle, _hat2, _std2, _norm2, _preGelu, _hidden;

            public Block(int index, TransformerShape s, int rows, int probabilities)
            {
                _s = s;
                int d = s.Width;
                string n = $"block{index + 1}";
                _gain1 = Parameter.Vector($"{n}.norm1.gain", d);
                _bias1 = Parameter.Vector($"{n}.norm1.bias", d);
                _qkv = Parameter.Matrix($"{n}.attention.qkv", 3 * d, d, hidden: true);
                _out = Parameter.Matrix($"{n}.attention.out", d, d, hidden: true);
                _gain2 = Parameter.Vector($"{n}.norm2.gain", d);
                _bias2 = Parameter.Vector($"{n}.norm2.bias", d);
                _up = Parameter.Matrix($"{n}.mlp.up", s.HiddenWidth, d, hidden: true);
                _down = Parameter.Matrix($"{n}.mlp.down", d, s.HiddenWidth, hidden: true);
                Parameters = new[] { _gain1, _bias1, _qkv, _out, _gain2, _bias2, _up, _down };
                Input = new float[rows * d];
                _hat1 = new float[rows * d];
                _std1 = new float[rows];
                _norm1 = new float[rows * d];
                _qkvOut = new float[rows * 3 * d];
                _probabilities = new float[probabilities];
                _attended = new float[rows * d];
                _middle = new float[rows * d];
                _hat2 = new float[rows * d];
                _std2 = new float[rows];
                _norm2 = new float[rows * d];
                _preGelu = new float[rows * s.HiddenWidth];
                _hidden = new float[rows * s.HiddenWidth];
                Output = new float[rows * d];
            }

            public Parameter[] Parameters { get; }

            /// <summary>The residual stream entering the block.</summary>
            public float[] Input { get; }

            /// <summary>Where the last block writes its output (the others write into the next block's input).</summary>
            public float[] Output { get; }

            public void Forward(CausalAttention attention, int batch, float[] output)
            {
                int rows = batch * _s.Context, d = _s.Width, hiddenCount = rows * _s.HiddenWidth;
                LayerNorm.Forward(Input, _gain1, _bias1, rows, _hat1, _std1, _norm1);
                Dense.Forward(_qkv, null, _norm1, rows, _qkvOut);
                attention.Forward(_qkvOut, batch, _probabilities, _attended);
                Dense.Forward(_out, null, _attended, rows, _middle);
                for (int i = 0; i < rows * d; i++) _middle[i] += Input[i];
                LayerNorm.Forward(_middle, _gain2, _bias2, rows, _hat2, _std2, _norm2);
                Dense.Forward(_up, null, _norm2, rows, _preGelu);
                for (int i = 0; i < hiddenCount; i++) _hidden[i] = Gelu(_preGelu[i]);
                Dense.Forward(_down, null, _hidden, rows, output);
                for (int i = 0; i < rows * d; i++) output[i] += _middle[i];
            }

            /// <summary>
            /// On entry <paramref name="dX"/> holds ∂L/∂(block output); on return ∂L/∂(block input). The other spans are scratch.
            /// </summary>
            public void Backward(CausalAttention attention, int batch, float[] dX, float[] dNorm, float[] dAttended, float[] dQkv, float[] dHidden)
            {
                int rows = batch * _s.Context, hiddenCount = rows * _s.HiddenWidth;
                // output = middle + down(GELU(up(LN2(middle)))): the skip path keeps dX, the MLP path adds to it.
                Dense.Backward(_down, null, _hidden, dX, rows, dHidden);
                for (int i = 0; i < hiddenCount; i++) dHidden[i] *= GeluDerivative(_preGelu[i]);
                Dense.Backward(_up, null, _norm2, dHidden, rows, dNorm);
                LayerNorm.Backward(dNorm, _hat2, _std2, _gain2, _bias2, rows, dX);
                // middle = input + out(attention(qkv(LN1(input)))).
                Dense.Backward(_out, null, _attended, dX, rows, dAttended);
                attention.Backward(_qkvOut, _probabilities, dAttended, batch, dQkv);
                Dense.Backward(_qkv, null, _norm1, dQkv, rows, dNorm);
                LayerNorm.Backward(dNorm, _hat1, _std1, _gain1, _bias1, rows, dX);
            }
        }
    }
}
