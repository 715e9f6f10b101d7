using System;
using System.Buffers;
using System.Linq;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// Runs one pass of a schedule the way a generated kernel does (same contract as a rule's <c>RunPass</c>), by
    /// interpreting its register program a column at a time: the range is cut into blocks of
    /// <see cref="Reduction.BlockSize"/>; each instruction runs over a whole block in one loop
    /// (<see cref="Semantics.FloatColumn"/>), so the op dispatch happens once per block, not per element. Results are the
    /// generated kernels' bit for bit: the same float32 operations, and reductions in the canonical block order.
    /// This is how rules built at run time (the search) run without compiling, and the yardstick kernels are tested
    /// against. Thread-safe: scratch columns are rented per call.
    /// </summary>
    public sealed class PassInterpreter
    {
        private enum InputKind : byte { Buffer, Uniform, Const }

        private readonly (InputKind kind, int index, float value)[] _inputs;
        private readonly PassInstruction[] _instructions;
        private readonly (int ordinal, int register)[] _stores;
        private readonly (int register, bool max)[] _reductions;
        private readonly int _registers;

        /// <summary>An interpreter for element pass <paramref name="pass"/> of <paramref name="schedule"/>.</summary>
        public PassInterpreter(KernelSchedule schedule, PassProgram pass)
        {
            Pass = pass;
            _inputs = pass.Inputs.Select(o => o.Kind switch
            {
                OperandKind.Buffer => (InputKind.Buffer, schedule.KernelOrdinal(o.Index), 0f),
                OperandKind.Slot => (InputKind.Uniform, o.Index, 0f),
                OperandKind.Const => (InputKind.Const, 0, o.Value),
                _ => throw new IrException($"{schedule.Name}: pass {pass.Index} cannot take {o} as an input"),
            }).ToArray();
            _instructions = pass.Instructions.ToArray();
            // ColSum operands are stored like any other value; the caller adds them up.
            _stores = pass.Stores.Select(s => (schedule.KernelOrdinal(s.Buffer), s.Register))
                .Concat(pass.ColumnSums.Select(c => (schedule.KernelOrdinal(c.Buffer), c.Register))).ToArray();
            _reductions = pass.Reductions.Select(r => (r.Register, r.IsMax)).ToArray();
            _registers = pass.RegisterCount;
        }

        /// <summary>The pass this interpreter runs.</summary>
        public PassProgram Pass { get; }

        /// <summary>
        /// The pass over <paramref name="buffers"/> (every kernel buffer, sliced to one range). With reductions, writes one
        /// partial per block and reduction, block-major, into <paramref name="partials"/>; the range must start on a block boundary.
        /// </summary>
        public void Run(ReadOnlySpan<float> uniforms, in KernelBuffers buffers, Span<double> partials)
        {
            int n = buffers.Length;
            int width = Math.Min(n, Reduction.BlockSize);
            if (width == 0) return;
            var scratch = ArrayPool<float>.Shared.Rent(_registers * width);
            try
            {
                var columns = scratch.AsSpan(0, _registers * width);
                for (int i = 0; i < _inputs.Length; i++)
                {
                    var (kind, index, value) = _inputs[i];
                    if (kind == InputKind.Const) columns.Slice(i * width, width).Fill(value);
                    else if (kind == InputKind.Uniform) columns.Slice(i * width, width).Fill(uniforms[index]);
                }
                int block = 0;
                for (int start = 0; start < n; start += width, block++)
                {
                    int len = Math.Min(width, n - start);
                    for (int i = 0; i < _inputs.Length; i++)
                        if (_inputs[i].kind == InputKind.Buffer)
                            buffers[_inputs[i].index].Slice(start, len).CopyTo(columns.Slice(i * width, len));
                    for (int k = 0; k < _instructions.Length; k++)
                    {
                        var ins = _instructions[k];
                        int r = _inputs.Length + k;
                        Semantics.FloatColumn(ins.Op, columns.Slice(r * width, len), columns.Slice(ins.A * width, len),
                            columns.Slice(ins.B * width, len), columns.Slice(ins.C * width, len));
                    }
                    for (int k = 0; k < _reductions.Length; k++)
                        partials[block * _reductions.Length + k] = Reduction.ReduceBlock(columns.Slice(_reductions[k].register * width, len), _reductions[k].max);
                    for (int s = 0; s < _stores.Length; s++)
                        columns.Slice(_stores[s].register * width, len).CopyTo(buffers[_stores[s].ordinal].Slice(start, len));
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        }
    }
}
