using System;
using Fused.Ir;
using Fused.Runtime.Matrix;
using ILGPU;
using ILGPU.Runtime;

namespace Fused.Ilgpu
{
    /// <summary>C = alpha · op(A) · op(B) on the device, row-major (C m×n): the product Newton–Schulz iterates with.</summary>
    public interface IDeviceGemm : IDisposable
    {
        /// <summary>What computes it (for reports): "tiled GEMM" or "cuBLAS".</summary>
        string Name { get; }

        /// <summary>C = alpha · op(A) · op(B); op(A) is Aᵀ (A stored k×m) when <paramref name="transA"/>, likewise B.</summary>
        void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c);
    }

    /// <summary>
    /// Muon's Newton–Schulz orthogonalisation on an ILGPU accelerator, the temporary never leaving the device: the
    /// iteration of <see cref="DeviceNewtonSchulz"/> (shared with OpenCL) over <see cref="IDeviceGemm"/>, the norm's
    /// squares reduced in the canonical block order (<see cref="BlockReduce"/>, partials folded on the host). Products
    /// sum in another order than the host's BLAS, so results agree to rounding, not bit for bit. Options it does not
    /// implement (bfloat16 rounding) are refused at construction.
    /// </summary>
    public sealed class IlgpuNewtonSchulz : INewtonSchulzDevice<ArrayView<float>>, IDisposable
    {
        private readonly AcceleratorStream _stream;
        private readonly NewtonSchulzOptions _options;
        private readonly IDeviceGemm _gemm;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, float, float> _axpby;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, float> _scale;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>> _square;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<double>, int, int> _lanes;
        private readonly Action<AcceleratorStream, Index1D, ArrayView<double>, ArrayView<double>, int, int, int> _foldLanes;
        private readonly Accelerator _accelerator;
        private MemoryBuffer1D<float, Stride1D.Dense>? _gram, _gram2, _product;
        private MemoryBuffer1D<double, Stride1D.Dense>? _lanesBuffer, _partials;
        private double[] _hostPartials = Array.Empty<double>();
        private int _small = -1;
        private long _elements = -1;

        /// <param name="accelerator">Where the matrix lives.</param>
        /// <param name="gemm">The product (<see cref="TiledGemm"/>, or <see cref="CuBlasGemm"/> on CUDA).</param>
        /// <param name="load">Loads an implicitly grouped kernel (the backend's loader, so contraction stays off on GPUs).</param>
        /// <param name="options">Steps, coefficients and ε; null for Muon's defaults.</param>
        public IlgpuNewtonSchulz(Accelerator accelerator, IDeviceGemm gemm, Func<System.Reflection.MethodInfo, Kernel> load, NewtonSchulzOptions? options = null)
        {
            _accelerator = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
            _gemm = gemm ?? throw new ArgumentNullException(nameof(gemm));
            _options = options ?? NewtonSchulzOptions.Default;
            if (_options.RoundToBFloat16)
                throw new NotSupportedException("Newton-Schulz on an ILGPU device does not round to bfloat16 between steps; use the host matrix passes for that option");
            _stream = accelerator.DefaultStream;
            _axpby = load(typeof(MatrixKernels).GetMethod(nameof(MatrixKernels.Axpby))!).CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, float, float>>();
            _scale = load(typeof(MatrixKernels).GetMethod(nameof(MatrixKernels.Scale))!).CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<float>, float>>();
            _square = load(typeof(MatrixKernels).GetMethod(nameof(MatrixKernels.Square))!).CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>>>();
            _lanes = load(typeof(BlockReduce).GetMethod(nameof(BlockReduce.Lanes))!).CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<double>, int, int>>();
            _foldLanes = load(typeof(BlockReduce).GetMethod(nameof(BlockReduce.FoldLanes))!).CreateLauncherDelegate<Action<AcceleratorStream, Index1D, ArrayView<double>, ArrayView<double>, int, int, int>>();
        }

        /// <summary>What computes the products.</summary>
        public string GemmName => _gemm.Name;

        /// <summary>Kernel launches so far: per matrix three for the norm, one to scale, five per step (three products, two sums).</summary>
        public long Launches { get; private set; }

        /// <summary>Orthogonalises the row-major rows×cols matrix in <paramref name="x"/> in place (<see cref="DeviceNewtonSchulz"/>).</summary>
        /// <exception cref="ArgumentException">The matrix holds NaN or infinity.</exception>
        public void Orthogonalize(ArrayView<float> x, int rows, int cols) => DeviceNewtonSchulz.Orthogonalize(this, _options, x, rows, cols);

        /// <inheritdoc/>
        void INewtonSchulzDevice<ArrayView<float>>.Scale(ArrayView<float> x, float factor, int n)
        {
            _scale(_stream, n, x, factor);
            Launches++;
        }

        /// <inheritdoc/>
        void INewtonSchulzDevice<ArrayView<float>>.Axpby(ArrayView<float> x, ArrayView<float> y, float a, float b, int n)
        {
            _axpby(_stream, n, x, y, a, b);
            Launches++;
        }

        /// <inheritdoc/>
        void INewtonSchulzDevice<ArrayView<float>>.Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
        {
            _gemm.Gemm(transA, transB, m, n, k, alpha, a, b, c);
            Launches++;
        }

        /// <summary>Σ x² in the canonical order: float64 partials per block of 1024 on the device, folded on the host.</summary>
        double INewtonSchulzDevice<ArrayView<float>>.SumOfSquares(ArrayView<float> x, int n)
        {
            var squares = _product!.View.AsContiguous().SubView(0, n);
            _square(_stream, n, x, squares);
            int blocks = checked((int)Reduction.BlockCount(n));
            _lanes(_stream, blocks * Reduction.Lanes, squares, _lanesBuffer!.View.AsContiguous(), n, 0);
            _foldLanes(_stream, blocks, _lanesBuffer!.View.AsContiguous(), _partials!.View.AsContiguous(), 1, 0, 0);
            Launches += 3;
            _partials!.View.AsContiguous().SubView(0, blocks).CopyToCPU(_stream, _hostPartials.AsSpan(0, blocks));
            return Reduction.FoldBlocks(_hostPartials.AsSpan(0, blocks), false);
        }

        /// <inheritdoc/>
        (ArrayView<float> Gram, ArrayView<float> Gram2, ArrayView<float> Product) INewtonSchulzDevice<ArrayView<float>>.Reserve(int rows, int cols)
        {
            int s = Math.Min(rows, cols);
            long n = (long)rows * cols;
            if (s > _small)
            {
                _gram?.Dispose(); _gram2?.Dispose();
                _gram = _accelerator.Allocate1D<float>((long)s * s);
                _gram2 = _accelerator.Allocate1D<float>((long)s * s);
                _small = s;
            }
            if (n > _elements)
            {
                long blocks = Math.Max(1, Reduction.BlockCount(n));
                _product?.Dispose(); _lanesBuffer?.Dispose(); _partials?.Dispose();
                _product = _accelerator.Allocate1D<float>(n);
                _lanesBuffer = _accelerator.Allocate1D<double>(blocks * Reduction.Lanes);
                _partials = _accelerator.Allocate1D<double>(blocks);
                _hostPartials = new double[blocks];
                _elements = n;
            }
            return (_gram!.View.AsContiguous().SubView(0, (long)s * s), _gram2!.View.AsContiguous().SubView(0, (long)s * s),
                _product!.View.AsContiguous().SubView(0, n));
        }

        /// <summary>Frees the device buffers and the GEMM.</summary>
        public void Dispose()
        {
            _gram?.Dispose(); _gram2?.Dispose(); _product?.Dispose(); _lanesBuffer?.Dispose(); _partials?.Dispose();
            _gemm.Dispose();
        }
    }

    /// <summary>
    /// Fused's own GEMM on any accelerator: <see cref="MatrixKernels.Gemm"/>, tiles as large as the accelerator's groups
    /// allow (up to 16×16; 4×4 on ILGPU's CPU accelerator, whose groups hold 16 threads).
    /// </summary>
    public sealed class TiledGemm : IDeviceGemm
    {
        private readonly AcceleratorStream _stream;
        private readonly int _tile;
        private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int, float, int> _gemm;

        /// <param name="accelerator">Where it runs.</param>
        /// <param name="load">Loads an explicitly grouped kernel (the backend's loader, so contraction stays off on GPUs).</param>
        public TiledGemm(Accelerator accelerator, Func<System.Reflection.MethodInfo, Kernel> load)
        {
            ArgumentNullException.ThrowIfNull(accelerator);
            _stream = accelerator.DefaultStream;
            _tile = Math.Min(MatrixKernels.MaxTile, (int)Math.Sqrt(accelerator.MaxNumThreadsPerGroup));
            _gemm = load(typeof(MatrixKernels).GetMethod(nameof(MatrixKernels.Gemm))!)
                .CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int, float, int>>();
        }

        /// <summary>The tile side in use.</summary>
        public int Tile => _tile;

        /// <inheritdoc/>
        public string Name => $"tiled GEMM ({_tile}x{_tile})";

        /// <inheritdoc/>
        public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
        {
            var grid = new Index2D((n + _tile - 1) / _tile, (m + _tile - 1) / _tile);
            _gemm(_stream, new KernelConfig(grid, new Index2D(_tile, _tile)), a, b, c, m, n, k, transA ? 1 : 0, transB ? 1 : 0, alpha, _tile);
        }

        /// <inheritdoc/>
        public void Dispose() { }
    }
}
