using System;
using Fused.Ir;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Muon's Newton-Schulz orthogonalisation on an OpenCL device: the iteration of <see cref="DeviceNewtonSchulz"/> over
    /// the tiled SGEMM kernel (<see cref="ClGemm"/>) and element-wise support kernels; the norm's squares are reduced in
    /// the canonical block order.
    /// </summary>
    public sealed class ClNewtonSchulz : INewtonSchulzDevice<ClBuffer>, IDisposable
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

        /// <summary>Orthogonalises the row-major rows×cols matrix in <paramref name="x"/> in place (<see cref="DeviceNewtonSchulz"/>).</summary>
        public void Orthogonalize(ClBuffer x, int rows, int cols) => DeviceNewtonSchulz.Orthogonalize(this, _options, x, rows, cols);

        /// <inheritdoc/>
        (ClBuffer Gram, ClBuffer Gram2, ClBuffer Product) INewtonSchulzDevice<ClBuffer>.Reserve(int rows, int cols)
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
            return (_gram!, _gram2!, _product!);
        }

        /// <inheritdoc/>
        double INewtonSchulzDevice<ClBuffer>.SumOfSquares(ClBuffer x, int n)
        {
            // Squares into the product buffer, then float64 lanes per block in the canonical order, as on the CPU.
            _square.SetArg(0, x); _square.SetArg(1, _product!); _square.SetArg(2, n);
            Launch(_square, n);
            return ClBlockReductions.Reduce(_queue, _reduce, _product!, n, max: false, _partials!, _hostPartials);
        }

        /// <inheritdoc/>
        void INewtonSchulzDevice<ClBuffer>.Scale(ClBuffer x, float factor, int n)
        {
            _scale.SetArg(0, x); _scale.SetArg(1, factor); _scale.SetArg(2, n);
            Launch(_scale, n);
        }

        /// <inheritdoc/>
        void INewtonSchulzDevice<ClBuffer>.Axpby(ClBuffer x, ClBuffer y, float a, float b, int n)
        {
            _axpby.SetArg(0, x); _axpby.SetArg(1, y); _axpby.SetArg(2, a); _axpby.SetArg(3, b); _axpby.SetArg(4, n);
            Launch(_axpby, n);
        }

        /// <inheritdoc/>
        void INewtonSchulzDevice<ClBuffer>.Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ClBuffer a, ClBuffer b, ClBuffer c)
            => ClGemm.Sgemm(_queue, transA, transB, m, n, k, alpha, a, b, 0f, c);

        /// <summary>Launches an element-wise kernel over n (its arguments set just before, without a closure: steps do not allocate).</summary>
        private void Launch(ClKernel kernel, int n) => _queue.Launch(kernel, (n + 63) / 64 * 64, 64);

        /// <inheritdoc/>
        public void Dispose()
        {
            _scale.Dispose(); _axpby.Dispose(); _reduce.Dispose(); _square.Dispose();
            _gram?.Dispose(); _gram2?.Dispose(); _product?.Dispose(); _partials?.Dispose();
        }
    }
}
