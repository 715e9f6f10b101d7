using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using Fused.Ir;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Precision;

namespace Fused.Runtime.Engine
{
    /// <summary>
    /// An optimizer over named parameters: groups routed to fused rules, per-group hyperparameters and schedules,
    /// global-norm clipping, skip-on-non-finite, gradient accumulation, float32/bfloat16/8-bit state, checkpoints.
    /// Build one with <see cref="OptimizerBuilder"/>. Steady-state <see cref="Step"/> and
    /// <see cref="AccumulateGradients"/> calls allocate nothing.
    /// </summary>
    /// <remarks>
    /// <para>Parameters and gradients are the caller's memory, pinned from <see cref="OptimizerBuilder.Build"/>
    /// until <see cref="Dispose"/>. The caller's parameter buffers are the float32 master weights.</para>
    /// <para>Gradient accumulation: <see cref="AccumulateGradients"/> adds the caller's current gradients into
    /// internal float32 buffers (allocated on first use, 4 B/parameter) and counts micro-batches; the next
    /// <see cref="Step"/> uses their mean (sum / count, float32) instead of the caller's gradients. A step with
    /// nothing accumulated uses the caller's gradients directly.</para>
    /// <para>Clipping scales the gradients the step uses in place: the caller's buffers (as torch's
    /// clip_grad_norm_ does) or the accumulation buffers.</para>
    /// <para>Not thread-safe: one call at a time.</para>
    /// </remarks>
    public sealed unsafe partial class FusedOptimizer : IDisposable
    {
        /// <summary>Values per absmax scale of 8-bit state.</summary>
        public const int Int8BlockSize = 256;

        /// <summary>Layout version written to and required from checkpoints.</summary>
        public const int CheckpointSchemaVersion = 1;

        private const int GlobalUnitElements = ParameterGroup.UnitElements;

        private readonly ParameterInfo[] _parameters;
        private readonly Memory<float>[] _parameterMemory;
        private readonly Memory<float>[] _gradientMemory;
        private readonly bool[] _gradientIsBFloat16;         // per parameter: the caller's gradient holds bfloat16 bits
        private readonly nint[] _copyPointers;               // per parameter: its bfloat16 copy, or 0
        private readonly MemoryHandle[] _handles;
        private readonly nint[] _parameterPointers;
        private readonly nint[] _gradientPointers;
        private readonly nint[] _effectiveGradients;
        private readonly ParameterGroup[] _groups;
        private readonly int[] _groupOfParameter;
        private readonly int[] _stepOrder;          // groups whose step can fail after writing first, then the rest
        private readonly Dictionary<string, int> _indexByName;
        private readonly WorkerPool _pool;
        private readonly bool _ownsPool;
        private readonly double _clipNorm;
        private readonly bool _skipNonFinite;
        private readonly GradientSquaresTotal? _squaresTotal;

        // Gradient passes over every parameter: units of GlobalUnitElements, one partial per reduction block.
        private readonly int[] _unitParameter;
        private readonly long[] _unitStart;
        private readonly int[] _unitCount;
        private readonly long[] _unitBlock;
        private readonly long[] _firstBlock;
        private readonly int[] _blocks;
        private readonly double[] _normPartials;
        private readonly double[] _fold;
        private readonly long _totalElements;

        private float[][]? _accumulators;
        private nint[]? _accumulatorPointers;
        private int _accumulated;
        private bool _disposed;
        private readonly OpenCL.ClContext? _clContext;
        private readonly OpenCL.ClQueue? _clQueue, _ownedClQueue;

        /// <summary>Where the groups step: "CPU", "OpenCL: " and the device's name, or the name given to <see cref="OptimizerBuilder.UseDevice"/>.</summary>
        public string Backend { get; } = "CPU";

        /// <summary>
        /// Engines on a device: copies every parameter from the device into its host memory (with
        /// <see cref="ParameterDownload.OnRequest"/>, the host copies are stale between calls). Nothing on the CPU.
        /// </summary>
        public void DownloadParameters()
        {
            ThrowIfDisposed();
            foreach (var g in _groups) g.DownloadParameters();
        }

        /// <summary>
        /// Engines on a device: time and bytes spent so far moving matrix passes to the host and back (Shampoo's inverse
        /// roots run on the host: download, eigendecomposition, upload). Zero on the CPU, where nothing moves.
        /// </summary>
        public (double Seconds, long Bytes) HostMatrixCost
        {
            get
            {
                double seconds = 0;
                long bytes = 0;
                foreach (var g in _groups) { seconds += g.HostMatrixCost.Seconds; bytes += g.HostMatrixCost.Bytes; }
                return (seconds, bytes);
            }
        }

        /// <summary>Engines on a device: copies every parameter from its host memory to the device (after the caller changed it). Nothing on the CPU.</summary>
        public void UploadParameters()
        {
            ThrowIfDisposed();
            foreach (var g in _groups) g.UploadParameters();
        }

        internal FusedOptimizer(
            List<OptimizerBuilder.Registration> parameters, List<OptimizerBuilder.RouteSpec> routes, List<OptimizerBuilder.Registration>[] members,
            double clipNorm, bool skipNonFinite, ulong seed, WorkerPool? pool, int threads, int scratchElements = ParameterGroup.DefaultScratchElements,
            long waveElements = ParameterGroup.DefaultWaveElements, OptimizerBuilder.DeviceChoice? device = null,
            StepJournal journal = StepJournal.FallibleGroups, Func<string, Fused.Execution.IScheduleBackend, Fused.Execution.IScheduleBackend>? wrapBackend = null,
            GradientSquaresTotal? squaresTotal = null, Func<string, IReadOnlyList<ParameterInfo>, Fused.Execution.IReductionExchange?>? reductionExchange = null,
            bool holdSteps = false)
        {
            _holdSteps = holdSteps;
            _squaresTotal = squaresTotal;
            int P = parameters.Count;
            _parameters = parameters.Select(p => p.Info).ToArray();
            _parameterMemory = parameters.Select(p => p.Parameter).ToArray();
            _gradientMemory = parameters.Select(p => p.Gradient).ToArray();
            _indexByName = _parameters.ToDictionary(p => p.Name, p => p.Index, StringComparer.Ordinal);
            _handles = new MemoryHandle[3 * P];
            _parameterPointers = new nint[P];
            _gradientPointers = new nint[P];
            _effectiveGradients = new nint[P];
            _gradientIsBFloat16 = parameters.Select(p => p.GradientIsBFloat16).ToArray();
            _copyPointers = new nint[P];
            var inputs = parameters.Select(p => p.Inputs).ToArray();
            for (int p = 0; p < P; p++)
            {
                _handles[3 * p] = _parameterMemory[p].Pin();
                _handles[3 * p + 1] = _gradientIsBFloat16[p] ? parameters[p].BFloat16Gradient.Pin() : _gradientMemory[p].Pin();
                if (parameters[p].WritesCopy) _handles[3 * p + 2] = parameters[p].BFloat16Copy.Pin();
                _parameterPointers[p] = (nint)_handles[3 * p].Pointer;
                _gradientPointers[p] = (nint)_handles[3 * p + 1].Pointer;
                _copyPointers[p] = (nint)_handles[3 * p + 2].Pointer;
            }
            _clipNorm = clipNorm;
            _skipNonFinite = skipNonFinite;
            Seed = seed;
            _ownsPool = pool is null;
            _pool = pool ?? new WorkerPool(threads);
            if (device?.Factory != null) Backend = device.Name!;
            else if (device != null)
            {
                if (device.Queue != null) _clQueue = device.Queue;
                else
                {
                    _clContext = OpenCL.ClContext.Create(device.Device!);
                    _clQueue = _ownedClQueue = _clContext.CreateQueue();
                }
                Backend = "OpenCL: " + _clQueue.Context.Device.Name;
            }
            var deviceGroup = device?.Factory != null ? new ParameterGroup.Device(null, device.Factory, device.Download)
                : _clQueue == null ? null : new ParameterGroup.Device(_clQueue, null, device!.Download);

            _groups = new ParameterGroup[routes.Count];
            _groupOfParameter = new int[P];
            for (int g = 0; g < routes.Count; g++)
            {
                string groupName = routes[g].Name;
                var infos = members[g].Select(m => m.Info).ToArray();
                _groups[g] = new ParameterGroup(routes[g].Name, routes[g].Rule, routes[g].Options,
                    infos, _parameterPointers, _gradientPointers, _pool, scratchElements, waveElements, deviceGroup,
                    journal == StepJournal.AllGroups, wrapBackend == null ? null : (Func<Fused.Execution.IScheduleBackend, Fused.Execution.IScheduleBackend>)(b => wrapBackend(groupName, b)),
                    reductionExchange?.Invoke(groupName, infos), inputs, _copyPointers);
                foreach (var m in members[g]) _groupOfParameter[m.Info.Index] = g;
            }

            _stepOrder = Enumerable.Range(0, _groups.Length).OrderBy(g => _groups[g].Journaled ? 0 : 1).ToArray();

            var unitParameter = new List<int>();
            var unitStart = new List<long>();
            var unitCount = new List<int>();
            var unitBlock = new List<long>();
            _firstBlock = new long[P];
            _blocks = new int[P];
            long blocks = 0;
            int maxBlocks = 1;
            for (int p = 0; p < P; p++)
            {
                long n = _parameters[p].Numel;
                _totalElements += n;
                _firstBlock[p] = blocks;
                _blocks[p] = (int)Reduction.BlockCount(n);
                maxBlocks = Math.Max(maxBlocks, _blocks[p]);
                for (long s = 0; s < n; s += GlobalUnitElements)
                {
                    unitParameter.Add(p);
                    unitStart.Add(s);
                    unitCount.Add((int)Math.Min(GlobalUnitElements, n - s));
                    unitBlock.Add(blocks + s / Reduction.BlockSize);
                }
                blocks += _blocks[p];
            }
            _unitParameter = unitParameter.ToArray();
            _unitStart = unitStart.ToArray();
            _unitCount = unitCount.ToArray();
            _unitBlock = unitBlock.ToArray();
            _normPartials = GC.AllocateArray<double>((int)blocks, pinned: true);
            _fold = new double[maxBlocks];
        }

        /// <summary>Applied steps so far (the next update uses step <see cref="StepCount"/> + 1).</summary>
        public long StepCount { get; private set; }

        /// <summary>Steps skipped because a gradient was not finite.</summary>
        public long SkippedSteps { get; private set; }

        /// <summary>Seed of the bfloat16 stochastic-rounding streams.</summary>
        public ulong Seed { get; private set; }

        /// <summary>Micro-batches accumulated since the last step.</summary>
        public int AccumulatedMicroBatches => _accumulated;

        /// <summary>The pool the optimizer runs on.</summary>
        public WorkerPool Pool => _pool;

        /// <summary>Registered parameters in registration order.</summary>
        public IReadOnlyList<ParameterInfo> Parameters => _parameters;

        /// <summary>Group names in route order.</summary>
        public IReadOnlyList<string> GroupNames => _groups.Select(g => g.Name).ToArray();

        /// <summary>The rule of group <paramref name="group"/>.</summary>
        public FusedRule RuleOf(string group) => Group(group).Rule;

        /// <summary>The group a parameter was routed to.</summary>
        public string GroupOf(string parameter) => _groups[_groupOfParameter[IndexOf(parameter)]].Name;

        /// <summary>State precision of a group.</summary>
        public StatePrecision PrecisionOf(string group) => Group(group).Precision;

        /// <summary>Value of a group's hyperparameter at step <paramref name="step"/> (schedules applied).</summary>
        public float HyperparameterAt(string group, string name, long step)
        {
            var g = Group(group);
            int i = g.Rule.Hyperparameters.ToList().FindIndex(h => h.Name == name);
            if (i < 0) throw new OptimizerConfigurationException($"{g.Rule.Name} has no hyperparameter '{name}'; its hyperparameters are: {GroupOptions.Describe(g.Rule)}");
            var saved = (float[])g.Hypers.Clone();
            g.UpdateHypers(step);
            float value = g.Hypers[i];
            saved.CopyTo(g.Hypers, 0);
            return value;
        }

        /// <summary>Names of the rule's state buffers for a parameter (element states, then row/column states, then scalar states).</summary>
        public IReadOnlyList<string> StateNames(string parameter)
        {
            var g = _groups[_groupOfParameter[IndexOf(parameter)]];
            return g.ElementStateNames.Concat(g.VectorStateNames).Concat(g.ScalarStateNames).ToArray();
        }

        /// <summary>Copies a state of a parameter, widened to float32, into <paramref name="destination"/>
        /// (numel elements for element states, rows or cols for row/column states, 1 for scalar states).</summary>
        public void ReadState(string parameter, string state, Span<float> destination)
        {
            int p = IndexOf(parameter);
            var g = _groups[_groupOfParameter[p]];
            int t = g.LocalIndexOf(p);
            var elementNames = g.ElementStateNames.ToList();
            int k = elementNames.IndexOf(state);
            if (k >= 0)
            {
                if (destination.Length < _parameters[p].Numel) throw new ArgumentException($"destination holds {destination.Length} elements, '{parameter}' has {_parameters[p].Numel}");
                g.ReadState(t, k, destination);
                return;
            }
            int v = g.VectorStateNames.ToList().IndexOf(state);
            if (v >= 0)
            {
                var values = g.VectorState(t, v);
                if (destination.Length < values.Length) throw new ArgumentException($"destination holds {destination.Length} elements, state '{state}' of '{parameter}' has {values.Length}");
                values.CopyTo(destination);
                return;
            }
            int j = g.ScalarStateNames.ToList().IndexOf(state);
            if (j < 0) throw new ArgumentException($"{g.Rule.Name} has no state '{state}'; states: {string.Join(", ", StateNames(parameter))}", nameof(state));
            destination[0] = g.Scalars(t)[j];
        }

        /// <summary>The float32 buffer of an element state (the engine's own memory, not a copy); for benchmarks.</summary>
        internal Memory<float> Float32StateBuffer(string parameter, string state)
        {
            int p = IndexOf(parameter);
            var g = _groups[_groupOfParameter[p]];
            if (g.Precision != StatePrecision.Float32) throw new InvalidOperationException($"'{parameter}' has {g.Precision} state");
            int k = g.ElementStateNames.ToList().IndexOf(state);
            if (k < 0) throw new ArgumentException($"{g.Rule.Name} has no element state '{state}'", nameof(state));
            return g.Float32State(g.LocalIndexOf(p), k);
        }

        /// <summary>
        /// Adds the caller's current gradients into the accumulation buffers (see remarks on <see cref="FusedOptimizer"/>).
        /// The first call allocates the buffers.
        /// </summary>
        /// <exception cref="InvalidOperationException">A parameter was registered with a bfloat16 gradient (not accumulated).</exception>
        public void AccumulateGradients()
        {
            ThrowIfDisposed();
            int bf16 = Array.IndexOf(_gradientIsBFloat16, true);
            if (bf16 >= 0)
                throw new InvalidOperationException($"AccumulateGradients: parameter '{_parameters[bf16].Name}' has a bfloat16 gradient, which is not accumulated; accumulate in your training loop or pass float32 gradients");
            if (_accumulators == null)
            {
                _accumulators = _parameters.Select(p => GC.AllocateArray<float>((int)p.Numel, pinned: true)).ToArray();
                _accumulatorPointers = new nint[_parameters.Length];
                for (int p = 0; p < _parameters.Length; p++)
                    fixed (float* a = _accumulators[p]) _accumulatorPointers[p] = (nint)a;
            }
            RunGradientPass(_accumulated == 0 ? GradientOp.Copy : GradientOp.Add, _gradientPointers, 1f);
            _accumulated++;
        }

        /// <summary>
        /// One optimizer step over every parameter: gradient mean (if accumulated), global norm, non-finite check,
        /// clipping, then each group's rule with its scheduled hyperparameters.
        /// </summary>
        /// <remarks>
        /// A step is all or nothing. Groups whose schedule has matrix stages (Newton–Schulz, Shampoo: they refuse
        /// NaN/∞, which finite gradients can still produce, e.g. 3e38 summed with momentum) step first, each after
        /// journaling what it may write; element passes cannot fail on values (with <see cref="StepJournal.AllGroups"/>
        /// every group journals, for failures that do not come from values). If any group fails, every journaled group
        /// is restored bit for bit, <see cref="StepCount"/> does not advance and an <see cref="OptimizerStepException"/>
        /// names the group and the parameter. The gradients the step used stay as the gradient passes left them
        /// (clipped in place; accumulated gradients averaged, counted as one micro-batch, so a retry uses the same mean).
        /// </remarks>
        /// <exception cref="OptimizerStepException">A group's step failed; nothing was applied.</exception>
        public StepResult Step()
        {
            ThrowIfDisposed();
            CommitHeldStep();
            nint[] gradients = _gradientPointers;
            if (_accumulated > 0)
            {
                gradients = _accumulatorPointers!;
                if (_accumulated > 1)
                {
                    RunGradientPass(GradientOp.Divide, gradients, _accumulated);
                    _accumulated = 1; // the buffers now hold the mean: a failed step's retry must not divide again
                }
            }

            double norm = double.NaN;
            float scale = 1f;
            if (_skipNonFinite || double.IsFinite(_clipNorm))
            {
                RunGradientPass(GradientOp.SumSquares, gradients, 0f);
                double total = _squaresTotal?.Invoke(_normPartials) ?? FoldSquares();
                norm = Math.Sqrt(total);
                if (_skipNonFinite && !double.IsFinite(total))
                {
                    SkippedSteps++;
                    _accumulated = 0;
                    return new StepResult(StepStatus.SkippedNonFiniteGradient, StepCount, norm, 1f);
                }
                if (norm > _clipNorm)
                {
                    scale = (float)(_clipNorm / (norm + 1e-6));
                    RunGradientPass(GradientOp.Scale, gradients, scale);
                }
            }

            long step = StepCount + 1;
            foreach (var g in _groups) g.PrepareHypers(step); // a schedule's non-finite value stops the step before any write
            int started = 0;
            try
            {
                for (; started < _stepOrder.Length; started++)
                {
                    var group = _groups[_stepOrder[started]];
                    group.SetGradientPointers(gradients);
                    if (group.Journaled) group.BeginJournal();
                    group.Step(step, Seed);
                }
            }
            catch
            {
                // All or nothing: fallible groups step first and journal, so this restores everything written.
                for (int i = 0; i <= started && i < _stepOrder.Length; i++) _groups[_stepOrder[i]].RollbackJournal();
                RewriteCopies();
                throw;
            }
            if (_holdSteps) _held = true;
            else foreach (int g in _stepOrder) _groups[g].CommitJournal();
            StepCount = step;
            _accumulated = 0;
            return new StepResult(StepStatus.Applied, step, norm, scale);
        }

        /// <summary>
        /// A sharded optimizer's step is all or nothing across ranks: its engine journals every group and keeps an
        /// applied step's journal open (<see cref="OptimizerBuilder.HoldSteps"/>) until every rank's step is known to
        /// have succeeded (<see cref="CommitHeldStep"/>) or one failed (<see cref="RollbackHeldStep"/>).
        /// </summary>
        private readonly bool _holdSteps;
        private bool _held;

        /// <summary>Keeps the held step's writes (nothing when no step is held).</summary>
        internal void CommitHeldStep()
        {
            if (!_held) return;
            _held = false;
            foreach (int g in _stepOrder) _groups[g].CommitJournal();
        }

        /// <summary>Puts back everything the held step wrote and counts it as not taken (nothing when no step is held).</summary>
        internal void RollbackHeldStep()
        {
            if (!_held) return;
            _held = false;
            foreach (int g in _stepOrder) _groups[g].RollbackJournal();
            StepCount--;
        }

        private double FoldSquares()
        {
            double total = 0;
            for (int p = 0; p < _parameters.Length; p++)
            {
                int blocks = _blocks[p];
                Array.Copy(_normPartials, _firstBlock[p], _fold, 0, blocks);
                total += Reduction.FoldBlocks(_fold.AsSpan(0, blocks), max: false);
            }
            return total;
        }

        /// <summary>
        /// Scans the parameters for NaN/±Inf and describes every offending one (name, count, first index);
        /// empty when all are finite. Allocates: meant for diagnostics, not every step.
        /// </summary>
        public IReadOnlyList<string> FindNonFiniteParameters()
        {
            var report = new List<string>();
            for (int p = 0; p < _parameters.Length; p++)
            {
                var span = _parameterMemory[p].Span;
                int first = -1, count = 0;
                for (int i = 0; i < span.Length; i++)
                    if (!float.IsFinite(span[i])) { if (first < 0) first = i; count++; }
                if (count > 0) report.Add($"{_parameters[p].Name}: {count} non-finite value(s), first at element {first} ({span[first]})");
            }
            return report;
        }

        /// <summary>Throws an <see cref="InvalidOperationException"/> naming every parameter holding NaN/±Inf.</summary>
        public void ThrowIfNonFiniteParameters()
        {
            var report = FindNonFiniteParameters();
            if (report.Count > 0) throw new InvalidOperationException($"non-finite parameters after step {StepCount}: {string.Join("; ", report)}");
        }

        private ParameterGroup Group(string name)
        {
            foreach (var g in _groups) if (g.Name == name) return g;
            throw new ArgumentException($"no group '{name}'; groups: {string.Join(", ", _groups.Select(g => g.Name))}", nameof(name));
        }

        private int IndexOf(string parameter)
            => _indexByName.TryGetValue(parameter, out int p) ? p
                : throw new ArgumentException($"no parameter '{parameter}'", nameof(parameter));

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(FusedOptimizer));
        }

        /// <summary>Unpins the caller's memory and stops the pool if the optimizer created it.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var g in _groups) g.Dispose();
            _ownedClQueue?.Dispose();
            _clContext?.Dispose();
            foreach (var h in _handles) h.Dispose();
            if (_ownsPool) _pool.Dispose();
        }

        /// <summary>After a rollback: every bfloat16 copy from its restored parameter (round to nearest even, as the kernels write it).</summary>
        private void RewriteCopies()
        {
            for (int p = 0; p < _parameters.Length; p++)
                if (_copyPointers[p] != 0)
                    BFloat16.NarrowToNearestEven(_parameterMemory[p].Span, new Span<ushort>((void*)_copyPointers[p], _parameterMemory[p].Length));
        }

        // ---- gradient passes ----

        private enum GradientOp { Copy, Add, Divide, Scale, SumSquares }

        private void RunGradientPass(GradientOp op, nint[] gradients, float factor)
        {
            var work = new GradientWork(this, op, gradients, factor);
            long units = _unitParameter.Length;
            if (_totalElements < ParameterGroup.CpuParallelThreshold || _pool.DegreeOfParallelism == 1) work.Execute(0, units * WorkerPool.ChunkAlignment);
            else _pool.Run(ref work, units * WorkerPool.ChunkAlignment, grain: WorkerPool.ChunkAlignment);
        }

        private void ExecuteGradientUnits(GradientOp op, nint[] gradients, float factor, int firstUnit, int endUnit)
        {
            for (int u = firstUnit; u < endUnit; u++)
            {
                int p = _unitParameter[u];
                long start = _unitStart[u];
                int count = _unitCount[u];
                if (_gradientIsBFloat16[p])
                {
                    // Only the norm reads bfloat16 gradients (accumulation and clipping are refused): widened exactly, summed as float32 ones are.
                    var h = new ReadOnlySpan<ushort>((ushort*)gradients[p] + start, count);
                    for (int b = 0; b * Reduction.BlockSize < count; b++)
                    {
                        int from = b * Reduction.BlockSize;
                        _normPartials[_unitBlock[u] + b] = SumOfSquares(h.Slice(from, Math.Min(Reduction.BlockSize, count - from)));
                    }
                    continue;
                }
                var g = new Span<float>((float*)gradients[p] + start, count);
                switch (op)
                {
                    case GradientOp.Copy:
                        new ReadOnlySpan<float>((float*)_gradientPointers[p] + start, count).CopyTo(new Span<float>((float*)_accumulatorPointers![p] + start, count));
                        break;
                    case GradientOp.Add:
                        GradientArithmetic.AddInto(new Span<float>((float*)_accumulatorPointers![p] + start, count), new ReadOnlySpan<float>((float*)_gradientPointers[p] + start, count));
                        break;
                    case GradientOp.Divide:
                        GradientArithmetic.Divide(g, factor);
                        break;
                    case GradientOp.Scale:
                        GradientArithmetic.Multiply(g, factor);
                        break;
                    default:
                        for (int b = 0; b * Reduction.BlockSize < count; b++)
                        {
                            int from = b * Reduction.BlockSize;
                            _normPartials[_unitBlock[u] + b] = SumOfSquares(g.Slice(from, Math.Min(Reduction.BlockSize, count - from)));
                        }
                        break;
                }
            }
        }

        /// <summary>Sum of squares of one block in float64, in a fixed order (4 × 4 double lanes, folded pairwise, then the tail).</summary>
        internal static double SumOfSquares(ReadOnlySpan<float> values)
        {
            int i = 0;
            var a0 = Vector256<double>.Zero;
            var a1 = Vector256<double>.Zero;
            fixed (float* v = values)
            {
                for (; i + 8 <= values.Length; i += 8)
                {
                    var x = Vector256.Load(v + i);
                    var lo = Vector256.WidenLower(x);
                    var hi = Vector256.WidenUpper(x);
                    a0 += lo * lo;
                    a1 += hi * hi;
                }
            }
            var a = a0 + a1;
            double sum = (a[0] + a[2]) + (a[1] + a[3]);
            for (; i < values.Length; i++) sum += (double)values[i] * values[i];
            return sum;
        }

        /// <summary><see cref="SumOfSquares(ReadOnlySpan{float})"/> of bfloat16 values, widened exactly, in the same order.</summary>
        internal static double SumOfSquares(ReadOnlySpan<ushort> values)
        {
            Span<float> wide = stackalloc float[Reduction.BlockSize];
            wide = wide.Slice(0, values.Length);
            BFloat16.Widen(values, wide);
            return SumOfSquares(wide);
        }

        private readonly struct GradientWork : IRangeWork
        {
            private readonly FusedOptimizer _owner;
            private readonly GradientOp _op;
            private readonly nint[] _gradients;
            private readonly float _factor;

            public GradientWork(FusedOptimizer owner, GradientOp op, nint[] gradients, float factor)
            {
                _owner = owner;
                _op = op;
                _gradients = gradients;
                _factor = factor;
            }

            public void Execute(long start, long end)
                => _owner.ExecuteGradientUnits(_op, _gradients, _factor,
                    (int)(start / WorkerPool.ChunkAlignment), (int)((end + WorkerPool.ChunkAlignment - 1) / WorkerPool.ChunkAlignment));
        }
    }
}
