using System.Linq;

namespace Fused.Ir
{
    /// <summary>What a buffer of a schedule is: the rule's own (parameter, gradient, state) or one the runtime provides.</summary>
    public enum BufferKind : byte
    {
        /// <summary>The parameter.</summary>
        Param,
        /// <summary>The gradient.</summary>
        Grad,
        /// <summary>A state the rule declares.</summary>
        State,
        /// <summary>A tensor-sized float32 temporary: a matrix pass's source and result, or a value one pass stores for a later one.</summary>
        Temp,
        /// <summary>A column value read by a row-wise pass (Cols floats): vector <see cref="ScheduleBuffer.Vector"/>.</summary>
        Column,
        /// <summary>A row-wise pass's ColSum operands for the current row (Cols floats of scratch): they add up into vector <see cref="ScheduleBuffer.Vector"/>.</summary>
        ColumnSumOperand,
    }

    /// <summary>A buffer of the schedule. The rule's buffers come first (parameter, gradient, states), then the runtime's.</summary>
    public sealed record ScheduleBuffer(string Name, BufferKind Kind, StateShape Shape, int Vector = -1)
    {
        /// <summary>Whether the buffer is one of the rule's own (parameter, gradient or state), not one the plan added.</summary>
        public bool IsProgramBuffer => Kind is BufferKind.Param or BufferKind.Grad or BufferKind.State;
    }

    /// <summary>Where an instruction's operand comes from.</summary>
    public enum OperandKind : byte
    {
        /// <summary>A float32 literal (<see cref="Operand.Value"/>).</summary>
        Const,
        /// <summary>A uniform slot.</summary>
        Slot,
        /// <summary>A per-row or per-column vector.</summary>
        Vector,
        /// <summary>A register of a pass (its inputs first, then its instructions' results).</summary>
        Register,
        /// <summary>A buffer of the schedule, element by element (in a pass: the kernel reads it).</summary>
        Buffer,
    }

    /// <summary>An operand: a constant, a slot, a vector, a register or a buffer.</summary>
    public readonly struct Operand : System.IEquatable<Operand>
    {
        /// <summary>An operand of <paramref name="kind"/> with its index, or its value for a constant.</summary>
        public Operand(OperandKind kind, int index, float value = 0f) { Kind = kind; Index = index; Value = value; }

        /// <summary>What the operand reads.</summary>
        public OperandKind Kind { get; }
        /// <summary>The slot, vector, register or buffer number.</summary>
        public int Index { get; }
        /// <summary>The value of a constant.</summary>
        public float Value { get; }

        /// <summary>A float32 constant.</summary>
        public static Operand Const(float value) => new Operand(OperandKind.Const, 0, value);
        /// <summary>A uniform slot.</summary>
        public static Operand Slot(int slot) => new Operand(OperandKind.Slot, slot);
        /// <summary>A per-row or per-column vector.</summary>
        public static Operand Vector(int vector) => new Operand(OperandKind.Vector, vector);
        /// <summary>A register of the pass.</summary>
        public static Operand Register(int register) => new Operand(OperandKind.Register, register);
        /// <summary>A buffer's element.</summary>
        public static Operand Buffer(int buffer) => new Operand(OperandKind.Buffer, buffer);

        /// <summary>Equality by kind, index and the constant's bits.</summary>
        public bool Equals(Operand other) => Kind == other.Kind && Index == other.Index && ScalarMath.ToBits(Value) == ScalarMath.ToBits(other.Value);
        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Operand o && Equals(o);
        /// <inheritdoc/>
        public override int GetHashCode() => ((int)Kind * 397) ^ (Index * 31) ^ ScalarMath.ToBits(Value);
        /// <summary>The operand as schedule text writes it.</summary>
        public override string ToString() => ScheduleText.Format(this);
    }

    /// <summary>How a uniform slot gets its value.</summary>
    public enum UniformKind : byte
    {
        /// <summary>Hyperparameter <see cref="UniformInstruction.Index"/>.</summary>
        Hyper,
        /// <summary>The step counter t (1 at the first step).</summary>
        Step,
        /// <summary>Shape scalar <see cref="UniformInstruction.Index"/> (a <see cref="ShapeScalar"/>).</summary>
        Shape,
        /// <summary>Scalar state number <see cref="UniformInstruction.Index"/> (in <see cref="KernelSchedule.ScalarBuffers"/> order) at entry.</summary>
        ScalarState,
        /// <summary>A whole-tensor reduction's result: written by a pass, or by a reduction of a vector.</summary>
        Reduced,
        /// <summary>Vector <see cref="UniformInstruction.Index"/>'s value for the current row, written before each row of a row-wise pass.</summary>
        PerRow,
        /// <summary><see cref="UniformInstruction.Op"/> of the sources, in float64.</summary>
        Compute,
    }

    /// <summary>One uniform value: computed once per call in float64 before the pass of <see cref="Level"/>, rounded to float32 for kernels.</summary>
    public sealed record UniformInstruction(int Slot, int Level, UniformKind Kind, int Index, Op Op, EquatableArray<Operand> Sources);

    /// <summary>How a per-row or per-column vector gets its values.</summary>
    public enum VectorKind : byte
    {
        /// <summary>Row or column state buffer <see cref="VectorInstruction.Index"/> at entry.</summary>
        State,
        /// <summary>A RowSum or ColSum: written by the pass before <see cref="VectorInstruction.Level"/>.</summary>
        Reduced,
        /// <summary><see cref="VectorInstruction.Op"/> of the sources (vectors, slots, constants), in float32.</summary>
        Compute,
    }

    /// <summary>A value with one float per row (or column) of the tensor viewed as Rows×Cols.</summary>
    public sealed record VectorInstruction(int Vector, Domain Domain, int Level, VectorKind Kind, int Index, Op Op, EquatableArray<Operand> Sources);

    /// <summary>A whole-tensor reduction of a vector into a slot (a sum counts each row value once per column and vice versa).</summary>
    public sealed record VectorReduction(int Vector, int Slot, bool Max);

    /// <summary>One instruction of a pass: register <c>inputs + index</c> = Op(A, B, C) (registers).</summary>
    public readonly struct PassInstruction : System.IEquatable<PassInstruction>
    {
        /// <summary>Instruction <paramref name="op"/> on registers <paramref name="a"/>, <paramref name="b"/>, <paramref name="c"/> (as many as the op takes).</summary>
        public PassInstruction(Op op, int a, int b, int c) { Op = op; A = a; B = b; C = c; }
        /// <summary>The op.</summary>
        public Op Op { get; }
        /// <summary>First operand register.</summary>
        public int A { get; }
        /// <summary>Second operand register (binary and ternary ops).</summary>
        public int B { get; }
        /// <summary>Third operand register (Where).</summary>
        public int C { get; }
        /// <summary>Equality by op and registers.</summary>
        public bool Equals(PassInstruction o) => Op == o.Op && A == o.A && B == o.B && C == o.C;
        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is PassInstruction o && Equals(o);
        /// <inheritdoc/>
        public override int GetHashCode() => ((int)Op * 397) ^ (A * 31) ^ (B * 17) ^ C;
    }

    /// <summary>A register stored into a buffer after the pass.</summary>
    public sealed record PassStore(int Buffer, int Register);

    /// <summary>What a pass reduces, and where the result lands.</summary>
    public enum ReductionKind : byte
    {
        /// <summary>Sum over the tensor into slot <see cref="PassReduction.Target"/>.</summary>
        Sum,
        /// <summary>Maximum over the tensor into slot <see cref="PassReduction.Target"/>.</summary>
        Max,
        /// <summary>Sum over each row into vector <see cref="PassReduction.Target"/> (row-wise passes).</summary>
        RowSum,
    }

    /// <summary>A reduction a pass accumulates, from register <see cref="Register"/>, in the order of <see cref="Reduction"/>.</summary>
    public sealed record PassReduction(ReductionKind Kind, int Register, int Target)
    {
        /// <summary>Whether this is a max reduction (else a sum).</summary>
        public bool IsMax => Kind == ReductionKind.Max;
    }

    /// <summary>A ColSum a row-wise pass accumulates: register <see cref="Register"/> is stored into operand buffer <see cref="Buffer"/>, whose columns add up into vector <see cref="Vector"/>.</summary>
    public sealed record ColumnSum(int Buffer, int Register, int Vector);

    /// <summary>
    /// One fused element-wise pass in register form: registers [0, Inputs) hold the inputs (buffer elements,
    /// uniform slots, constants), register Inputs + k the result of instruction k. A generated kernel computes
    /// exactly this; the interpreter executes it.
    /// </summary>
    public sealed record PassProgram(
        int Index,
        int Level,
        bool RowWise,
        int BytesPerElement,
        EquatableArray<Operand> Inputs,
        EquatableArray<PassInstruction> Instructions,
        EquatableArray<PassStore> Stores,
        EquatableArray<PassReduction> Reductions,
        EquatableArray<ColumnSum> ColumnSums,
        EquatableArray<int> Loads)
    {
        /// <summary>Number of registers: inputs then instruction results.</summary>
        public int RegisterCount => Inputs.Count + Instructions.Count;

        /// <summary>True when the pass stores buffer <paramref name="buffer"/> (a ColSum operand included).</summary>
        public bool StoresBuffer(int buffer) => Stores.Any(s => s.Buffer == buffer) || ColumnSums.Any(c => c.Buffer == buffer);

        /// <summary>Whether the pass reads <paramref name="buffer"/>.</summary>
        public bool LoadsBuffer(int buffer) => Loads.Contains(buffer);
    }

    /// <summary>The matrix passes the runtime implements (Newton-Schulz, Shampoo).</summary>
    public enum MatrixOp : byte
    {
        /// <summary>Newton–Schulz orthogonalization (Muon).</summary>
        Orthogonalize,
        /// <summary>Shampoo's preconditioning.</summary>
        Precondition,
    }

    /// <summary>A matrix pass over temporary <see cref="Source"/>, in place (<see cref="Result"/> is the same buffer today).</summary>
    public sealed record MatrixStep(int Level, MatrixOp Op, int Source, int Result);

    /// <summary>The kinds of steps an executor walks.</summary>
    public enum StepKind : byte
    {
        /// <summary>Matrix pass <see cref="ScheduleStep.Index"/> over each tensor.</summary>
        Matrix,
        /// <summary>The uniform values of level <see cref="ScheduleStep.Index"/>.</summary>
        Uniforms,
        /// <summary>The per-row and per-column values of level <see cref="ScheduleStep.Index"/>, then their reductions.</summary>
        Vectors,
        /// <summary>Element pass <see cref="ScheduleStep.Index"/>, then the fold of its reductions.</summary>
        Pass,
    }

    /// <summary>One step of the schedule: its kind and the index into that kind's list.</summary>
    public readonly struct ScheduleStep : System.IEquatable<ScheduleStep>
    {
        /// <summary>A step of <paramref name="kind"/> numbered <paramref name="index"/>.</summary>
        public ScheduleStep(StepKind kind, int index) { Kind = kind; Index = index; }
        /// <summary>What the step does.</summary>
        public StepKind Kind { get; }
        /// <summary>Index into the list of that kind (matrix step, level or pass).</summary>
        public int Index { get; }
        /// <summary>Equality by kind and index.</summary>
        public bool Equals(ScheduleStep o) => Kind == o.Kind && Index == o.Index;
        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is ScheduleStep o && Equals(o);
        /// <inheritdoc/>
        public override int GetHashCode() => ((int)Kind * 397) ^ Index;
    }

    /// <summary>A scalar or row/column state's new value, written after the last step: a slot, a vector or a constant.</summary>
    public sealed record StateStore(int Buffer, Operand Value);

    /// <summary>
    /// The contract between compile time and run time: a linear list of steps (matrix passes, uniform levels,
    /// per-row vectors, element passes with the reductions they accumulate and the slots they land in), the
    /// buffers with their roles (temporaries and column buffers included), the uniform slots, and every pass in
    /// register form. The generator emits it beside the kernels it generated from the same plan (as text, with its
    /// hash); the runtime loads it and never plans a generated rule again. One executor walks it on every backend.
    /// </summary>
    public sealed record KernelSchedule(
        string Name,
        EquatableArray<ScheduleBuffer> Buffers,
        EquatableArray<HyperDecl> Hypers,
        EquatableArray<int> KernelBuffers,
        int UniformCount,
        int LevelCount,
        EquatableArray<UniformInstruction> Uniforms,
        EquatableArray<VectorInstruction> Vectors,
        EquatableArray<VectorReduction> VectorReductions,
        EquatableArray<PassProgram> Passes,
        EquatableArray<MatrixStep> Matrices,
        EquatableArray<ScheduleStep> Steps,
        EquatableArray<StateStore> ScalarStores,
        EquatableArray<StateStore> VectorStores)
    {
        /// <summary>The version of this data's layout. A change of meaning bumps it; a runtime reads one version.</summary>
        public const int FormatVersion = 1;

        /// <summary>Buffers of the rule itself (parameter, gradient, states); the runtime's come after them.</summary>
        public int ProgramBufferCount { get; } = Buffers.Count(b => b.IsProgramBuffer);

        /// <summary>State buffers with one value per tensor, in order.</summary>
        public EquatableArray<int> ScalarBuffers { get; } = Enumerable.Range(0, Buffers.Count)
            .Where(b => Buffers[b].IsProgramBuffer && Buffers[b].Shape == StateShape.Scalar).ToEquatableArray();

        /// <summary>State buffers with one value per row or column, in order.</summary>
        public EquatableArray<int> VectorBuffers { get; } = Enumerable.Range(0, Buffers.Count)
            .Where(b => Buffers[b].IsProgramBuffer && Buffers[b].Shape is StateShape.Row or StateShape.Column).ToEquatableArray();

        /// <summary>State buffers with one value per element, in order.</summary>
        public EquatableArray<int> ElementStateBuffers { get; } = Enumerable.Range(0, Buffers.Count)
            .Where(b => Buffers[b].Kind == BufferKind.State && Buffers[b].Shape == StateShape.Element).ToEquatableArray();

        /// <summary>Tensor-sized temporaries, in order.</summary>
        public EquatableArray<int> TempBuffers { get; } = Enumerable.Range(0, Buffers.Count)
            .Where(b => Buffers[b].Kind == BufferKind.Temp).ToEquatableArray();

        /// <summary>Number of element passes.</summary>
        public int PassCount => Passes.Count;

        /// <summary>Bytes moved per parameter element per step over all passes (float32 state; per-row and per-column values not counted).</summary>
        public int BytesPerParameter => Passes.Sum(p => p.BytesPerElement);

        /// <summary>Whether the schedule computes per-row or per-column vectors.</summary>
        public bool HasVectors => Vectors.Count > 0;

        /// <summary>Buffer index of the state called <paramref name="name"/>, or −1.</summary>
        public int BufferNamed(string name)
        {
            for (int b = 0; b < ProgramBufferCount; b++) if (Buffers[b].Name == name) return b;
            return -1;
        }

        /// <summary>Position of buffer <paramref name="buffer"/> among the kernels' buffers, or −1.</summary>
        public int KernelOrdinal(int buffer) => KernelBuffers.AsImmutableArray().IndexOf(buffer);

        /// <summary>The uniform instruction of <paramref name="slot"/>.</summary>
        public UniformInstruction UniformOf(int slot)
        {
            foreach (var u in Uniforms) if (u.Slot == slot) return u;
            throw new IrException($"{Name}: no uniform slot {slot}");
        }

        /// <summary>The per-row slots in slot order (how row-wise kernels on devices receive them, packed row by row).</summary>
        public EquatableArray<UniformInstruction> PerRowSlots { get; } = Uniforms.Where(u => u.Kind == UniformKind.PerRow).OrderBy(u => u.Slot).ToEquatableArray();

        /// <summary>What the rule costs in memory and traffic, derived from this schedule.</summary>
        public RuleLayout Layout => new RuleLayout(this);

        /// <summary>The schedule as <see cref="ScheduleText"/> writes it.</summary>
        public override string ToString() => ScheduleText.Write(this);
    }
}
