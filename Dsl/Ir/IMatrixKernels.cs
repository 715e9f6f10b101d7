namespace Fused.Ir
{
    /// <summary>
    /// The matrix passes a plan may need (see <see cref="MatrixStage"/>). The IR only names them;
    /// the runtime supplies hand-tuned implementations (BLAS Newton-Schulz), and the interpreter takes
    /// the same implementation so that both agree.
    /// </summary>
    public interface IMatrixKernels
    {
        /// <summary>Replaces the row-major rows×cols matrix with its orthogonal polar factor (in place).</summary>
        void Orthogonalize(float[] matrix, int rows, int cols);

        /// <summary>
        /// Shampoo for the tensor <paramref name="tensor"/> (any stable key): accumulates its statistics
        /// from the matrix, refreshes the inverse roots when due, and replaces the matrix in place with
        /// its preconditioned direction. <paramref name="step"/> counts from 1.
        /// </summary>
        void Precondition(float[] matrix, int rows, int cols, long step, object tensor);
    }
}
