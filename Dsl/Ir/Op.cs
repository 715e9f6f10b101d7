namespace Fused.Ir
{
    /// <summary>
    /// The whole op vocabulary of the IR. Every node has exactly one of these. Groups:
    /// leaves (no sources), element-wise unary/binary/ternary (one value per element, or per call when
    /// all sources are uniform), and whole-tensor ops, which end a stage: the planner cuts the rule
    /// there and the op's result is a uniform value (or a row/column vector) of later stages.
    /// </summary>
    public enum Op : byte
    {
        // ---- leaves ----
        /// <summary>A float32 literal (Node.Value).</summary>
        Const,
        /// <summary>A hyperparameter (Node.Index into RuleProgram.Hypers). Uniform.</summary>
        Hyper,
        /// <summary>The step counter t, 1 at the first step. Uniform.</summary>
        Step,
        /// <summary>A buffer's value at entry to the step (Node.Index into RuleProgram.Buffers).</summary>
        Load,
        /// <summary>A shape scalar of the tensor (Node.Index is a ShapeScalar). Uniform.</summary>
        Shape,

        // ---- unary, float -> float ----
        /// <summary>−a.</summary>
        Neg,
        /// <summary>|a|.</summary>
        Abs,
        /// <summary>+1, −1, or a itself for ±0 and NaN.</summary>
        Sign,
        /// <summary>√a, correctly rounded.</summary>
        Sqrt,
        /// <summary>1 / √a (two correctly rounded operations, not an approximation).</summary>
        Rsqrt,
        /// <summary>e^a (Fused's own float32 polynomial).</summary>
        Exp,
        /// <summary>ln a (Fused's own float32 polynomial).</summary>
        Log,

        // ---- binary, float x float -> float ----
        /// <summary>a + b.</summary>
        Add,
        /// <summary>a − b.</summary>
        Sub,
        /// <summary>a · b (never fused into a multiply-add).</summary>
        Mul,
        /// <summary>a / b, correctly rounded.</summary>
        Div,
        /// <summary>a &lt; b ? a : b.</summary>
        Min,
        /// <summary>a &gt; b ? a : b.</summary>
        Max,
        /// <summary>a^b as Exp(b · Log(a)).</summary>
        Pow,

        // ---- binary comparisons, float x float -> bool ----
        /// <summary>a &lt; b.</summary>
        Lt,
        /// <summary>a ≤ b.</summary>
        Le,
        /// <summary>a &gt; b.</summary>
        Gt,
        /// <summary>a ≥ b.</summary>
        Ge,
        /// <summary>a == b.</summary>
        Eq,
        /// <summary>a != b.</summary>
        Ne,

        // ---- boolean ----
        /// <summary>a and b (booleans).</summary>
        And,
        /// <summary>a or b (booleans).</summary>
        Or,
        /// <summary>not a (boolean).</summary>
        Not,

        // ---- ternary ----
        /// <summary>Sources: bool condition, value if true, value if false.</summary>
        Where,

        // ---- whole-tensor reductions: element -> uniform (stage boundary) ----
        /// <summary>Sum over all elements (deterministic blocked tree, float64 accumulation).</summary>
        ReduceSum,
        /// <summary>Maximum over all elements.</summary>
        ReduceMax,
        /// <summary>Sum over each row of a matrix: element -> row vector.</summary>
        RowSum,
        /// <summary>Sum over each column of a matrix: element -> column vector.</summary>
        ColSum,

        // ---- matrix passes: element -> element over the whole tensor (stage boundary) ----
        /// <summary>
        /// The orthogonal polar factor U·Vᵀ of the tensor viewed as a Rows×Cols matrix, by Newton-Schulz
        /// (Muon). Its source is materialised into a temporary; a runtime matrix pass computes it.
        /// </summary>
        Orthogonalize,
        /// <summary>
        /// Shampoo's preconditioned direction L^(−1/4)·X·R^(−1/4), with L += X·Xᵀ and R += Xᵀ·X kept by the
        /// runtime per tensor (rows² + cols² floats, plus their inverse roots recomputed every k steps).
        /// </summary>
        Precondition,
    }

    /// <summary>Value type of a node.</summary>
    public enum IrType : byte
    {
        /// <summary>A float32 value.</summary>
        F32,
        /// <summary>A boolean (comparisons and logic; only Where turns it back into a float).</summary>
        Bool,
    }

    /// <summary>Shape scalars a rule can use (Node.Index of an Op.Shape node).</summary>
    public enum ShapeScalar : byte
    {
        /// <summary>Number of elements.</summary>
        Numel = 0,
        /// <summary>Rows of the tensor viewed as a matrix.</summary>
        Rows = 1,
        /// <summary>Columns of the tensor viewed as a matrix.</summary>
        Cols = 2,
    }

    /// <summary>Broad families of ops, for the verifier, the planner and the emitters' tables.</summary>
    public enum OpGroup : byte
    {
        /// <summary>No operands: constant, hyperparameter, step, load, shape scalar.</summary>
        Leaf,
        /// <summary>One float operand, element-wise.</summary>
        Unary,
        /// <summary>Two float operands, element-wise.</summary>
        Binary,
        /// <summary>Two floats to a boolean.</summary>
        Compare,
        /// <summary>Booleans to a boolean.</summary>
        Logic,
        /// <summary>Where: a boolean and two floats.</summary>
        Ternary,
        /// <summary>A whole-tensor, per-row or per-column sum or maximum.</summary>
        Reduction,
        /// <summary>A matrix pass (Orthogonalize, Precondition).</summary>
        Matrix,
    }

    /// <summary>The static facts about each op: one table, consulted by every pass.</summary>
    public static class OpInfo
    {
        /// <summary>The family of <paramref name="op"/>.</summary>
        public static OpGroup Group(Op op) => op switch
        {
            Op.Const or Op.Hyper or Op.Step or Op.Load or Op.Shape => OpGroup.Leaf,
            Op.Neg or Op.Abs or Op.Sign or Op.Sqrt or Op.Rsqrt or Op.Exp or Op.Log => OpGroup.Unary,
            Op.Add or Op.Sub or Op.Mul or Op.Div or Op.Min or Op.Max or Op.Pow => OpGroup.Binary,
            Op.Lt or Op.Le or Op.Gt or Op.Ge or Op.Eq or Op.Ne => OpGroup.Compare,
            Op.And or Op.Or or Op.Not => OpGroup.Logic,
            Op.Where => OpGroup.Ternary,
            Op.ReduceSum or Op.ReduceMax or Op.RowSum or Op.ColSum => OpGroup.Reduction,
            Op.Orthogonalize or Op.Precondition => OpGroup.Matrix,
            _ => throw new System.ArgumentOutOfRangeException(nameof(op), op, "op missing from OpInfo.Group"),
        };

        /// <summary>Number of operands of <paramref name="op"/>.</summary>
        public static int Arity(Op op) => Group(op) switch
        {
            OpGroup.Leaf => 0,
            OpGroup.Unary or OpGroup.Reduction or OpGroup.Matrix => 1,
            OpGroup.Binary or OpGroup.Compare => 2,
            OpGroup.Logic => op == Op.Not ? 1 : 2,
            OpGroup.Ternary => 3,
            _ => throw new System.ArgumentOutOfRangeException(nameof(op)),
        };

        /// <summary>The type of <paramref name="op"/>'s result.</summary>
        public static IrType ResultType(Op op) => Group(op) switch
        {
            OpGroup.Compare or OpGroup.Logic => IrType.Bool,
            _ => IrType.F32,
        };

        /// <summary>The type each source must have.</summary>
        public static IrType SourceType(Op op, int sourceIndex) => op switch
        {
            Op.And or Op.Or or Op.Not => IrType.Bool,
            Op.Where => sourceIndex == 0 ? IrType.Bool : IrType.F32,
            _ => IrType.F32,
        };

        // Min and Max are selects (a < b ? a : b), not symmetric for NaN and ±0, so not commutative.
        /// <summary>Ops after which the planner must cut: reductions and matrix passes.</summary>
        public static bool IsStageBoundary(Op op) => Group(op) is OpGroup.Reduction or OpGroup.Matrix;

        /// <summary>Whether swapping the operands of <paramref name="op"/> never changes its result (Min and Max are not: NaN and ±0).</summary>
        public static bool IsCommutative(Op op) =>
            op is Op.Add or Op.Mul or Op.Eq or Op.Ne or Op.And or Op.Or;

        /// <summary>The spelling used in IR text, C#-like function names.</summary>
        public static string Name(Op op) => op.ToString();
    }
}
