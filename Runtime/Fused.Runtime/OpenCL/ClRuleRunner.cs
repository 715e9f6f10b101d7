using System;
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
    /// </summary>
    public sealed class ClRuleRunner : IDisposable
    {
        private readonly FusedRule _rule;
        private readonly KernelPlan _plan;
        private readonly ClQueue _queue;
        private readonly ClKernel[] _passes;
        private readonly ClKernel[]? _vectorPasses;
        private readonly long _localSize;
        private readonly ClKernel _reduce;
        private readonly ClNewtonSchulz? _newtonSchulz;
        private readonly double[] _uniforms;
        private readonly float[] _uniformsF;
        private readonly (int slot, bool max)[][] _reductions;

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
            if (_plan.HasVectors)
                throw new NotSupportedException($"{rule.Name}: per-row and per-column values (RowMean, ColMean, row/column state) have no OpenCL implementation yet; run this rule on the CPU executor");
            Kernels = ClKernelChoice.Resolve(queue.Device, kernels, vectorWidth);
            // Both kernels of every pass are in the program; the build options only fix the vector width.
            var built = queue.Context.Programs.GetOrBuild(OpenClRuleEmitter.Emit(_plan),
                OpenClRuleEmitter.BuildOptionsFor(Kernels.IsVector ? Kernels.VectorWidth : DefaultVectorWidth));
            ProgramOrigin = built.Origin;
            _passes = _plan.Passes.Select(p => built.Program.CreateKernel(OpenClRuleEmitter.KernelName(p.Index))).ToArray();
            if (Kernels.IsVector) _vectorPasses = _plan.Passes.Select(p => built.Program.CreateKernel(OpenClRuleEmitter.VectorKernelName(p.Index))).ToArray();
            var main = _vectorPasses ?? _passes;
            _localSize = main.Length == 0 ? 1 : main.Min(ClElementwise.ChooseLocalSize);
            _reduce = queue.Context.Programs.Get(ClSupportKernels.Source).CreateKernel("fused_block_reduce");
            if (_plan.MatrixStages.Count > 0) _newtonSchulz = new ClNewtonSchulz(queue, matrix);
            _uniforms = new double[_plan.Uniforms.Count];
            _uniformsF = new float[_plan.Uniforms.Count];
            var slots = UniformEvaluator.SlotMap(_plan);
            _reductions = _plan.Passes.Select(p => p.Reductions.Select(r => (slots[r], r.Op == Op.ReduceMax)).ToArray()).ToArray();
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
        public ClTensorState Allocate(ShapeInfo shape) => new ClTensorState(this, _plan, _queue, shape);

        /// <summary>One step on the device.</summary>
        public void Step(ReadOnlySpan<float> hypers, long step, ClTensorState tensor)
        {
            if (hypers.Length != _plan.Program.Hypers.Count)
                throw new ArgumentException($"{_rule.Name} takes {_plan.Program.Hypers.Count} hyperparameters, got {hypers.Length}", nameof(hypers));
            if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "steps count from 1");
            if (tensor.Runner != this) throw new ArgumentException("the tensor state was allocated by another runner", nameof(tensor));
            var shape = tensor.Shape;
            int n = checked((int)shape.Numel);
            for (int level = 0; level < _plan.LevelCount; level++)
            {
                foreach (var m in _plan.MatrixStages)
                    if (m.Level == level) _newtonSchulz!.Orthogonalize(tensor.Buffer(m.SourceBuffer), checked((int)shape.Rows), checked((int)shape.Cols));
                _rule.ComputeUniforms(level, hypers, step, shape, tensor.Scalars, _uniforms);
                int pass = -1;
                for (int i = 0; i < _plan.Passes.Count; i++) if (_plan.Passes[i].Level == level) pass = i;
                if (pass < 0 || n == 0) continue;
                for (int i = 0; i < _uniforms.Length; i++) _uniformsF[i] = (float)_uniforms[i];
                _queue.Write<float>(tensor.UniformBuffer, _uniformsF);
                var reductions = _reductions[pass];
                LaunchPass(pass, tensor, n);
                for (int k = 0; k < reductions.Length; k++)
                    _uniforms[reductions[k].slot] = ReduceOnDevice(_queue, _reduce, tensor.ReductionOperand(k), n, reductions[k].max, tensor.Partials, tensor.HostPartials);
            }
            _rule.StoreScalars(_uniforms, tensor.Scalars);
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

        private void SetArgs(ClKernel kernel, int pass, ClTensorState tensor, int n)
        {
            int arg = 0;
            foreach (var b in _plan.ElementBuffers) kernel.SetArg(arg++, tensor.Buffer(b));
            for (int k = 0; k < _reductions[pass].Length; k++) kernel.SetArg(arg++, tensor.ReductionOperand(k));
            kernel.SetArg(arg++, tensor.UniformBuffer);
            kernel.SetArg(arg, n);
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
            _newtonSchulz?.Dispose();
        }
    }

    /// <summary>One tensor's buffers on the device for a <see cref="ClRuleRunner"/>.</summary>
    public sealed class ClTensorState : IDisposable
    {
        private readonly KernelPlan _plan;
        private readonly ClQueue _queue;
        private readonly ClBuffer?[] _buffers;
        private readonly ClBuffer[] _reductionOperands;

        internal ClTensorState(ClRuleRunner runner, KernelPlan plan, ClQueue queue, ShapeInfo shape)
        {
            Runner = runner;
            _plan = plan;
            _queue = queue;
            Shape = shape;
            long n = Math.Max(1, shape.Numel);
            var context = queue.Context;
            _buffers = new ClBuffer?[plan.BufferCount];
            foreach (var b in plan.ElementBuffers)
            {
                _buffers[b] = context.CreateBuffer<float>(n);
                queue.Fill(_buffers[b]!, 0f, 0, n);
            }
            int maxReductions = plan.Passes.Count == 0 ? 0 : plan.Passes.Max(p => p.Reductions.Count);
            _reductionOperands = Enumerable.Range(0, maxReductions).Select(_ => context.CreateBuffer<float>(n)).ToArray();
            Partials = context.CreateBuffer<double>(Math.Max(1, Reduction.BlockCount(n)));
            HostPartials = new double[Math.Max(1, Reduction.BlockCount(n))];
            UniformBuffer = context.CreateBuffer<float>(Math.Max(1, plan.Uniforms.Count), ClMemoryAccess.ReadOnly);
            Scalars = new float[plan.ScalarBuffers.Count];
        }

        internal ClRuleRunner Runner { get; }
        public ShapeInfo Shape { get; }

        /// <summary>Scalar states (one value per tensor), kept on the host.</summary>
        public float[] Scalars { get; }

        internal ClBuffer UniformBuffer { get; }
        internal ClBuffer Partials { get; }

        /// <summary>Host copy of the per-block partials, reused every step.</summary>
        internal double[] HostPartials { get; }
        internal ClBuffer ReductionOperand(int k) => _reductionOperands[k];
        internal ClBuffer Buffer(int b) => _buffers[b] ?? throw new InvalidOperationException($"buffer {_plan.BufferName(b)} is not an element buffer");

        private int IndexOf(string name)
        {
            for (int b = 0; b < _plan.Program.Buffers.Count; b++)
                if (_plan.Program.Buffers[b].Name == name) return b;
            throw new ArgumentException($"{_plan.Program.Name} has no buffer '{name}' (it has {string.Join(", ", _plan.Program.Buffers.Select(x => x.Name))})", nameof(name));
        }

        /// <summary>Copies host data into a buffer (the parameter, the gradient or a state, by name).</summary>
        public void Upload(string buffer, ReadOnlySpan<float> data)
        {
            int b = IndexOf(buffer);
            if (_plan.Program.Buffers[b].Shape == StateShape.Scalar) { data.CopyTo(Scalars.AsSpan(_plan.ScalarBuffers.AsImmutableArray().IndexOf(b), 1)); return; }
            if (data.Length != Shape.Numel) throw new ArgumentException($"'{buffer}' holds {Shape.Numel} elements, got {data.Length}", nameof(data));
            if (data.Length > 0) _queue.Write(Buffer(b), data);
        }

        /// <summary>Copies a buffer back to the host.</summary>
        public void Download(string buffer, Span<float> data)
        {
            int b = IndexOf(buffer);
            if (_plan.Program.Buffers[b].Shape == StateShape.Scalar) { Scalars.AsSpan(_plan.ScalarBuffers.AsImmutableArray().IndexOf(b), 1).CopyTo(data); return; }
            if (data.Length != Shape.Numel) throw new ArgumentException($"'{buffer}' holds {Shape.Numel} elements, got {data.Length}", nameof(data));
            if (data.Length > 0) _queue.Read(Buffer(b), data);
        }

        public void Dispose()
        {
            foreach (var b in _buffers) b?.Dispose();
            foreach (var b in _reductionOperands) b.Dispose();
            Partials.Dispose();
            UniformBuffer.Dispose();
        }
    }
}
