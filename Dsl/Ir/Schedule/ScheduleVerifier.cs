using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Checks that a schedule is self-consistent before anything runs it: every slot, vector, register and
    /// buffer an instruction names exists; registers are read only after they are written; steps name
    /// existing passes, levels and matrix passes; the kernels' buffers are the parameter, the gradient, then
    /// the other element-shaped buffers. A schedule that fails is refused, never half-run.
    /// </summary>
    public static class ScheduleVerifier
    {
        /// <summary>Throws <see cref="ScheduleFormatException"/> listing every inconsistency of <paramref name="s"/>.</summary>
        public static void ThrowIfInvalid(KernelSchedule s)
        {
            var problems = Check(s);
            if (problems.Count > 0) throw new ScheduleFormatException($"kernel schedule of '{s.Name}' is inconsistent: {string.Join("; ", problems)}");
        }

        /// <summary>Every inconsistency of <paramref name="s"/>, one message each (empty when it is sound).</summary>
        public static List<string> Check(KernelSchedule s)
        {
            var problems = new List<string>();
            void Require(bool ok, string what) { if (!ok) problems.Add(what); }
            int B = s.Buffers.Count, U = s.UniformCount, V = s.Vectors.Count;
            Require(B >= 2 && s.Buffers[0].Kind == BufferKind.Param && s.Buffers[1].Kind == BufferKind.Grad, "buffer 0 must be the parameter and buffer 1 the gradient");
            Require(s.LevelCount >= 0 && U >= 0, "negative counts");
            for (int b = 0; b < B; b++)
            {
                var buffer = s.Buffers[b];
                Require(buffer.IsProgramBuffer == b < s.ProgramBufferCount, $"buffer {b} ({buffer.Name}): the rule's buffers must come before the runtime's");
                if (buffer.Kind is BufferKind.Column or BufferKind.ColumnSumOperand)
                    Require(buffer.Vector >= 0 && buffer.Vector < V && s.Vectors[buffer.Vector].Domain == Domain.Column, $"buffer {b} ({buffer.Name}) must name a column vector");
            }
            Require(s.KernelBuffers.Count >= 2 && s.KernelBuffers[0] == 0 && s.KernelBuffers[1] == 1, "kernels take the parameter and the gradient first");
            foreach (var k in s.KernelBuffers)
                Require(k >= 0 && k < B && (s.Buffers[k].Shape == StateShape.Element || !s.Buffers[k].IsProgramBuffer), $"kernel buffer {k} is not an element-shaped buffer");
            Require(s.KernelBuffers.Distinct().Count() == s.KernelBuffers.Count, "a kernel buffer is listed twice");

            var slots = new HashSet<int>();
            foreach (var u in s.Uniforms)
            {
                Require(u.Slot >= 0 && u.Slot < U && slots.Add(u.Slot), $"uniform slot {u.Slot} out of range or defined twice");
                Require(u.Level >= 0 && u.Level < System.Math.Max(1, s.LevelCount), $"uniform slot {u.Slot}: level {u.Level} out of range");
                switch (u.Kind)
                {
                    case UniformKind.Hyper: Require(u.Index >= 0 && u.Index < s.Hypers.Count, $"uniform slot {u.Slot}: no hyperparameter {u.Index}"); break;
                    case UniformKind.ScalarState: Require(u.Index >= 0 && u.Index < s.ScalarBuffers.Count, $"uniform slot {u.Slot}: no scalar state {u.Index}"); break;
                    case UniformKind.PerRow: Require(u.Index >= 0 && u.Index < V && s.Vectors[u.Index].Domain == Domain.Row, $"uniform slot {u.Slot}: no row vector {u.Index}"); break;
                    case UniformKind.Compute:
                        Require(u.Sources.Count == OpInfo.Arity(u.Op) && OpInfo.Group(u.Op) is not (OpGroup.Leaf or OpGroup.Reduction or OpGroup.Matrix), $"uniform slot {u.Slot}: {u.Op} with {u.Sources.Count} sources");
                        foreach (var o in u.Sources)
                            Require(o.Kind == OperandKind.Const || (o.Kind == OperandKind.Slot && o.Index >= 0 && o.Index < U), $"uniform slot {u.Slot}: operand {o} is not a constant or a slot");
                        break;
                }
            }
            Require(slots.Count == U, $"{U} uniform slots declared, {slots.Count} defined");

            for (int v = 0; v < V; v++)
            {
                var vec = s.Vectors[v];
                Require(vec.Vector == v && vec.Domain is Domain.Row or Domain.Column, $"vector {v} is misnumbered or not per row/column");
                if (vec.Kind == VectorKind.State)
                    Require(vec.Index >= 0 && vec.Index < s.ProgramBufferCount && s.Buffers[vec.Index].Shape == (vec.Domain == Domain.Row ? StateShape.Row : StateShape.Column), $"vector {v}: buffer {vec.Index} is not a {vec.Domain} state");
                if (vec.Kind == VectorKind.Compute)
                    foreach (var o in vec.Sources)
                        Require(o.Kind == OperandKind.Const || (o.Kind == OperandKind.Slot && o.Index < U) || (o.Kind == OperandKind.Vector && o.Index < V), $"vector {v}: operand {o} out of range");
            }
            foreach (var r in s.VectorReductions) Require(r.Vector >= 0 && r.Vector < V && r.Slot >= 0 && r.Slot < U, "a vector reduction is out of range");

            for (int p = 0; p < s.Passes.Count; p++)
            {
                var pass = s.Passes[p];
                Require(pass.Index == p, $"pass {p} is numbered {pass.Index}");
                int registers = pass.RegisterCount;
                foreach (var o in pass.Inputs)
                    Require(o.Kind == OperandKind.Const || (o.Kind == OperandKind.Slot && o.Index >= 0 && o.Index < U) || (o.Kind == OperandKind.Buffer && s.KernelOrdinal(o.Index) >= 0),
                        $"pass {p}: input {o} is not a constant, a slot or a kernel buffer");
                for (int i = 0; i < pass.Instructions.Count; i++)
                {
                    var ins = pass.Instructions[i];
                    int self = pass.Inputs.Count + i, arity = OpInfo.Group(ins.Op) is OpGroup.Leaf or OpGroup.Reduction or OpGroup.Matrix ? -1 : OpInfo.Arity(ins.Op);
                    Require(arity > 0, $"pass {p}: {ins.Op} is not an element-wise op");
                    Require(ins.A >= 0 && ins.A < self && (arity < 2 || (ins.B >= 0 && ins.B < self)) && (arity < 3 || (ins.C >= 0 && ins.C < self)),
                        $"pass {p}: instruction {i} reads a register not yet written");
                }
                foreach (var st in pass.Stores)
                    Require(st.Register >= 0 && st.Register < registers && s.KernelOrdinal(st.Buffer) >= 0 && s.Buffers[st.Buffer].Kind != BufferKind.Grad, $"pass {p}: store into buffer {st.Buffer} is out of range");
                foreach (var r in pass.Reductions)
                    Require(r.Register >= 0 && r.Register < registers && (r.Kind == ReductionKind.RowSum ? r.Target < V && pass.RowWise : r.Target < U), $"pass {p}: a reduction is out of range");
                foreach (var c in pass.ColumnSums)
                    Require(pass.RowWise && c.Register < registers && c.Vector < V && c.Buffer < B && s.Buffers[c.Buffer].Kind == BufferKind.ColumnSumOperand, $"pass {p}: a column sum is out of range");
                foreach (var b in pass.Loads) Require(b >= 0 && b < B, $"pass {p}: loads buffer {b}, which does not exist");
            }
            foreach (var m in s.Matrices)
                Require(m.Source >= 0 && m.Source < B && s.Buffers[m.Source].Kind == BufferKind.Temp && m.Result == m.Source, "a matrix pass must work in place on a temporary");
            foreach (var st in s.Steps)
            {
                bool ok = st.Kind switch
                {
                    StepKind.Matrix => st.Index >= 0 && st.Index < s.Matrices.Count,
                    StepKind.Pass => st.Index >= 0 && st.Index < s.Passes.Count,
                    _ => st.Index >= 0 && st.Index < s.LevelCount,
                };
                Require(ok, $"step {st.Kind} {st.Index} names nothing");
            }
            foreach (var o in s.ScalarStores)
                Require(s.ScalarBuffers.Contains(o.Buffer) && (o.Value.Kind == OperandKind.Const || (o.Value.Kind == OperandKind.Slot && o.Value.Index < U)), $"scalar store into buffer {o.Buffer} is invalid");
            foreach (var o in s.VectorStores)
                Require(s.VectorBuffers.Contains(o.Buffer) && (o.Value.Kind == OperandKind.Const || (o.Value.Kind == OperandKind.Slot && o.Value.Index < U) || (o.Value.Kind == OperandKind.Vector && o.Value.Index < V)),
                    $"row/column store into buffer {o.Buffer} is invalid");
            return problems;
        }
    }
}
