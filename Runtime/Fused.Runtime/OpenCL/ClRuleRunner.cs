using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Emit;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Runs a rule on an OpenCL device. Parameters, gradients and states live on the device in a
    /// <see cref="ClTensorState"/>; upload and download are explicit. The rule's passes are the OpenCL C
    /// emitted from its plan (<see cref="OpenClRuleEmitter"/>), built once per device and cached on disk.
    /// Uniform values are computed on the host in float64 as on the CPU; reductions run on the device in
    /// the same fixed block order and are folded on the host; matrix passes (Orthogonalize) run on the
    /// device with <see cref="ClNewtonSchulz"/>. Works the same for rules generated at compile time and
    /// programs built at run time (the search): both are plans.
    /// <para>
    /// Each pass has a scalar kernel (one element per work-item) and a vector kernel (<see cref="ClKernelChoice.VectorWidth"/>
    /// elements per work-item, the scalar kernel on the tail); <see cref="Kernels"/> says which runs and why
    /// (<see cref="ClKernelChoice.Resolve"/>: vector kernels on CPU devices, scalar ones on GPUs, unless told).
    /// </para>
    /// <para>
    /// Rules with per-row or per-column values (Adafactor) compute those small vectors on the host with
    /// <see cref="VectorValues"/>, the one implementation every backend shares: per level, the uniforms,
    /// then <see cref="VectorValues.Evaluate"/>, then the pass, which gets the column values it reads as
    /// device buffers of Cols floats and its per-row values packed row by row (uploaded once per step, when
    /// first read). A row-wise pass's reductions keep the orders of <see cref="Reduction"/>: its operands
    /// are reduced on the device block by block within each row (<c>fused_row_block_reduce</c>) and the
    /// (row, block) partials folded on the host, all of them row-major for a whole-tensor sum, each row's
    /// for RowSum; ColSum operands are summed per column on the device over groups of
    /// <see cref="Reduction.RowGroupSize"/> rows in float64, the groups folded pairwise
    /// (<c>fused_column_sums16</c>, 16 columns per work-item, beside the vector kernels; <c>fused_column_sums</c>,
    /// one, beside the scalar ones). RowSum and ColSum results go back into <see cref="VectorValues"/>; row and
    /// column states are written after the last level.
    /// </para>
    /// </summary>
    public sealed class ClRuleRunner : IDisposable
    {
        private readonly FusedRule _rule;
        private readonly KernelPlan _plan;
        private readonly ClQueue _queue;
        private readonly ClKernel[] _passes;
        private readonly ClKernel[]? _vectorPasses;
        private readonly long _localSize;
        private readonly long _scalarLocalSize;
        private readonly ClKernel _reduce;
        private readonly ClNewtonSchulz? _newtonSchulz;
        private readonly double[] _uniforms;
        private readonly float[] _uniformsF;
        private readonly (int slot, bool max)[][] _reductions;
        private readonly RowWiseParts? _rowWise;

        /// <param name="rule">The rule (its plan is emitted as OpenCL C and built once per device).</param>
        /// <param name="queue">The queue every step runs on.</param>
        /// <param name="matrix">Newton-Schulz options for rules with an Orthogonalize pass.</param>
        /// <param name="kernels">Scalar or vector kernels; <see cref="ClKernelShape.Auto"/> decides from the environment and the device.</param>
        /// <param name="vectorWidth">Width of the vector kernels (2, 4, 8, 16); 0 takes the device's preferred width.</param>
        public ClRuleRunner(FusedRule rule, ClQueue queue, NewtonSchulzOptions? matrix = null, ClKernelShape kernels = ClKernelShape.Auto, int vectorWidth = 0)
        {
            _rule = rule ?? throw new ArgumentNullException(nameof(rule));
            _queue = queue ?? throw new ArgumentNullException(nameof(queue));
            _plan = rule.Plan;
            foreach (var stage in _plan.MatrixStages)
                if (stage.Op != Op.Orthogonalize)
                    throw new NotSupportedException($"{rule.Name}: the {stage.Op} matrix pass (Shampoo) has no OpenCL implementation yet; run this rule on the CPU executor");
            Kernels = ClKernelChoice.Resolve(queue.Device, kernels, vectorWidth);
            // Both kernels of every pass are in the program; the build options only fix the vector width.
            // Generated rules carry their OpenCL C (emitted at compile time); run-time rules are emitted here.
            var built = queue.Context.Programs.GetOrBuild(rule.OpenClSource ?? OpenClRuleEmitter.Emit(_plan),
                OpenClRuleEmitter.BuildOptionsFor(Kernels.IsVector ? Kernels.VectorWidth : DefaultVectorWidth));
            ProgramOrigin = built.Origin;
            _passes = _plan.Passes.Select(p => built.Program.CreateKernel(OpenClRuleEmitter.KernelName(p.Index))).ToArray();
            if (Kernels.IsVector) _vectorPasses = _plan.Passes.Select(p => built.Program.CreateKernel(OpenClRuleEmitter.VectorKernelName(p.Index))).ToArray();
            var main = _vectorPasses ?? _passes;
            _localSize = main.Length == 0 ? 1 : main.Min(ClElementwise.ChooseLocalSize);
            _scalarLocalSize = _passes.Length == 0 ? 1 : _passes.Min(ClElementwise.ChooseLocalSize);
            var support = queue.Context.Programs.Get(ClSupportKernels.Source);
            _reduce = support.CreateKernel("fused_block_reduce");
            if (_plan.MatrixStages.Count > 0) _newtonSchulz = new ClNewtonSchulz(queue, matrix);
            _uniforms = new double[_plan.Uniforms.Count];
            _uniformsF = new float[_plan.Uniforms.Count];
            var slots = UniformEvaluator.SlotMap(_plan);
            // RowSum has no uniform slot: a row-wise pass's results are placed by RowWiseParts.
            _reductions = _plan.Passes.Select(p => p.Reductions.Select(r => (r.Op == Op.RowSum ? -1 : slots[r], r.Op == Op.ReduceMax)).ToArray()).ToArray();
            if (_plan.Passes.Any(p => p.RowWise)) _rowWise = new RowWiseParts(_plan, support, columnsPerItem: Kernels.IsVector ? 16 : 1);
        }

        /// <summary>Vector width the program is built with when the scalar kernels run (so the source and options, hence the cache entry, stay the same).</summary>
        private const int DefaultVectorWidth = 8;

        public FusedRule Rule => _rule;
        public ClQueue Queue => _queue;

        /// <summary>Which kernels run (scalar or vector, the width) and why.</summary>
        public ClKernelChoice Kernels { get; }

        /// <summary>Work-group size of the main launch of every pass.</summary>
        public long LocalSize => _localSize;

        /// <summary>Where the rule's program came from: built now, loaded from the disk cache, or already in memory.</summary>
        public ProgramOrigin ProgramOrigin { get; }

        /// <summary>Device buffers for one tensor of <paramref name="shape"/> (states start at zero).</summary>
        public ClTensorState Allocate(ShapeInfo shape)
        {
            if (shape.Rows * shape.Cols != shape.Numel)
                throw new ArgumentException($"{_rule.Name}: shape {shape.Rows}×{shape.Cols} does not hold {shape.Numel} elements", nameof(shape));
            return new ClTensorState(this, _plan, _queue, shape);
        }

        /// <summary>One step on the device.</summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ClTensorState tensor)
        {
            if (hypers.Length != _plan.Program.Hypers.Count)
                throw new ArgumentException($"{_rule.Name} takes {_plan.Program.Hypers.Count} hyperparameters, got {hypers.Length}", nameof(hypers));
            if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "steps count from 1");
            if (tensor.Runner != this) throw new ArgumentException("the tensor state was allocated by another runner", nameof(tensor));
            var shape = tensor.Shape;
            int n = checked((int)shape.Numel);
            _rowWise?.Begin(tensor);
            for (int level = 0; level < _plan.LevelCount; level++)
            {
                foreach (var m in _plan.MatrixStages)
                    if (m.Level == level) _newtonSchulz!.Orthogonalize(tensor.Buffer(m.SourceBuffer), checked((int)shape.Rows), checked((int)shape.Cols));
                _rule.ComputeUniforms(level, hypers, step, shape, tensor.Scalars, _uniforms);
                _rowWise?.Vectors.Evaluate(level, _uniforms);
                int pass = -1;
                for (int i = 0; i < _plan.Passes.Count; i++) if (_plan.Passes[i].Level == level) pass = i;
                if (pass < 0) continue;
                var reductions = _reductions[pass];
                bool rowWise = _plan.Passes[pass].RowWise;
                if (n == 0)
                {
                    // Nothing to launch: every reduction is empty (its identity), as on the CPU.
                    foreach (var (slot, max) in reductions) if (slot >= 0) _uniforms[slot] = Reduction.Identity(max);
                    if (rowWise) _rowWise!.EmptyPass(pass);
                    continue;
                }
                for (int i = 0; i < _uniforms.Length; i++) _uniformsF[i] = (float)_uniforms[i];
                _queue.Write<float>(tensor.UniformBuffer, _uniformsF);
                if (rowWise)
                {
                    _rowWise!.Upload(pass, level, tensor, _queue);
                    LaunchRowWisePass(pass, tensor, n, checked((int)shape.Cols));
                    _rowWise.Reduce(pass, tensor, _queue, reductions, _uniforms);
                    continue;
                }
                LaunchPass(pass, tensor, n);
                for (int k = 0; k < reductions.Length; k++)
                    _uniforms[reductions[k].slot] = ReduceOnDevice(_queue, _reduce, tensor.ReductionOperand(k), n, reductions[k].max, tensor.Partials, tensor.HostPartials);
            }
            _rule.StoreScalars(_uniforms, tensor.Scalars);
            _rowWise?.End(tensor, _uniforms);
            _queue.Finish();
        }

        /// <summary>
        /// Scalar kernels: one launch over n rounded up to the local size. Vector kernels: one launch over the n / width
        /// whole vectors, then the scalar kernel over the last n % width elements (global ids from n - n % width).
        /// </summary>
        private void LaunchPass(int pass, ClTensorState tensor, int n)
        {
            var scalar = _passes[pass];
            if (_vectorPasses == null)
            {
                SetArgs(scalar, pass, tensor, n);
                _queue.Launch(scalar, RoundUp(n, _localSize), _localSize);
                return;
            }
            int width = Kernels.VectorWidth;
            int vectors = n / width;
            if (vectors > 0)
            {
                var vector = _vectorPasses[pass];
                SetArgs(vector, pass, tensor, n);
                _queue.Launch(vector, RoundUp(vectors, _localSize), _localSize);
            }
            int done = vectors * width;
            if (done < n)
            {
                SetArgs(scalar, pass, tensor, n);
                long local = Math.Min(width, scalar.WorkGroupSize);
                _queue.Launch(scalar, RoundUp(n - done, local), local, globalOffset: done);
            }
        }

        /// <summary>
        /// A row-wise pass. Scalar kernels: one launch over the n elements (first_col = 0). Vector kernels: one launch over
        /// the cols / width whole vectors of every row (a vector never crosses a row, so a row's values stay one scalar and
        /// the column values one vector load), then the scalar kernel over the last cols % width columns of every row.
        /// <para>So no lane ever gathers across a row end. What it costs: an integer division per work-item (the row) and a
        /// tail launch when cols is not a multiple of the width. Measured on PoCL (2-core EPYC, 4096×4096, width 8): Adafactor's
        /// last pass 10.4 ms against 10.0 ms with the row and column taken by shift and mask instead (within the noise of a
        /// shared machine).</para>
        /// </summary>
        private void LaunchRowWisePass(int pass, ClTensorState tensor, int n, int cols)
        {
            var scalar = _passes[pass];
            int rows = n / cols;
            int done = 0;
            if (_vectorPasses != null)
            {
                int width = Kernels.VectorWidth;
                int vectorsPerRow = cols / width;
                if (vectorsPerRow > 0)
                {
                    var vector = _vectorPasses[pass];
                    int arg = SetArgs(vector, pass, tensor, n);
                    vector.SetArg(arg, cols);
                    _queue.Launch(vector, RoundUp((long)rows * vectorsPerRow, _localSize), _localSize);
                }
                done = vectorsPerRow * width;
            }
            if (done < cols)
            {
                int arg = SetArgs(scalar, pass, tensor, n);
                scalar.SetArg(arg++, cols);
                scalar.SetArg(arg, done);
                long count = (long)rows * (cols - done);
                long local = Math.Min(_scalarLocalSize, RoundUp(count, 16));
                _queue.Launch(scalar, RoundUp(count, local), local);
            }
        }

        /// <summary>Sets the arguments every kernel of the pass takes, up to <c>n</c>; returns the index of the next one.</summary>
        private int SetArgs(ClKernel kernel, int pass, ClTensorState tensor, int n)
        {
            int arg = 0;
            foreach (var b in _plan.ElementBuffers) kernel.SetArg(arg++, tensor.Buffer(b));
            for (int k = 0; k < _reductions[pass].Length; k++) kernel.SetArg(arg++, tensor.ReductionOperand(k));
            if (_plan.Passes[pass].RowWise) kernel.SetArg(arg++, tensor.RowValues!);
            kernel.SetArg(arg++, tensor.UniformBuffer);
            kernel.SetArg(arg++, n);
            return arg;
        }

        private static long RoundUp(long count, long multiple) => (count + multiple - 1) / multiple * multiple;

        /// <summary>The canonical block reduction on the device, folded on the host in fixed order.</summary>
        internal static double ReduceOnDevice(ClQueue queue, ClKernel reduce, ClBuffer values, int n, bool max, ClBuffer partials, double[] host)
        {
            int blocks = checked((int)Reduction.BlockCount(n));
            if (blocks == 0) return Reduction.Identity(max);
            reduce.SetArg(0, values);
            reduce.SetArg(1, n);
            reduce.SetArg(2, max ? 1 : 0);
            reduce.SetArg(3, partials);
            queue.Launch(reduce, (blocks + 15) / 16 * 16, 16);
            var view = host.AsSpan(0, blocks);
            queue.Read<double>(partials, view);
            return Reduction.FoldBlocks(view, max);
        }

        /// <summary>
        /// The row-wise block reduction on the device: each row of <paramref name="cols"/> operands blocked on its own;
        /// returns the (row, block) partials, row-major, in <paramref name="host"/> (rows · BlockCount(cols) of them).
        /// </summary>
        internal static Span<double> RowPartialsOnDevice(ClQueue queue, ClKernel reduce, ClBuffer values, int n, int cols, bool max, ClBuffer partials, double[] host)
        {
            if (n == 0) return Span<double>.Empty;
            int count = checked((int)(n / cols * Reduction.BlockCount(cols)));
            reduce.SetArg(0, values);
            reduce.SetArg(1, n);
            reduce.SetArg(2, cols);
            reduce.SetArg(3, max ? 1 : 0);
            reduce.SetArg(4, partials);
            queue.Launch(reduce, RoundUp(count, 16), 16);
            var view = host.AsSpan(0, count);
            queue.Read<double>(partials, view);
            return view;
        }

        /// <summary>
        /// ColSum on the device: column j of a rows×cols operand summed in float64 over groups of
        /// <see cref="Reduction.RowGroupSize"/> rows, the groups folded pairwise; the float results are read into
        /// <paramref name="sums"/>. <paramref name="columnSums"/> is <c>fused_column_sums</c> (a column per work-item,
        /// <paramref name="columnsPerItem"/> 1) or <c>fused_column_sums16</c> (16).
        /// </summary>
        internal static void ColumnSumsOnDevice(ClQueue queue, ClKernel columnSums, int columnsPerItem, ClBuffer values, int rows, int cols, ClBuffer result, Span<float> sums)
        {
            if (cols == 0) return;
            columnSums.SetArg(0, values);
            columnSums.SetArg(1, rows);
            columnSums.SetArg(2, cols);
            columnSums.SetArg(3, checked((int)Reduction.RowGroupSize(rows)));
            columnSums.SetArg(4, result);
            long items = (cols + columnsPerItem - 1) / columnsPerItem;
            long local = Math.Min(Math.Min(16, columnSums.WorkGroupSize), items);
            queue.Launch(columnSums, RoundUp(items, local), local);
            queue.Read(result, sums.Slice(0, cols));
        }

        public void Dispose()
        {
            foreach (var k in _passes) k.Dispose();
            if (_vectorPasses != null) foreach (var k in _vectorPasses) k.Dispose();
            _reduce.Dispose();
            _rowWise?.Dispose();
            _newtonSchulz?.Dispose();
        }

        /// <summary>
        /// What a runner needs for row-wise passes: the <see cref="VectorValues"/> of the tensor being stepped, the
        /// support kernels of the row-wise reduction orders, which column values and per-row values each pass reads,
        /// and where RowSum and ColSum results go.
        /// </summary>
        private sealed class RowWiseParts : IDisposable
        {
            private readonly KernelPlan _plan;
            private readonly ClKernel _rowReduce;
            private readonly ClKernel _columnSums;
            private readonly int _columnsPerItem;
            private readonly IReadOnlyList<UniformSlot> _perRow;       // in row_values order
            private readonly int[][] _columnsRead;                      // per pass: column extras (buffer indices) it reads
            private readonly bool[][] _perRowRead;                      // per pass: which packed per-row values it reads
            private readonly int[][] _columnSumsStored;                 // per pass: ColSum operand extras (buffer indices) it writes
            private readonly int[][] _rowSumVectors;                    // per pass, per reduction: the RowSum's vector, or -1
            private readonly bool[] _columnUploaded;                    // per extra, this step
            private readonly bool[] _perRowUploaded;                    // per packed value, this step
            private float[] _rowValues = Array.Empty<float>();

            /// <param name="columnsPerItem">16: ColSum takes 16 columns per work-item (CPU devices, as the vector kernels); 1: one.</param>
            public RowWiseParts(KernelPlan plan, ClProgram support, int columnsPerItem)
            {
                _plan = plan;
                Vectors = new VectorValues(plan);
                _rowReduce = support.CreateKernel("fused_row_block_reduce");
                _columnSums = support.CreateKernel(columnsPerItem == 16 ? "fused_column_sums16" : "fused_column_sums");
                _columnsPerItem = columnsPerItem;
                _perRow = OpenClRuleEmitter.PerRowSlots(plan);
                var slots = UniformEvaluator.SlotMap(plan);
                _columnsRead = plan.Passes.Select(p => p.Inputs.Select(i => i.Buffer).Where(b => plan.ExtraOf(b)?.Kind == ExtraKind.Column).Distinct().ToArray()).ToArray();
                _perRowRead = plan.Passes.Select(p =>
                {
                    var read = PassSchedule.UniformInputs(p, slots).Select(u => slots[u]).ToHashSet();
                    return _perRow.Select(u => read.Contains(u.Slot)).ToArray();
                }).ToArray();
                _columnSumsStored = plan.Passes.Select(p => p.Stores.Select(s => s.Buffer).Where(b => plan.ExtraOf(b)?.Kind == ExtraKind.ColumnSumOperand).ToArray()).ToArray();
                _rowSumVectors = plan.Passes.Select(p => p.Reductions.Select(r => r.Op == Op.RowSum ? Vectors.IndexOf(r) : -1).ToArray()).ToArray();
                _columnUploaded = new bool[plan.Extras.Count];
                _perRowUploaded = new bool[_perRow.Count];
            }

            public VectorValues Vectors { get; }

            /// <summary>Sizes the vectors for the tensor and takes its row/column states at entry.</summary>
            public void Begin(ClTensorState tensor)
            {
                Vectors.Begin(tensor.Shape);
                foreach (var b in _plan.VectorBuffers) Vectors.LoadState(b, tensor.VectorState(b));
                Array.Clear(_columnUploaded);
                Array.Clear(_perRowUploaded);
            }

            /// <summary>Uploads the column values and per-row values pass <paramref name="pass"/> reads, unless already uploaded this step.</summary>
            public void Upload(int pass, int level, ClTensorState tensor, ClQueue queue)
            {
                int programBuffers = _plan.Program.Buffers.Count;
                foreach (int b in _columnsRead[pass])
                {
                    if (_columnUploaded[b - programBuffers]) continue;
                    queue.Write<float>(tensor.Buffer(b), Vectors.Values(Vectors.IndexOf(_plan.ExtraOf(b)!.Node)));
                    _columnUploaded[b - programBuffers] = true;
                }
                var read = _perRowRead[pass];
                bool needed = false;
                for (int k = 0; k < read.Length; k++) needed |= read[k] && !_perRowUploaded[k];
                if (!needed) return;
                // Every per-row value computed by now goes up together: row r's values are row_values[r * R, r * R + R).
                int rows = checked((int)tensor.Shape.Rows), R = _perRow.Count;
                if (_rowValues.Length < rows * R) _rowValues = new float[rows * R]; // once per larger tensor
                for (int k = 0; k < R; k++)
                {
                    if (_perRow[k].Level > level) continue;
                    var values = Vectors.Values(Vectors.IndexOf(_perRow[k].Node));
                    for (int r = 0; r < rows; r++) _rowValues[r * R + k] = values[r];
                    _perRowUploaded[k] = true;
                }
                queue.Write<float>(tensor.RowValues!, _rowValues.AsSpan(0, rows * R));
            }

            /// <summary>
            /// Reduces what pass <paramref name="pass"/> left in its operand buffers: whole-tensor reductions and RowSum from
            /// the (row, block) partials, ColSum per column; results into <paramref name="uniforms"/> and <see cref="Vectors"/>.
            /// </summary>
            public void Reduce(int pass, ClTensorState tensor, ClQueue queue, (int slot, bool max)[] reductions, double[] uniforms)
            {
                var shape = tensor.Shape;
                int n = checked((int)shape.Numel), rows = checked((int)shape.Rows), cols = checked((int)shape.Cols);
                int blocksPerRow = checked((int)Reduction.BlockCount(cols));
                for (int k = 0; k < reductions.Length; k++)
                {
                    var partials = RowPartialsOnDevice(queue, _rowReduce, tensor.ReductionOperand(k), n, cols, reductions[k].max, tensor.Partials, tensor.HostPartials);
                    int vector = _rowSumVectors[pass][k];
                    if (vector < 0)
                    {
                        uniforms[reductions[k].slot] = Reduction.FoldBlocks(partials, reductions[k].max);
                        continue;
                    }
                    var sums = Vectors.Values(vector);
                    for (int r = 0; r < rows; r++) sums[r] = (float)Reduction.FoldBlocks(partials.Slice(r * blocksPerRow, blocksPerRow), max: false);
                }
                foreach (int b in _columnSumsStored[pass])
                    ColumnSumsOnDevice(queue, _columnSums, _columnsPerItem, tensor.Buffer(b), rows, cols, tensor.ColumnSums!, Vectors.Values(Vectors.IndexOf(_plan.ExtraOf(b)!.Node)));
            }

            /// <summary>A row-wise pass over an empty tensor: every RowSum and ColSum is 0.</summary>
            public void EmptyPass(int pass)
            {
                foreach (int v in _rowSumVectors[pass]) if (v >= 0) Vectors.Values(v).Clear();
                foreach (int b in _columnSumsStored[pass]) Vectors.Values(Vectors.IndexOf(_plan.ExtraOf(b)!.Node)).Clear();
            }

            /// <summary>Writes the row/column states' new values (after the last level).</summary>
            public void End(ClTensorState tensor, double[] uniforms)
            {
                foreach (var b in _plan.VectorBuffers) Vectors.StoreState(b, uniforms, tensor.VectorState(b));
            }

            public void Dispose()
            {
                _rowReduce.Dispose();
                _columnSums.Dispose();
            }
        }
    }

    /// <summary>
    /// One tensor's buffers for a <see cref="ClRuleRunner"/>: on the device, the tensor-sized buffers (parameter,
    /// gradient, element states, temporaries, reduction and ColSum operands) and the small ones of row-wise passes
    /// (column values, per-row values, column sums); on the host, scalar states and row/column states (every use
    /// of those is on the host, in <see cref="VectorValues"/>).
    /// </summary>
    public sealed class ClTensorState : IDisposable
    {
        private readonly KernelPlan _plan;
        private readonly ClQueue _queue;
        private readonly ClBuffer?[] _buffers;
        private readonly ClBuffer[] _reductionOperands;
        private readonly float[]?[] _vectorStates;

        internal ClTensorState(ClRuleRunner runner, KernelPlan plan, ClQueue queue, ShapeInfo shape)
        {
            Runner = runner;
            _plan = plan;
            _queue = queue;
            Shape = shape;
            long n = Math.Max(1, shape.Numel);
            long cols = Math.Max(1, shape.Cols);
            var context = queue.Context;
            _buffers = new ClBuffer?[plan.BufferCount];
            foreach (var b in plan.ElementBuffers)
            {
                // Column values hold one float per column; every other element buffer one per element.
                long length = plan.ExtraOf(b)?.Kind == ExtraKind.Column ? cols : n;
                _buffers[b] = context.CreateBuffer<float>(length);
                queue.Fill(_buffers[b]!, 0f, 0, length);
            }
            int maxReductions = plan.Passes.Count == 0 ? 0 : plan.Passes.Max(p => p.Reductions.Count);
            _reductionOperands = Enumerable.Range(0, maxReductions).Select(_ => context.CreateBuffer<float>(n)).ToArray();
            // Row-wise passes block each row on its own: up to Rows · BlockCount(Cols) partials.
            long partials = Math.Max(1, Reduction.BlockCount(n));
            if (plan.Passes.Any(p => p.RowWise)) partials = Math.Max(partials, shape.Rows * Reduction.BlockCount(shape.Cols));
            Partials = context.CreateBuffer<double>(partials);
            HostPartials = new double[partials];
            UniformBuffer = context.CreateBuffer<float>(Math.Max(1, plan.Uniforms.Count), ClMemoryAccess.ReadOnly);
            Scalars = new float[plan.ScalarBuffers.Count];
            _vectorStates = new float[]?[plan.Program.Buffers.Count];
            foreach (var b in plan.VectorBuffers)
                _vectorStates[b] = new float[shape.LengthOf(plan.Program.Buffers[b].Shape)];
            if (plan.Passes.Any(p => p.RowWise))
            {
                int perRow = OpenClRuleEmitter.PerRowSlots(plan).Count;
                RowValues = context.CreateBuffer<float>(Math.Max(1, shape.Rows * perRow), ClMemoryAccess.ReadOnly);
                ColumnSums = context.CreateBuffer<float>(cols);
            }
        }

        internal ClRuleRunner Runner { get; }
        public ShapeInfo Shape { get; }

        /// <summary>Scalar states (one value per tensor), kept on the host.</summary>
        public float[] Scalars { get; }

        internal ClBuffer UniformBuffer { get; }
        internal ClBuffer Partials { get; }

        /// <summary>Host copy of the per-block partials, reused every step.</summary>
        internal double[] HostPartials { get; }

        /// <summary>Per-row values of row-wise passes, row by row (null without row-wise passes).</summary>
        internal ClBuffer? RowValues { get; }

        /// <summary>Where ColSum results land before they are read back (Cols floats; null without row-wise passes).</summary>
        internal ClBuffer? ColumnSums { get; }

        internal ClBuffer ReductionOperand(int k) => _reductionOperands[k];
        internal ClBuffer Buffer(int b) => _buffers[b] ?? throw new InvalidOperationException($"buffer {_plan.BufferName(b)} is not an element buffer");

        /// <summary>A row or column state's values (Rows or Cols floats), kept on the host.</summary>
        internal float[] VectorState(int b) => _vectorStates[b] ?? throw new InvalidOperationException($"buffer {_plan.BufferName(b)} is not a row or column state");

        private int IndexOf(string name)
        {
            for (int b = 0; b < _plan.Program.Buffers.Count; b++)
                if (_plan.Program.Buffers[b].Name == name) return b;
            throw new ArgumentException($"{_plan.Program.Name} has no buffer '{name}' (it has {string.Join(", ", _plan.Program.Buffers.Select(x => x.Name))})", nameof(name));
        }

        /// <summary>How many floats buffer <paramref name="b"/> holds, and what they are called in messages.</summary>
        private (long Length, string Unit) LengthOf(int b) => _plan.Program.Buffers[b].Shape switch
        {
            StateShape.Row => (Shape.Rows, "rows"),
            StateShape.Column => (Shape.Cols, "columns"),
            _ => (Shape.Numel, "elements"),
        };

        /// <summary>
        /// Copies host data into a buffer (the parameter, the gradient or a state, by name): Numel floats for element
        /// buffers, Rows for a row state, Cols for a column state, one for a scalar state.
        /// </summary>
        public void Upload(string buffer, ReadOnlySpan<float> data)
        {
            int b = IndexOf(buffer);
            if (_plan.Program.Buffers[b].Shape == StateShape.Scalar) { data.CopyTo(Scalars.AsSpan(_plan.ScalarBuffers.AsImmutableArray().IndexOf(b), 1)); return; }
            var (length, unit) = LengthOf(b);
            if (data.Length != length) throw new ArgumentException($"'{buffer}' holds {length} {unit}, got {data.Length}", nameof(data));
            if (_vectorStates[b] is { } host) { data.CopyTo(host); return; }
            if (data.Length > 0) _queue.Write(Buffer(b), data);
        }

        /// <summary>Copies a buffer back to the host (lengths as for <see cref="Upload"/>).</summary>
        public void Download(string buffer, Span<float> data)
        {
            int b = IndexOf(buffer);
            if (_plan.Program.Buffers[b].Shape == StateShape.Scalar) { Scalars.AsSpan(_plan.ScalarBuffers.AsImmutableArray().IndexOf(b), 1).CopyTo(data); return; }
            var (length, unit) = LengthOf(b);
            if (data.Length != length) throw new ArgumentException($"'{buffer}' holds {length} {unit}, got {data.Length}", nameof(data));
            if (_vectorStates[b] is { } host) { host.CopyTo(data); return; }
            if (data.Length > 0) _queue.Read(Buffer(b), data);
        }

        public void Dispose()
        {
            foreach (var b in _buffers) b?.Dispose();
            foreach (var b in _reductionOperands) b.Dispose();
            Partials.Dispose();
            UniformBuffer.Dispose();
            RowValues?.Dispose();
            ColumnSums?.Dispose();
        }
    }
}
