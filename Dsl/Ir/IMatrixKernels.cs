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
    }
}
