using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Lowers a plan (a graph of nodes cut into passes) to its schedule (a linear list of steps over numbered
    /// slots, vectors, buffers and registers). Every choice the plan made is kept: slot numbers, buffer order,
    /// pass contents and the order in which each level's values are computed; nothing is planned here.
    /// </summary>
    public static class ScheduleLowering
    {
        /// <summary>Writes <paramref name="plan"/> down as a <see cref="KernelSchedule"/>.</summary>
        public static KernelSchedule Lower(KernelPlan plan)
        {
            var program = plan.Program;
            var slots = plan.SlotMap();
            // Equal nodes of a program that is not hash-consed get a vector each: the first wins, as in SlotMap
            // (vectors are evaluated by level, then index, so it is computed before every reader of either).
            var vectorOf = new Dictionary<Node, int>();
            foreach (var v in plan.Vectors) if (!vectorOf.ContainsKey(v.Node)) vectorOf[v.Node] = v.Index;
            var scalarBuffers = plan.ScalarBuffers.AsImmutableArray();

            Operand UniformOperand(Node n) => n.Op == Op.Const ? Operand.Const(n.Value)
                : slots.TryGetValue(n, out var s) ? Operand.Slot(s) : throw new IrException($"{program.Name}: no uniform slot for {n}");
            Operand VectorOperand(Node n) => vectorOf.TryGetValue(n, out var v) ? Operand.Vector(v) : UniformOperand(n);

            // Buffers: the program's, then the plan's extras (temporaries, column values, ColSum operands).
            var buffers = new List<ScheduleBuffer>();
            foreach (var b in program.Buffers)
                buffers.Add(new ScheduleBuffer(b.Name, b.Role switch { BufferRole.Param => BufferKind.Param, BufferRole.Grad => BufferKind.Grad, _ => BufferKind.State }, b.Shape));
            for (int e = 0; e < plan.Extras.Count; e++)
            {
                var extra = plan.Extras[e];
                string name = plan.BufferName(program.Buffers.Count + e);
                buffers.Add(extra.Kind switch
                {
                    ExtraKind.Temp => new ScheduleBuffer(name, BufferKind.Temp, StateShape.Element),
                    ExtraKind.Column => new ScheduleBuffer(name, BufferKind.Column, StateShape.Column, vectorOf[extra.Node]),
                    _ => new ScheduleBuffer(name, BufferKind.ColumnSumOperand, StateShape.Column, vectorOf[extra.Node]),
                });
            }

            var uniforms = plan.Uniforms.OrderBy(u => u.Level).ThenBy(u => u.Slot).Select(u =>
            {
                var n = u.Node;
                if (u.PerRow) return new UniformInstruction(u.Slot, u.Level, UniformKind.PerRow, vectorOf[n], Op.Const, EquatableArray<Operand>.Empty);
                switch (n.Op)
                {
                    case Op.Hyper: return new UniformInstruction(u.Slot, u.Level, UniformKind.Hyper, n.Index, n.Op, EquatableArray<Operand>.Empty);
                    case Op.Step: return new UniformInstruction(u.Slot, u.Level, UniformKind.Step, 0, n.Op, EquatableArray<Operand>.Empty);
                    case Op.Shape: return new UniformInstruction(u.Slot, u.Level, UniformKind.Shape, n.Index, n.Op, EquatableArray<Operand>.Empty);
                    case Op.Load: return new UniformInstruction(u.Slot, u.Level, UniformKind.ScalarState, scalarBuffers.IndexOf(n.Index), n.Op, EquatableArray<Operand>.Empty);
                    case Op.ReduceSum: case Op.ReduceMax: return new UniformInstruction(u.Slot, u.Level, UniformKind.Reduced, 0, n.Op, EquatableArray<Operand>.Empty);
                    default: return new UniformInstruction(u.Slot, u.Level, UniformKind.Compute, 0, n.Op, n.Sources.Select(UniformOperand).ToEquatableArray());
                }
            }).ToEquatableArray();

            var vectors = plan.Vectors.Select(v => v.Node.Op switch
            {
                Op.Load => new VectorInstruction(v.Index, v.Domain, v.Level, VectorKind.State, v.Node.Index, Op.Load, EquatableArray<Operand>.Empty),
                Op.RowSum or Op.ColSum => new VectorInstruction(v.Index, v.Domain, v.Level, VectorKind.Reduced, 0, v.Node.Op, EquatableArray<Operand>.Empty),
                _ => new VectorInstruction(v.Index, v.Domain, v.Level, VectorKind.Compute, 0, v.Node.Op, v.Node.Sources.Select(VectorOperand).ToEquatableArray()),
            }).ToEquatableArray();
            var vectorReductions = plan.Uniforms
                .Where(u => !u.PerRow && u.Node.Op is Op.ReduceSum or Op.ReduceMax && vectorOf.ContainsKey(u.Node.Sources[0]))
                .Select(u => new VectorReduction(vectorOf[u.Node.Sources[0]], u.Slot, u.Node.Op == Op.ReduceMax)).ToEquatableArray();

            var passes = plan.Passes.Select(p => LowerPass(plan, p, slots, vectorOf)).ToEquatableArray();
            var matrices = plan.MatrixStages.Select(m => new MatrixStep(m.Level, m.Op == Op.Orthogonalize ? MatrixOp.Orthogonalize : MatrixOp.Precondition, m.SourceBuffer, m.ResultBuffer)).ToEquatableArray();

            // Per level: its matrix passes, its uniforms, its vectors, then its element pass.
            var steps = new List<ScheduleStep>();
            for (int level = 0; level < plan.LevelCount; level++)
            {
                for (int m = 0; m < matrices.Count; m++) if (matrices[m].Level == level) steps.Add(new ScheduleStep(StepKind.Matrix, m));
                steps.Add(new ScheduleStep(StepKind.Uniforms, level));
                if (plan.HasVectors) steps.Add(new ScheduleStep(StepKind.Vectors, level));
                foreach (var p in plan.Passes) if (p.Level == level) steps.Add(new ScheduleStep(StepKind.Pass, p.Index));
            }

            var scalarStores = plan.ScalarStores.Select(o => new StateStore(o.Buffer, UniformOperand(o.Value))).ToEquatableArray();
            var vectorStores = plan.VectorStores.Select(o => new StateStore(o.Buffer, VectorOperand(o.Value))).ToEquatableArray();

            return new KernelSchedule(program.Name, buffers.ToEquatableArray(), program.Hypers, plan.ElementBuffers, plan.Uniforms.Count, plan.LevelCount,
                uniforms, vectors, vectorReductions, passes, matrices, steps.ToEquatableArray(), scalarStores, vectorStores);
        }

        /// <summary>
        /// A pass in register form. Inputs are numbered in the order the pass's nodes first read them (sources of its
        /// nodes, then stored values, then reduction operands), then one register per computed node in plan order.
        /// </summary>
        private static PassProgram LowerPass(KernelPlan plan, ElementPass pass, Dictionary<Node, int> slots, Dictionary<Node, int> vectorOf)
        {
            var computed = new HashSet<Node>(pass.Nodes, NodeIdentityComparer.Instance);
            var registers = new Dictionary<Node, int>(NodeIdentityComparer.Instance);
            var inputs = new List<Operand>();
            void AddInput(Node s)
            {
                if (computed.Contains(s) || registers.ContainsKey(s)) return;
                registers[s] = inputs.Count;
                var read = pass.Inputs.FirstOrDefault(x => ReferenceEquals(x.Value, s) || x.Value.Equals(s));
                if (read != null) inputs.Add(Operand.Buffer(read.Buffer));
                else if (s.Op == Op.Const) inputs.Add(Operand.Const(s.Value));
                else inputs.Add(slots.TryGetValue(s, out var slot) ? Operand.Slot(slot) : throw new IrException($"{plan.Program.Name}: no uniform slot for {s}"));
            }
            foreach (var n in pass.Nodes) foreach (var s in n.Sources) AddInput(s);
            foreach (var o in pass.Stores) AddInput(o.Value);
            foreach (var r in pass.Reductions) AddInput(r.Sources[0]);
            foreach (var n in pass.Nodes) registers[n] = registers.Count;
            var instructions = pass.Nodes.Select(n => new PassInstruction(n.Op,
                registers[n.Sources[0]],
                n.Sources.Length > 1 ? registers[n.Sources[1]] : 0,
                n.Sources.Length > 2 ? registers[n.Sources[2]] : 0)).ToEquatableArray();
            bool IsOperand(int buffer) => plan.ExtraOf(buffer)?.Kind == ExtraKind.ColumnSumOperand;
            var stores = pass.Stores.Where(s => !IsOperand(s.Buffer)).Select(s => new PassStore(s.Buffer, registers[s.Value])).ToEquatableArray();
            var columnSums = pass.Stores.Where(s => IsOperand(s.Buffer))
                .Select(s => new ColumnSum(s.Buffer, registers[s.Value], vectorOf[plan.ExtraOf(s.Buffer)!.Node])).ToEquatableArray();
            var reductions = pass.Reductions.Select(r => r.Op switch
            {
                Op.RowSum => new PassReduction(ReductionKind.RowSum, registers[r.Sources[0]], vectorOf[r]),
                Op.ReduceMax => new PassReduction(ReductionKind.Max, registers[r.Sources[0]], slots[r]),
                _ => new PassReduction(ReductionKind.Sum, registers[r.Sources[0]], slots[r]),
            }).ToEquatableArray();
            return new PassProgram(pass.Index, pass.Level, pass.RowWise, pass.BytesPerElement, inputs.ToEquatableArray(), instructions, stores, reductions, columnSums, pass.Loads);
        }
    }
}
