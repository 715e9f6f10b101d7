using System.Collections.Immutable;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// A uniform value computed once per call in float64: a hyperparameter, the step, a shape scalar,
    /// a hoisted expression, or a reduction's result. Slot indexes the uniform array that the kernels
    /// receive (rounded to float32). Level is the pass before which it is available.
    /// </summary>
    public sealed record UniformSlot(int Slot, Node Node, int Level);

    /// <summary>
    /// One fused element-wise pass over the tensor: reads its inputs, computes, stores, and
    /// accumulates the reductions the next level needs. Buffer indices count program buffers first,
    /// then temporaries.
    /// </summary>
    public sealed record ElementPass(
        int Index,
        int Level,
        EquatableArray<Output> Inputs,
        EquatableArray<Node> Nodes,
        EquatableArray<Output> Stores,
        EquatableArray<Node> Reductions)
    {
        /// <summary>
        /// The buffers read, in order. An input is a buffer's value at entry (a Load), a buffer's new
        /// value stored by an earlier pass (reloaded rather than recomputed), or a temporary holding a
        /// matrix pass's result.
        /// </summary>
        public EquatableArray<int> Loads => Inputs.Select(i => i.Buffer).Distinct().OrderBy(b => b).ToEquatableArray();

        /// <summary>Bytes of float32 buffers this pass moves per element (each load and store once).</summary>
        public int BytesPerElement => 4 * (Loads.Count + Stores.Count);
    }

    /// <summary>
    /// A matrix pass the runtime runs between element passes: <see cref="Op"/> applied to the
    /// temporary <see cref="SourceBuffer"/>, written to <see cref="ResultBuffer"/> (buffer indices in
    /// the plan's numbering: program buffers first, then temporaries). It runs after the pass of
    /// level <see cref="Level"/> − 1 and before level <see cref="Level"/>'s uniforms.
    /// </summary>
    public sealed record MatrixStage(int Level, Op Op, Node Node, int SourceBuffer, int ResultBuffer);

    /// <summary>
    /// What the planner makes of a (simplified) program: the uniform values to compute once per call
    /// and the element passes, fewest possible, cut at whole-tensor ops. Every emitter and the
    /// interpreter execute this same plan.
    /// </summary>
    public sealed record KernelPlan(
        RuleProgram Program,
        EquatableArray<UniformSlot> Uniforms,
        EquatableArray<ElementPass> Passes,
        int LevelCount,
        EquatableArray<Output> ScalarStores,
        int TempCount,
        EquatableArray<MatrixStage> MatrixStages)
    {
        /// <summary>Program buffers plus temporaries: indices [Program.Buffers.Count, BufferCount) are temporaries.</summary>
        public int BufferCount => Program.Buffers.Count + TempCount;

        public bool IsTemp(int buffer) => buffer >= Program.Buffers.Count;

        /// <summary>A buffer's name: the program's, or "temp{k}" for a temporary.</summary>
        public string BufferName(int buffer) => IsTemp(buffer) ? "temp" + (buffer - Program.Buffers.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : Program.Buffers[buffer].Name;

        /// <summary>Where an input node of an element pass comes from when it is a matrix pass's result.</summary>
        public int? ResultBufferOf(Node node)
        {
            foreach (var m in MatrixStages) if (m.Node.Equals(node)) return m.ResultBuffer;
            return null;
        }

        public int PassCount => Passes.Count;

        /// <summary>Buffers with one value per element (parameter, gradient, element states), in order.</summary>
        public EquatableArray<int> ElementBuffers => Enumerable.Range(0, Program.Buffers.Count)
            .Where(b => Program.Buffers[b].Shape == StateShape.Element)
            .Concat(Enumerable.Range(Program.Buffers.Count, TempCount)).ToEquatableArray();

        /// <summary>State buffers holding one value per tensor, in order.</summary>
        public EquatableArray<int> ScalarBuffers => Enumerable.Range(0, Program.Buffers.Count)
            .Where(b => Program.Buffers[b].Shape == StateShape.Scalar).ToEquatableArray();

        public ElementPass? PassAtLevel(int level)
        {
            foreach (var p in Passes) if (p.Level == level) return p;
            return null;
        }

        /// <summary>Bytes moved per parameter element per step over all passes (float32 state).</summary>
        public int BytesPerParameter => Passes.Sum(p => p.BytesPerElement);

        public UniformSlot? SlotOf(Node node)
        {
            foreach (var u in Uniforms) if (ReferenceEquals(u.Node, node) || u.Node.Equals(node)) return u;
            return null;
        }
    }
}
