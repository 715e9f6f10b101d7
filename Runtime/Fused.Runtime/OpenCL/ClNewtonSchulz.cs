using System;
using Fused.Ir;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Muon's Newton-Schulz orthogonalisation on the device: Frobenius normalisation (+ε), then per
    /// step A = X·Xᵀ on the small side, B = b·A + c·A², X ← a·X + B·X (or X·B for tall matrices),
    /// with the tiled SGEMM kernel. Same coefficient schedule as the CPU pass.
    /// </summary>
    public sealed class ClNewtonSchulz : IDisposable
    {
        private readonly ClQueue _queue;
        private readonly NewtonSchulzOptions _options;
        private readonly ClKernel _scale, _axpby, _reduce, _square;
        private ClBuffer? _gram, _gram2, _product, _partials;
        private double[] _hostPartials = Array.Empty<double>();
        private int _small = -1;
        private long _elements = -1;

        /// <summary>Newton–Schulz on the device of <paramref name="queue"/>, with the given options (the defaults when null).</summary>
        public ClNewtonSchulz(ClQueue queue, NewtonSchulzOptions? options = null)
        {
            _queue = queue ?? throw new ArgumentNullException(nameof(queue));
            _options = options ?? NewtonSchulzOptions.Default;
            var program = queue.Context.Programs.Get(ClSupportKernels.Source);
            _scale = program.CreateKernel("fused_scale");
            _axpby = program.CreateKernel("fused_axpby");
            _reduce = program.CreateKernel("fused_block_reduce");
            _square = program.CreateKernel("fused_square");
        }

        /// <summary>Orthogonalises the row-major rows×cols matrix in <paramref name="x"/> in place.</summary>
        public void Orthogonalize(ClBuffer x, int rows, int cols)
        {
            int n = checked(rows * cols);
            if (n == 0) return;
            Reserve(rows, cols);
            double norm = Math.Sqrt(Sum(x, n));
            if (!double.IsFinite(norm)) throw new ArgumentException($"the {rows}x{cols} matrix contains NaN or infinity; Newton-Schulz would turn the update into NaN");
            if (norm == 0) return;
            _scale.SetArg(0, x); _scale.SetArg(1, (float)(1.0 / (norm + _options.NormalizationEpsilon))); _scale.SetArg(2, n);
            Launch(_scale, n);
            bool wide = rows <= cols;
            int s = wide ? rows : cols;
            for (int step = 0; step < _options.Steps; step++)
            {
                var c = _options.CoefficientsAt(step);
                // A = X·Xᵀ (s×s) for wide matrices, Xᵀ·X for tall ones.
                if (wide) ClGemm.Sgemm(_queue, false, true, s, s, cols, 1f, x, x, 0f, _gram!);
                else ClGemm.Sgemm(_queue, true, false, s, s, rows, 1f, x, x, 0f, _gram!);
                // B = b·A + c·A·A, into _gram2.
                ClGemm.Sgemm(_queue, false, false, s, s, s, (float)c.C, _gram!, _gram!, 0f, _gram2!);
                _axpby.SetArg(0, _gram!); _axpby.SetArg(1, _gram2!); _axpby.SetArg(2, (float)c.B); _axpby.SetArg(3, 1f); _axpby.SetArg(4, s * s);
                Launch(_axpby, s * s);
                // X ← a·X + B·X (wide) or a·X + X·B (tall), through a product buffer.
                if (wide) ClGemm.Sgemm(_queue, false, false, rows, cols, s, 1f, _gram2!, x, 0f, _product!);
                else ClGemm.Sgemm(_queue, false, false, rows, cols, s, 1f, x, _gram2!, 0f, _product!);
                _axpby.SetArg(0, _product!); _axpby.SetArg(1, x); _axpby.SetArg(2, 1f); _axpby.SetArg(3, (float)c.A); _axpby.SetArg(4, n);
                Launch(_axpby, n);
            }
        }

        private double Sum(ClBuffer x, int n)
        {
            // Sum of squares in the canonical block order (float64 lanes), as on the CPU.
            _square.SetArg(0, x); _square.SetArg(1, _product!); _square.SetArg(2, n);
            Launch(_square, n);
            return ClBlockReductions.Reduce(_queue, _reduce, _product!, n, max: false, _partials!, _hostPartials);
        }

        /// <summary>Launches an element-wise kernel over n (its arguments set just before, without a closure: steps do not allocate).</summary>
        private void Launch(ClKernel kernel, int n) => _queue.Launch(kernel, (n + 63) / 64 * 64, 64);

        private void Reserve(int rows, int cols)
        {
            int s = Math.Min(rows, cols);
            long n = (long)rows * cols;
            if (s != _small)
            {
                _gram?.Dispose(); _gram2?.Dispose();
                _gram = _queue.Context.CreateBuffer<float>((long)s * s);
                _gram2 = _queue.Context.CreateBuffer<float>((long)s * s);
                _small = s;
            }
            if (n != _elements)
            {
                _product?.Dispose(); _partials?.Dispose();
                _product = _queue.Context.CreateBuffer<float>(n);
                _partials = _queue.Context.CreateBuffer<double>(Math.Max(1, Reduction.BlockCount(n)));
                _hostPartials = new double[Math.Max(1, Reduction.BlockCount(n))];
                _elements = n;
            }
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            _scale.Dispose(); _axpby.Dispose(); _reduce.Dispose(); _square.Dispose();
            _gram?.Dispose(); _gram2?.Dispose(); _product?.Dispose(); _partials?.Dispose();
        }
    }
}
