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
    /// One fused element-wise pass over the tensor: loads, computes, stores, and accumulates the
    /// reductions the next pass needs.
    /// </summary>
    public sealed record ElementPass(
        int Index,
        int Level,
        EquatableArray<int> Loads,
        EquatableArray<Node> Nodes,
        EquatableArray<Output> Stores,
        EquatableArray<Node> Reductions)
    {
        /// <summary>Bytes of float32 buffers this pass moves per element (each load and store once).</summary>
        public int BytesPerElement => 4 * (Loads.Count + Stores.Count);
    }

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
        EquatableArray<Output> ScalarStores)
    {
        public int PassCount => Passes.Count;

        /// <summary>Buffers with one value per element (parameter, gradient, element states), in order.</summary>
        public EquatableArray<int> ElementBuffers => Enumerable.Range(0, Program.Buffers.Count)
            .Where(b => Program.Buffers[b].Shape == StateShape.Element).ToEquatableArray();

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
