using System.Collections.Immutable;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// A uniform value computed once per call in float64: a hyperparameter, the step, a shape scalar,
    /// a hoisted expression, or a reduction's result. Slot indexes the uniform array that the kernels
    /// receive (rounded to float32). Level is the pass before which it is available.
    /// A <see cref="PerRow"/> slot holds a per-row value instead (see <see cref="VectorSlot"/>): the runtime
    /// writes the current row's value into it before each row of a row-wise pass.
    /// </summary>
    public sealed record UniformSlot(int Slot, Node Node, int Level, bool PerRow = false);

    /// <summary>
    /// A value with one float per row (or per column) of the tensor viewed as a Rows×Cols matrix:
    /// a row/column state at entry, a RowSum/ColSum result, or arithmetic on those and uniforms.
    /// Vector values are float32 like element values and live for the whole step. Loads are filled
    /// from the state buffers, RowSum/ColSum by the element pass before <see cref="Level"/>, and the
    /// rest by <c>VectorStage</c> at <see cref="Level"/>.
    /// </summary>
    public sealed record VectorSlot(int Index, Node Node, Domain Domain, int Level);

    /// <summary>What a buffer beyond the program's own holds (see <see cref="KernelPlan.Extras"/>).</summary>
    public enum ExtraKind : byte
    {
        /// <summary>A tensor-sized temporary: a matrix pass's source and result, or a value one pass stores for a later one.</summary>
        Temp,
        /// <summary>A column value (a <see cref="VectorSlot"/> of the column domain) read by a row-wise pass: Cols floats.</summary>
        Column,
        /// <summary>A row-wise pass's ColSum operands for the current row: Cols floats of scratch the runtime accumulates.</summary>
        ColumnSumOperand,
    }

    /// <summary>
    /// A kernel buffer that is not one of the program's: <see cref="Node"/> is the value it holds
    /// (the temporary's value, the column value, or the ColSum node whose operand it receives).
    /// </summary>
    public sealed record ExtraBuffer(ExtraKind Kind, Node Node);
    /// <summary>
    /// One fused element-wise pass over the tensor: reads its inputs, computes, stores, and
    /// accumulates the reductions the next level needs. Buffer indices count program buffers first,
    /// then the plan's <see cref="KernelPlan.Extras"/>.
    /// <para>A <see cref="RowWise"/> pass reads per-row or per-column values, or accumulates RowSum/ColSum:
    /// the runtime runs it one row at a time (or a block-aligned range of one row), with the row's
    /// values in the <see cref="UniformSlot.PerRow"/> slots, the column buffers at the range's columns,
    /// and its reductions blocked per row (see <see cref="Reduction"/>).</para>
    /// </summary>
    public sealed record ElementPass(
        int Index,
        int Level,
        EquatableArray<Output> Inputs,
        EquatableArray<Node> Nodes,
        EquatableArray<Output> Stores,
        EquatableArray<Node> Reductions,
        bool RowWise,
        int BytesPerElement)
    {
        /// <summary>
        /// The buffers read, in order. An input is a buffer's value at entry (a Load), a buffer's new
        /// value stored by an earlier pass (reloaded rather than recomputed), a temporary (a matrix
        /// pass's result or a value stored for this pass), or a column value.
        /// </summary>
        public EquatableArray<int> Loads => Inputs.Select(i => i.Buffer).Distinct().OrderBy(b => b).ToEquatableArray();
    }

    /// <summary>
    /// A matrix pass the runtime runs between element passes: <see cref="Op"/> applied to the
    /// temporary <see cref="SourceBuffer"/>, written to <see cref="ResultBuffer"/> (buffer indices in
    /// the plan's numbering: program buffers first, then temporaries). It runs after the pass of
    /// level <see cref="Level"/> − 1 and before level <see cref="Level"/>'s uniforms.
    /// </summary>
    public sealed record MatrixStage(int Level, Op Op, Node Node, int SourceBuffer, int ResultBuffer);

    /// <summary>
    /// What the planner makes of a (simplified) program: the uniform values to compute once per call,
    /// the per-row and per-column values, and the element passes, fewest possible, cut at whole-tensor
    /// ops. Every emitter and the interpreter execute this same plan. Per level k the order is: matrix
    /// passes of level k, uniforms of level k, vector values of level k (<c>VectorStage</c>), then
    /// the element pass of level k; row/column states are written after the last level.
    /// </summary>
    public sealed record KernelPlan(
        RuleProgram Program,
        EquatableArray<UniformSlot> Uniforms,
        EquatableArray<ElementPass> Passes,
        int LevelCount,
        EquatableArray<Output> ScalarStores,
        EquatableArray<ExtraBuffer> Extras,
        EquatableArray<MatrixStage> MatrixStages,
        EquatableArray<VectorSlot> Vectors,
        EquatableArray<Output> VectorStores)
    {
        /// <summary>Program buffers plus extras.</summary>
        public int BufferCount => Program.Buffers.Count + Extras.Count;

        /// <summary>Tensor-sized temporaries; they come first among the extras, so temp k is buffer Program.Buffers.Count + k.</summary>
        public int TempCount => Extras.Count(e => e.Kind == ExtraKind.Temp);

        /// <summary>The extra (temporary or column-value) buffer numbered <paramref name="buffer"/>, or null for a program buffer.</summary>
        public ExtraBuffer? ExtraOf(int buffer) => buffer >= Program.Buffers.Count ? Extras[buffer - Program.Buffers.Count] : null;

        /// <summary>Whether buffer <paramref name="buffer"/> is a temporary the plan added.</summary>
        public bool IsTemp(int buffer) => ExtraOf(buffer)?.Kind == ExtraKind.Temp;

        /// <summary>A buffer's name: the program's, "temp{k}" for a temporary, "col{k}" / "colSumOperand{k}" for column buffers.</summary>
        public string BufferName(int buffer)
        {
            var extra = ExtraOf(buffer);
            if (extra == null) return Program.Buffers[buffer].Name;
            int k = 0;
            for (int b = Program.Buffers.Count; b < buffer; b++) if (Extras[b - Program.Buffers.Count].Kind == extra.Kind) k++;
            string ordinal = k.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return extra.Kind switch
            {
                ExtraKind.Temp => "temp" + ordinal,
                ExtraKind.Column => extra.Node.Op == Op.Load ? Program.Buffers[extra.Node.Index].Name
                    : Program.Statements.FirstOrDefault(st => st.Value.Equals(extra.Node)) is { } named ? (named.IsLocal ? named.Target : named.Target + "New")
                    : "col" + ordinal,
                _ => "colSumOperand" + ordinal,
            };
        }

        /// <summary>Where an input node of an element pass comes from when it is a matrix pass's result.</summary>
        public int? ResultBufferOf(Node node)
        {
            foreach (var m in MatrixStages) if (m.Node.Equals(node)) return m.ResultBuffer;
            return null;
        }

        /// <summary>Number of element passes.</summary>
        public int PassCount => Passes.Count;

        /// <summary>
        /// The buffers kernels take, in order: those with one value per element (parameter, gradient,
        /// element states), then the extras (temporaries, column values, ColSum operands).
        /// </summary>
        /// <remarks>Computed once with the plan (runners read these lists on every step).</remarks>
        public EquatableArray<int> ElementBuffers { get; } = Enumerable.Range(0, Program.Buffers.Count)
            .Where(b => Program.Buffers[b].Shape == StateShape.Element)
            .Concat(Enumerable.Range(Program.Buffers.Count, Extras.Count)).ToEquatableArray();

        /// <summary>State buffers holding one value per tensor, in order.</summary>
        public EquatableArray<int> ScalarBuffers { get; } = Enumerable.Range(0, Program.Buffers.Count)
            .Where(b => Program.Buffers[b].Shape == StateShape.Scalar).ToEquatableArray();

        /// <summary>State buffers holding one value per row or per column, in order.</summary>
        public EquatableArray<int> VectorBuffers { get; } = Enumerable.Range(0, Program.Buffers.Count)
            .Where(b => Program.Buffers[b].Shape is StateShape.Row or StateShape.Column).ToEquatableArray();

        /// <summary>True when some value has one float per row or per column (Adafactor's factored statistics).</summary>
        public bool HasVectors => Vectors.Count > 0;

        /// <summary>The element pass of <paramref name="level"/>, or null when the level has none.</summary>
        public ElementPass? PassAtLevel(int level)
        {
            foreach (var p in Passes) if (p.Level == level) return p;
            return null;
        }

        /// <summary>Bytes moved per parameter element per step over all passes (float32 state; per-row and per-column values not counted).</summary>
        public int BytesPerParameter => Passes.Sum(p => p.BytesPerElement);

        /// <summary>
        /// The per-row uniforms in slot order: the order row-wise kernels read them from their packed per-row values on
        /// devices (the schedule's <c>PerRowSlots</c> keeps the same order).
        /// </summary>
        public System.Collections.Generic.IReadOnlyList<UniformSlot> PerRowSlots() => Uniforms.Where(u => u.PerRow).OrderBy(u => u.Slot).ToList();

        /// <summary>
        /// Node → uniform slot, for consumers that look slots up often; the same answer as <see cref="SlotOf"/>.
        /// Lookups are structural, and a program that is not hash-consed (the search's raw mutation candidates) may hold
        /// equal nodes that got a slot each: the first one wins. It is the one computed first (equal nodes have
        /// the same level, slots follow dependency order and uniforms are evaluated by level, then slot), so every
        /// reader of any of the equal nodes reads a value already computed in this step. The last one would be
        /// computed after some of its readers, which then read the previous step's value (zero at the first step).
        /// </summary>
        public System.Collections.Generic.Dictionary<Node, int> SlotMap()
        {
            var map = new System.Collections.Generic.Dictionary<Node, int>();
            foreach (var u in Uniforms) if (!map.ContainsKey(u.Node)) map[u.Node] = u.Slot;
            return map;
        }

        /// <summary>The uniform slot computing <paramref name="node"/>, or null.</summary>
        public UniformSlot? SlotOf(Node node)
        {
            foreach (var u in Uniforms) if (ReferenceEquals(u.Node, node) || u.Node.Equals(node)) return u;
            return null;
        }

        /// <summary>The per-row or per-column vector holding <paramref name="node"/>, or null.</summary>
        public VectorSlot? VectorOf(Node node)
        {
            foreach (var v in Vectors) if (ReferenceEquals(v.Node, node) || v.Node.Equals(node)) return v;
            return null;
        }
    }
}
