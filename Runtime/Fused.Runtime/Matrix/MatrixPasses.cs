using System;
using System.Collections.Generic;
using Fused.Ir;

namespace Fused.Runtime.Matrix
{
    /// <summary>
    /// The IR's matrix passes on this runtime's BLAS: Orthogonalize by Newton-Schulz, Precondition by
    /// Shampoo with per-tensor statistics L, R and their inverse 4th roots (refreshed every
    /// <see cref="ShampooOptions.RootEvery"/> steps by symmetric eigendecomposition). One instance per
    /// runner; Shampoo state is keyed by tensor.
    /// </summary>
    public sealed class MatrixPasses : IMatrixKernels
    {
        private readonly NewtonSchulzOptions _newtonSchulz;
        private readonly ShampooOptions _shampoo;
        private readonly MatrixWorkspace _workspace = new MatrixWorkspace();
        private readonly Dictionary<long, ShampooState> _byId = new Dictionary<long, ShampooState>();
        private readonly Dictionary<Memory<float>, ShampooState> _byMemory = new Dictionary<Memory<float>, ShampooState>();
        private readonly Dictionary<object, ShampooState> _byObject = new Dictionary<object, ShampooState>(ReferenceEqualityComparer.Instance);

        /// <summary>Matrix passes with the given Newton–Schulz and Shampoo options (their defaults when null).</summary>
        public MatrixPasses(NewtonSchulzOptions? newtonSchulz = null, ShampooOptions? shampoo = null)
        {
            _newtonSchulz = newtonSchulz ?? NewtonSchulzOptions.Default;
            _shampoo = shampoo ?? ShampooOptions.Default;
            _shampoo.Validate();
        }

        private readonly List<ShampooState> _journaled = new List<ShampooState>();
        private bool _journaling;

        /// <summary>The Newton–Schulz options <c>Orthogonalize</c> runs with.</summary>
        public NewtonSchulzOptions NewtonSchulz => _newtonSchulz;

        /// <summary>
        /// Starts a step that may be undone: the first time a tensor's Shampoo statistics change from here on, they are
        /// copied (once per tensor; the copies are kept for later steps, so steady state allocates nothing).
        /// <see cref="Rollback"/> puts them back, <see cref="Commit"/> keeps the changes.
        /// </summary>
        public void BeginJournal()
        {
            Commit();
            _journaling = true;
        }

        /// <summary>Keeps every change since <see cref="BeginJournal"/> and stops recording.</summary>
        public void Commit()
        {
            foreach (var s in _journaled) s.Journaled = false;
            _journaled.Clear();
            _journaling = false;
        }

        /// <summary>Restores every tensor's Shampoo statistics as they were at <see cref="BeginJournal"/> and stops recording.</summary>
        public void Rollback()
        {
            foreach (var s in _journaled) s.Restore();
            Commit();
        }
        /// <summary>The Shampoo options <c>Precondition</c> runs with.</summary>
        public ShampooOptions Shampoo => _shampoo;

        /// <summary>Orthogonalizes the row-major <paramref name="rows"/>×<paramref name="cols"/> <paramref name="matrix"/> in place (Newton–Schulz).</summary>
        public void Orthogonalize(float[] matrix, int rows, int cols) => Orthogonalize(matrix.AsSpan(), rows, cols);

        /// <summary>Orthogonalizes the row-major <paramref name="rows"/>×<paramref name="cols"/> <paramref name="matrix"/> in place (Newton–Schulz).</summary>
        public void Orthogonalize(Span<float> matrix, int rows, int cols) =>
            Matrix.NewtonSchulz.Orthogonalize(matrix, rows, cols, matrix, _newtonSchulz, _workspace);

        /// <summary>Preconditions <paramref name="matrix"/> in place with the Shampoo statistics kept for <paramref name="tensor"/> (created at its first call), refreshing the inverse roots as the options say at <paramref name="step"/>.</summary>
        public void Precondition(float[] matrix, int rows, int cols, long step, object tensor)
        {
            if (!_byObject.TryGetValue(tensor, out var state)) _byObject[tensor] = state = NewState(rows, cols);
            Precondition(state, matrix, rows, cols, step);
        }

        /// <summary>Shampoo for the tensor with id <paramref name="tensor"/> (no allocation after its first step).</summary>
        public void Precondition(Span<float> matrix, int rows, int cols, long step, long tensor)
        {
            if (!_byId.TryGetValue(tensor, out var state)) _byId[tensor] = state = NewState(rows, cols);
            Precondition(state, matrix, rows, cols, step);
        }

        /// <summary>
        /// Shampoo for the tensor whose parameter memory is <paramref name="tensor"/> (the same array
        /// and range identify it across steps, wherever the GC moves it).
        /// </summary>
        public void Precondition(Span<float> matrix, int rows, int cols, long step, Memory<float> tensor)
        {
            if (!_byMemory.TryGetValue(tensor, out var state)) _byMemory[tensor] = state = NewState(rows, cols);
            Precondition(state, matrix, rows, cols, step);
        }

        /// <summary>Names of the Shampoo statistics of one tensor in checkpoints (after the parameter's name and a dot): L, R, L^-1/4, R^-1/4.</summary>
        public static readonly string[] ShampooTensorNames = { "shampoo.left", "shampoo.right", "shampoo.left_root", "shampoo.right_root" };

        /// <summary>
        /// Tensor <paramref name="tensor"/>'s Shampoo statistics (L, R, L^-1/4, R^-1/4, row-major) and whether its roots
        /// were computed; zeros and false before its first step — exactly what a fresh tensor starts from.
        /// </summary>
        public (float[][] Matrices, bool HasRoots) ShampooStateOf(long tensor, int rows, int cols)
        {
            if (!_byId.TryGetValue(tensor, out var s))
                return (new[] { new float[rows * rows], new float[cols * cols], new float[rows * rows], new float[cols * cols] }, false);
            return (new[] { s.Left, s.Right, s.LeftRoot, s.RightRoot }, s.HasRoots);
        }

        /// <summary>Replaces tensor <paramref name="tensor"/>'s Shampoo statistics (from a checkpoint).</summary>
        public void RestoreShampooState(long tensor, int rows, int cols, IReadOnlyList<float[]> matrices, bool hasRoots)
        {
            if (!_byId.TryGetValue(tensor, out var s)) _byId[tensor] = s = NewState(rows, cols);
            matrices[0].CopyTo(s.Left, 0);
            matrices[1].CopyTo(s.Right, 0);
            matrices[2].CopyTo(s.LeftRoot, 0);
            matrices[3].CopyTo(s.RightRoot, 0);
            s.HasRoots = hasRoots;
        }

        /// <summary>Bytes of Shampoo state for one rows×cols tensor: L, R and their inverse roots, float32.</summary>
        public static long ShampooStateBytes(long rows, long cols) => 2 * 4 * (rows * rows + cols * cols);

        private ShampooState NewState(int rows, int cols)
        {
            if (rows > _shampoo.MaxDimension || cols > _shampoo.MaxDimension)
                throw new NotSupportedException($"Shampoo on a {rows}x{cols} tensor: sides above {_shampoo.MaxDimension} would need blocking, which is not implemented; route this tensor to another rule or raise ShampooOptions.MaxDimension");
            return new ShampooState(rows, cols);
        }

        private void Precondition(ShampooState s, Span<float> matrix, int rows, int cols, long step)
        {
            if (s.Rows != rows || s.Cols != cols)
                throw new ArgumentException($"this tensor's Shampoo statistics are {s.Rows}x{s.Cols}, the matrix is {rows}x{cols}");
            if (_journaling && !s.Journaled)
            {
                s.Save();
                _journaled.Add(s);
            }
            ShampooStatistics.AccumulateGram(matrix, rows, cols, s.Left, s.Right);
            if (!s.HasRoots || (step - 1) % _shampoo.RootEvery == 0)
            {
                SymmetricMatrix.InverseRoot(s.Left, rows, 4, _shampoo.Epsilon, s.LeftRoot, _workspace);
                SymmetricMatrix.InverseRoot(s.Right, cols, 4, _shampoo.Epsilon, s.RightRoot, _workspace);
                s.HasRoots = true;
            }
            ShampooStatistics.Precondition(s.LeftRoot, matrix, s.RightRoot, rows, cols, matrix, _workspace);
        }

        private sealed class ShampooState
        {
            public ShampooState(int rows, int cols)
            {
                Rows = rows;
                Cols = cols;
                Left = new float[rows * rows];
                Right = new float[cols * cols];
                LeftRoot = new float[rows * rows];
                RightRoot = new float[cols * cols];
            }

            public int Rows { get; }
            public int Cols { get; }
            public float[] Left { get; }
            public float[] Right { get; }
            public float[] LeftRoot { get; }
            public float[] RightRoot { get; }
            public bool HasRoots { get; set; }

            // The copy a journaled step restores (allocated at the first journaled step).
            public bool Journaled { get; set; }
            private float[]? _left, _right, _leftRoot, _rightRoot;
            private bool _hadRoots;

            public void Save()
            {
                _left ??= new float[Left.Length];
                _right ??= new float[Right.Length];
                _leftRoot ??= new float[LeftRoot.Length];
                _rightRoot ??= new float[RightRoot.Length];
                Left.CopyTo(_left, 0);
                Right.CopyTo(_right, 0);
                LeftRoot.CopyTo(_leftRoot, 0);
                RightRoot.CopyTo(_rightRoot, 0);
                _hadRoots = HasRoots;
                Journaled = true;
            }

            public void Restore()
            {
                _left!.CopyTo(Left, 0);
                _right!.CopyTo(Right, 0);
                _leftRoot!.CopyTo(LeftRoot, 0);
                _rightRoot!.CopyTo(RightRoot, 0);
                HasRoots = _hadRoots;
            }
        }
    }
}
