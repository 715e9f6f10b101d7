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
    /// Frobenius norm's squares reduced in the canonical block order (<see cref="BlockReduce"/>, partials folded on the
    /// host), X ← X / (‖X‖ + ε), then per step A = X·Xᵀ on the small side, B = b·A + c·A², X ← a·X + B·X (X·B for tall
    /// matrices) with <see cref="IDeviceGemm"/> — the same iteration and coefficient schedule as <c>ClNewtonSchulz</c> and
    /// the seeds' reference code. Products sum in another order than the host's BLAS, so results agree to rounding, not
    /// bit for bit. Options it does not implement (bfloat16 rounding) are refused at construction.
    /// </summary>
    public sealed class IlgpuNewtonSchulz : IDisposable
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

        /// <summary>Orthogonalises the row-major rows×cols matrix in <paramref name="x"/> in place.</summary>
        /// <exception cref="ArgumentException">The matrix holds NaN or infinity.</exception>
        public void Orthogonalize(ArrayView<float> x, int rows, int cols)
        {
            int n = checked(rows * cols);
            if (n == 0) return;
            Reserve(rows, cols);
            double norm = Math.Sqrt(SumOfSquares(x, n));
            if (!double.IsFinite(norm)) throw new ArgumentException($"the {rows}x{cols} matrix contains NaN or infinity; Newton-Schulz would turn the update into NaN");
            if (norm == 0) return;
            _scale(_stream, n, x, (float)(1.0 / (norm + _options.NormalizationEpsilon)));
            Launches += 1 + 5L * _options.Steps;
            bool wide = rows <= cols;
            int s = wide ? rows : cols;
            var gram = _gram!.View.AsContiguous().SubView(0, (long)s * s);
            var gram2 = _gram2!.View.AsContiguous().SubView(0, (long)s * s);
            var product = _product!.View.AsContiguous().SubView(0, n);
            for (int step = 0; step < _options.Steps; step++)
            {
                var c = _options.CoefficientsAt(step);
                // A = X·Xᵀ (s×s) for wide matrices, Xᵀ·X for tall ones.
                if (wide) _gemm.Gemm(false, true, s, s, cols, 1f, x, x, gram);
                else _gemm.Gemm(true, false, s, s, rows, 1f, x, x, gram);
                // B = b·A + c·A·A, into gram2.
                _gemm.Gemm(false, false, s, s, s, (float)c.C, gram, gram, gram2);
                _axpby(_stream, s * s, gram, gram2, (float)c.B, 1f);
                // X ← a·X + B·X (wide) or a·X + X·B (tall), through the product buffer.
                if (wide) _gemm.Gemm(false, false, rows, cols, s, 1f, gram2, x, product);
                else _gemm.Gemm(false, false, rows, cols, s, 1f, x, gram2, product);
                _axpby(_stream, n, product, x, 1f, (float)c.A);
            }
        }

        /// <summary>Σ x² in the canonical order: float64 partials per block of 1024 on the device, folded on the host.</summary>
        private double SumOfSquares(ArrayView<float> x, int n)
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

        private void Reserve(int rows, int cols)
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
