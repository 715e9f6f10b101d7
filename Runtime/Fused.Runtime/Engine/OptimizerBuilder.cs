using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Fused.Ir;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Precision;

namespace Fused.Runtime.Engine
{
    /// <summary>
    /// Collects parameters and routes, then builds a <see cref="FusedOptimizer"/>.
    /// </summary>
    /// <remarks>
    /// Routing: every route's predicate is evaluated on every parameter. <see cref="Build"/> fails with an
    /// <see cref="OptimizerConfigurationException"/> naming every parameter that no route claims and every parameter
    /// that more than one route claims (with the routes), so a catch-all route must exclude what earlier routes take.
    /// </remarks>
    public sealed class OptimizerBuilder
    {
        internal sealed record Registration(ParameterInfo Info, Memory<float> Parameter, Memory<float> Gradient)
        {
            /// <summary>The caller's bfloat16 gradient (when <see cref="GradientIsBFloat16"/>; <see cref="Gradient"/> is then empty).</summary>
            public Memory<ushort> BFloat16Gradient { get; init; }
            public bool GradientIsBFloat16 { get; init; }
            /// <summary>The caller's buffer for the parameter's bfloat16 copy, written by every step (when <see cref="WritesCopy"/>).</summary>
            public Memory<ushort> BFloat16Copy { get; init; }
            public bool WritesCopy { get; init; }

            /// <summary>The formats the kernels read and write for this parameter besides its rule's state precision.</summary>
            public Kernels.PassPrecision Inputs =>
                (GradientIsBFloat16 ? Kernels.PassPrecision.BFloat16Gradient : 0) | (WritesCopy ? Kernels.PassPrecision.BFloat16ParameterCopy : 0);
        }

        internal sealed record RouteSpec(string Name, Func<ParameterInfo, bool> Predicate, FusedRule Rule, GroupOptions Options);

        private readonly List<Registration> _parameters = new List<Registration>();
        private readonly Dictionary<string, int> _names = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly List<RouteSpec> _routes = new List<RouteSpec>();
        private double _clipNorm = double.PositiveInfinity;
        private bool _skipNonFinite = true;
        private ulong _seed = 0x5EED;
        private WorkerPool? _pool;
        private int _threads;
        private int _scratchElements = ParameterGroup.DefaultScratchElements;
        private long _waveElements = ParameterGroup.DefaultWaveElements;
        private DeviceChoice? _device;
        private StepJournal _journal = StepJournal.FallibleGroups;
        private Func<string, Fused.Execution.IScheduleBackend, Fused.Execution.IScheduleBackend>? _wrapBackend;
        private GradientSquaresTotal? _squaresTotal;
        private Func<string, IReadOnlyList<ParameterInfo>, Fused.Execution.IReductionExchange?>? _reductionExchange;
        private bool _holdSteps;

        /// <summary>
        /// Registers a parameter and its gradient, both the caller's memory (not copied; both stay pinned until the
        /// optimizer is disposed). Rules see the tensor as a matrix: rows = product of the leading dimensions,
        /// cols = the last one (rank 1 = one row).
        /// </summary>
        /// <exception cref="OptimizerConfigurationException">Duplicate name, rank outside 1–4, non-positive
        /// dimension, or a parameter/gradient length that does not match the shape.</exception>
        public OptimizerBuilder AddParameter(string name, int[] shape, Memory<float> parameter, Memory<float> gradient)
            => AddParameter(name, shape, parameter, gradient, randomStream: -1);

        /// <summary>
        /// As the public overload; a sharded optimizer gives a shard the random stream of its full parameter from the
        /// shard's first element on (bfloat16 rounding equal to one process's).
        /// </summary>
        internal OptimizerBuilder AddParameter(string name, int[] shape, Memory<float> parameter, Memory<float> gradient, int randomStream, long randomOffset = 0)
        {
            var info = CheckParameter(name, shape, parameter.Length, gradient.Length, randomStream, randomOffset);
            _names.Add(name, info.Index);
            _parameters.Add(new Registration(info, parameter, gradient));
            return this;
        }

        /// <summary>
        /// Registers a parameter (float32, the master weights) with a <b>bfloat16</b> gradient, as a backward pass in bf16
        /// produces it (the bits of each value as <see cref="ushort"/>, see <see cref="Precision.BFloat16"/>). The kernels widen
        /// the gradient in registers (exact); no float32 copy of it is made, so a step moves 2 bytes less per element
        /// (<c>Layout.BytesMovedPerParameterBFloat16Gradient</c>). Runs on the CPU with generated rules whose passes are not
        /// row-wise; the non-finite check and the gradient norm read bf16 gradients. Refused at <see cref="Build"/> with a
        /// one-line message: <see cref="ClipGlobalNorm"/> (clipping would rewrite the gradient), a device backend, 8-bit state,
        /// rules built at run time or with row-wise passes. <see cref="FusedOptimizer.AccumulateGradients"/> refuses too.
        /// </summary>
        /// <exception cref="OptimizerConfigurationException">As the float32 overload.</exception>
        public OptimizerBuilder AddParameter(string name, int[] shape, Memory<float> parameter, Memory<ushort> bfloat16Gradient)
        {
            var info = CheckParameter(name, shape, parameter.Length, bfloat16Gradient.Length, randomStream: -1, randomOffset: 0);
            _names.Add(name, info.Index);
            _parameters.Add(new Registration(info, parameter, Memory<float>.Empty) { BFloat16Gradient = bfloat16Gradient, GradientIsBFloat16 = true });
            return this;
        }

        /// <summary>Convenience overload for arrays: a float32 parameter and its bfloat16 gradient bits.</summary>
        public OptimizerBuilder AddParameter(string name, int[] shape, float[] parameter, ushort[] bfloat16Gradient)
            => AddParameter(name, shape, parameter.AsMemory(), bfloat16Gradient.AsMemory());

        /// <summary>
        /// After every step, <paramref name="copy"/> holds parameter <paramref name="parameterName"/> in bfloat16, rounded to
        /// nearest even (as PyTorch's <c>.to(torch.bfloat16)</c>): the model weights of the next forward pass beside float32
        /// master weights. The kernels write it in the same loop as the parameter (2 bytes per element, no second pass). The
        /// caller's memory, pinned like the parameter; a step that is skipped or fails leaves it as it was. Same limits as
        /// bfloat16 gradients (see <see cref="AddParameter(string, int[], Memory{float}, Memory{ushort})"/>), except clipping,
        /// which works with float32 gradients.
        /// </summary>
        /// <exception cref="OptimizerConfigurationException">Unknown parameter, a copy already set, or a length that is not the parameter's.</exception>
        public OptimizerBuilder WriteBFloat16Copy(string parameterName, Memory<ushort> copy)
        {
            if (parameterName is null || !_names.TryGetValue(parameterName, out int index))
                throw new OptimizerConfigurationException($"WriteBFloat16Copy: no parameter '{parameterName}' is registered (register it with AddParameter first)");
            var p = _parameters[index];
            if (p.WritesCopy) throw new OptimizerConfigurationException($"WriteBFloat16Copy: parameter '{parameterName}' already has a bfloat16 copy");
            if (copy.Length != p.Info.Numel)
                throw new OptimizerConfigurationException($"WriteBFloat16Copy: the copy of '{parameterName}' holds {copy.Length} elements but the parameter has {p.Info.Numel}");
            _parameters[index] = p with { BFloat16Copy = copy, WritesCopy = true };
            return this;
        }

        /// <summary>The checks every registration makes; the new parameter's description.</summary>
        private ParameterInfo CheckParameter(string name, int[] shape, int parameterLength, int gradientLength, int randomStream, long randomOffset)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new OptimizerConfigurationException("parameter name must be non-empty");
            CheckName(name, "parameter");
            ArgumentNullException.ThrowIfNull(shape);
            if (_names.ContainsKey(name))
                throw new OptimizerConfigurationException($"parameter '{name}' is registered twice (first as #{_names[name]})");
            if (shape.Length < 1 || shape.Length > 4)
                throw new OptimizerConfigurationException($"parameter '{name}' has rank {shape.Length}; ranks 1 to 4 are supported");
            long numel = 1;
            string shapeText = $"[{string.Join(", ", shape)}]";
            foreach (int d in shape)
            {
                if (d <= 0) throw new OptimizerConfigurationException($"parameter '{name}' has shape {shapeText}: dimensions must be positive");
                // Four int dimensions can overflow a long (and wrap to 0); one tensor must also fit one .NET array.
                if (numel > Array.MaxLength / d)
                    throw new OptimizerConfigurationException($"parameter '{name}' has shape {shapeText}: more than {Array.MaxLength} elements, the most one tensor can hold");
                numel *= d;
            }
            if (parameterLength != numel)
                throw new OptimizerConfigurationException($"parameter '{name}' has shape {shapeText} ({numel} elements) but its memory holds {parameterLength}");
            if (gradientLength != numel)
                throw new OptimizerConfigurationException($"gradient of '{name}' holds {gradientLength} elements but the parameter's shape {shapeText} has {numel}");
            return new ParameterInfo(name, (int[])shape.Clone(), _parameters.Count, randomStream, randomOffset);
        }

        /// <summary>
        /// Names are written to checkpoints as UTF-8 JSON: they must be valid UTF-16 (no lone surrogates) and not the
        /// safetensors header's reserved "__metadata__".
        /// </summary>
        private static void CheckName(string name, string what)
        {
            if (name == "__metadata__") throw new OptimizerConfigurationException($"{what} name '__metadata__' is reserved by the checkpoint format");
            for (int i = 0; i < name.Length; i++)
            {
                if (char.IsHighSurrogate(name[i]) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1])) { i++; continue; }
                if (char.IsSurrogate(name[i]))
                    throw new OptimizerConfigurationException($"{what} name '{name.Replace(name[i], '\uFFFD')}' has a lone UTF-16 surrogate (U+{(int)name[i]:X4}) at index {i}: it cannot be written to a checkpoint");
            }
        }

        /// <summary>Every tensor name a checkpoint of this configuration holds, and what it stores; collisions are an error.</summary>
        private void CheckCheckpointNames(List<Registration>[] members)
        {
            var owner = new Dictionary<string, string>(StringComparer.Ordinal);
            var clashes = new List<string>();
            void Claim(string name, string what)
            {
                if (owner.TryAdd(name, what)) return;
                clashes.Add($"'{name}' would be both {owner[name]} and {what}");
            }
            foreach (var p in _parameters) Claim(p.Info.Name, $"parameter '{p.Info.Name}'");
            for (int r = 0; r < _routes.Count; r++)
            {
                var schedule = _routes[r].Rule.Schedule;
                var states = schedule.Buffers.Where(b => b.Kind == BufferKind.State).Select(b => (b.Name, Element: b.Shape == StateShape.Element)).ToList();
                bool shampoo = schedule.Matrices.Any(x => x.Op == MatrixOp.Precondition);
                foreach (var m in members[r])
                {
                    if (shampoo)
                        foreach (var n in Matrix.MatrixPasses.ShampooTensorNames.Append("shampoo.has_roots"))
                            Claim($"{m.Info.Name}.{n}", $"Shampoo's statistics of '{m.Info.Name}'");
                    foreach (var (state, element) in states)
                    {
                        Claim($"{m.Info.Name}.{state}", $"state '{state}' of '{m.Info.Name}'");
                        if (element && _routes[r].Options.Precision == StatePrecision.Int8Blockwise)
                            Claim($"{m.Info.Name}.{state}.absmax", $"the 8-bit scales of state '{state}' of '{m.Info.Name}'");
                    }
                }
            }
            if (clashes.Count > 0)
                throw new OptimizerConfigurationException($"checkpoint tensor names collide, so this optimizer could never be saved: {string.Join("; ", clashes)}; rename the parameters");
        }

        /// <summary>
        /// Every parameter and gradient must be its own memory: a step reads the gradient while it writes the
        /// parameter, clipping scales each gradient once, so aliased or overlapping buffers would silently corrupt both.
        /// </summary>
        private unsafe void CheckDisjointMemory()
        {
            var handles = new List<System.Buffers.MemoryHandle>(2 * _parameters.Count);
            try
            {
                var ranges = new List<(nuint Start, nuint End, string What)>(2 * _parameters.Count);
                foreach (var p in _parameters)
                {
                    void Add<T>(Memory<T> memory, string what) where T : unmanaged
                    {
                        if (memory.IsEmpty) return;
                        var handle = memory.Pin();
                        handles.Add(handle);
                        nuint start = (nuint)handle.Pointer;
                        ranges.Add((start, start + (nuint)memory.Length * (nuint)sizeof(T), what));
                    }
                    Add(p.Parameter, $"parameter '{p.Info.Name}'");
                    Add(p.Gradient, $"the gradient of '{p.Info.Name}'");
                    Add(p.BFloat16Gradient, $"the gradient of '{p.Info.Name}'");
                    Add(p.BFloat16Copy, $"the bfloat16 copy of '{p.Info.Name}'");
                }
                ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
                var overlaps = new List<string>();
                int reach = 0; // the earlier range that ends last: any later start below its end overlaps it
                for (int i = 1; i < ranges.Count && overlaps.Count < 8; i++)
                {
                    if (ranges[i].Start < ranges[reach].End) overlaps.Add($"{ranges[reach].What} and {ranges[i].What}");
                    if (ranges[i].End > ranges[reach].End) reach = i;
                }
                if (overlaps.Count > 0)
                    throw new OptimizerConfigurationException($"parameter and gradient memory must not be shared or overlap: {string.Join("; ", overlaps.Distinct())} use the same memory");
            }
            finally
            {
                foreach (var h in handles) h.Dispose();
            }
        }

        /// <summary>bfloat16 gradients and parameter copies run only where the generated kernels read and write them: everything else is refused here.</summary>
        private void CheckBFloat16Inputs(List<Registration>[] members)
        {
            for (int r = 0; r < _routes.Count; r++)
            {
                var route = _routes[r];
                foreach (var m in members[r])
                {
                    if (m.Inputs == 0) continue;
                    string what = m.GradientIsBFloat16 ? $"parameter '{m.Info.Name}' has a bfloat16 gradient" : $"parameter '{m.Info.Name}' writes a bfloat16 copy";
                    if (m.GradientIsBFloat16 && double.IsFinite(_clipNorm))
                        throw new OptimizerConfigurationException($"{what}: ClipGlobalNorm would rewrite it and is not supported with bfloat16 gradients; clip in your training loop or pass float32 gradients");
                    if (_device != null)
                        throw new OptimizerConfigurationException($"{what}: only the CPU reads bfloat16 gradients and writes bfloat16 copies, not {(_device.Factory != null ? _device.Name : "OpenCL")}");
                    if (!route.Rule.HasMixedPrecisionKernels)
                        throw new OptimizerConfigurationException($"{what}: route '{route.Name}' runs {route.Rule.Name}, which has no generated kernels for it (built at run time, or generated by an older Fused)");
                    if (route.Rule.Schedule.Passes.Any(p => p.RowWise))
                        throw new OptimizerConfigurationException($"{what}: route '{route.Name}' runs {route.Rule.Name}, whose row-wise passes do not read bfloat16 gradients or write copies yet");
                    if (route.Options.Precision == StatePrecision.Int8Blockwise)
                        throw new OptimizerConfigurationException($"{what}: route '{route.Name}' keeps 8-bit state, which does not combine with it; use State(StatePrecision.BFloat16) or Float32");
                }
            }
        }

        /// <summary>Convenience overload for arrays.</summary>
        public OptimizerBuilder AddParameter(string name, int[] shape, float[] parameter, float[] gradient)
            => AddParameter(name, shape, parameter.AsMemory(), gradient.AsMemory());

        /// <summary>
        /// Sends the parameters matching <paramref name="predicate"/> to <paramref name="rule"/> as group
        /// <paramref name="groupName"/>, with settings from <paramref name="configure"/> (hyperparameters, schedules,
        /// state precision).
        /// </summary>
        public OptimizerBuilder Route(string groupName, Func<ParameterInfo, bool> predicate, FusedRule rule, Action<GroupOptions>? configure = null)
        {
            if (string.IsNullOrWhiteSpace(groupName)) throw new OptimizerConfigurationException("group name must be non-empty");
            CheckName(groupName, "group");
            ArgumentNullException.ThrowIfNull(predicate);
            ArgumentNullException.ThrowIfNull(rule);
            if (_routes.Any(r => r.Name == groupName)) throw new OptimizerConfigurationException($"group '{groupName}' is defined twice");
            var options = new GroupOptions(rule);
            configure?.Invoke(options);
            _routes.Add(new RouteSpec(groupName, predicate, rule, options));
            return this;
        }

        /// <summary><see cref="Route(string, Func{ParameterInfo, bool}, FusedRule, Action{GroupOptions})"/> with the group named "group{i}".</summary>
        public OptimizerBuilder Route(Func<ParameterInfo, bool> predicate, FusedRule rule, Action<GroupOptions>? configure = null)
            => Route($"group{_routes.Count}", predicate, rule, configure);

        /// <summary>
        /// Clips the global L2 norm of all gradients to <paramref name="maxNorm"/> before each step (torch's
        /// clip_grad_norm_: factor maxNorm / (norm + 1e-6) when norm exceeds maxNorm). The gradients are scaled in
        /// place (the caller's buffers, or the accumulation buffers).
        /// </summary>
        public OptimizerBuilder ClipGlobalNorm(double maxNorm)
        {
            if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max norm must be positive");
            _clipNorm = maxNorm;
            return this;
        }

        /// <summary>Whether a step with a NaN/Inf gradient is skipped (default true). Disabling it also skips the
        /// gradient-norm pass when clipping is off.</summary>
        public OptimizerBuilder SkipNonFiniteSteps(bool enabled = true)
        {
            _skipNonFinite = enabled;
            return this;
        }

        /// <summary>Seed of the stochastic-rounding streams (saved in checkpoints).</summary>
        public OptimizerBuilder Seed(ulong seed)
        {
            _seed = seed;
            return this;
        }

        /// <summary>Threads including the caller (0 = one per processor); the optimizer owns the pool it creates.</summary>
        public OptimizerBuilder Threads(int degreeOfParallelism)
        {
            if (degreeOfParallelism < 0) throw new ArgumentOutOfRangeException(nameof(degreeOfParallelism));
            _threads = degreeOfParallelism;
            return this;
        }

        /// <summary>
        /// Steps every group on an OpenCL device: parameters and element states live on the device. Transfer points:
        /// the gradients are uploaded from their host memory at every <see cref="FusedOptimizer.Step"/> (after the
        /// global norm, clipping and the non-finite check, which run on the host); the parameters come back into their
        /// host memory after every step (<see cref="ParameterDownload.EveryStep"/>) or when asked
        /// (<see cref="FusedOptimizer.DownloadParameters"/>); states come back for checkpoints and
        /// <see cref="FusedOptimizer.ReadState"/>, and go up after <see cref="FusedOptimizer.Load"/>. Element states are
        /// float32 on the device. The optimizer creates and owns a context and queue on <paramref name="device"/>.
        /// </summary>
        public OptimizerBuilder UseOpenCl(OpenCL.OpenClDevice device, ParameterDownload parameters = ParameterDownload.EveryStep)
        {
            _device = new DeviceChoice(device ?? throw new ArgumentNullException(nameof(device)), null, null, null, parameters);
            return this;
        }

        /// <summary>As <see cref="UseOpenCl(OpenCL.OpenClDevice, ParameterDownload)"/> on an existing queue (not disposed by the optimizer).</summary>
        public OptimizerBuilder UseOpenCl(OpenCL.ClQueue queue, ParameterDownload parameters = ParameterDownload.EveryStep)
        {
            _device = new DeviceChoice(null, queue ?? throw new ArgumentNullException(nameof(queue)), null, null, parameters);
            return this;
        }

        /// <summary>
        /// Steps every group on a device backend made by <paramref name="factory"/> (one per group; the optimizer disposes
        /// them), with the transfer points of <see cref="UseOpenCl(OpenCL.OpenClDevice, ParameterDownload)"/>. This is how
        /// backends in other assemblies plug in (Fused.Ilgpu's <c>UseIlgpu</c>); <paramref name="name"/> is what
        /// <see cref="FusedOptimizer.Backend"/> reports.
        /// </summary>
        public OptimizerBuilder UseDevice(string name, DeviceBackendFactory factory, ParameterDownload parameters = ParameterDownload.EveryStep)
        {
            _device = new DeviceChoice(null, null, factory ?? throw new ArgumentNullException(nameof(factory)), name ?? throw new ArgumentNullException(nameof(name)), parameters);
            return this;
        }

        internal sealed record DeviceChoice(OpenCL.OpenClDevice? Device, OpenCL.ClQueue? Queue, DeviceBackendFactory? Factory, string? Name, ParameterDownload Download);

        /// <summary>Which groups journal their writes so a failed step is undone (default <see cref="StepJournal.FallibleGroups"/>).</summary>
        public OptimizerBuilder JournalSteps(StepJournal policy)
        {
            if (!Enum.IsDefined(policy)) throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown journal policy");
            _journal = policy;
            return this;
        }

        /// <summary>
        /// How the per-block sums of squares of the gradients become the squared global norm (clipping, non-finite
        /// check). By default the blocks of each parameter are folded in the canonical order of <see cref="Reduction"/>
        /// and the parameters summed in registration order. A sharded optimizer (Fused.Distributed) completes the norm
        /// over every rank here, so every rank clips by and skips on the same total.
        /// </summary>
        public OptimizerBuilder GradientNormTotal(GradientSquaresTotal total)
        {
            _squaresTotal = total ?? throw new ArgumentNullException(nameof(total));
            return this;
        }

        /// <summary>
        /// A sharded optimizer's hook: each group's executor completes the whole-tensor reductions of pieces of tensors
        /// through <c>create(groupName, members)</c> (see <see cref="Fused.Execution.IReductionExchange"/>).
        /// </summary>
        internal OptimizerBuilder ReductionExchange(Func<string, IReadOnlyList<ParameterInfo>, Fused.Execution.IReductionExchange?> create)
        {
            _reductionExchange = create;
            return this;
        }

        /// <summary>
        /// A sharded optimizer's hook: every group journals, and an applied step stays undoable until the caller commits
        /// or rolls it back (<see cref="FusedOptimizer.CommitHeldStep"/>, <see cref="FusedOptimizer.RollbackHeldStep"/>).
        /// </summary>
        internal OptimizerBuilder HoldSteps()
        {
            _journal = StepJournal.AllGroups;
            _holdSteps = true;
            return this;
        }

        /// <summary>Test hook: each group's executor runs on <c>wrap(groupName, backend)</c> (to inject faults).</summary>
        internal OptimizerBuilder WrapBackends(Func<string, Fused.Execution.IScheduleBackend, Fused.Execution.IScheduleBackend> wrap)
        {
            _wrapBackend = wrap;
            return this;
        }

        /// <summary>Runs on an existing pool (not disposed by the optimizer).</summary>
        public OptimizerBuilder Pool(WorkerPool pool)
        {
            _pool = pool ?? throw new ArgumentNullException(nameof(pool));
            return this;
        }

        /// <summary>
        /// Elements per low-precision scratch chunk (a positive multiple of <see cref="FusedOptimizer.Int8BlockSize"/>).
        /// Results do not depend on it; tests and benchmarks vary it.
        /// </summary>
        internal OptimizerBuilder ScratchElements(int elements)
        {
            if (elements <= 0 || elements % FusedOptimizer.Int8BlockSize != 0)
                throw new ArgumentOutOfRangeException(nameof(elements), elements, $"a positive multiple of {FusedOptimizer.Int8BlockSize}");
            _scratchElements = elements;
            return this;
        }

        /// <summary>
        /// Elements per wave of tensors (default <see cref="ParameterGroup.DefaultWaveElements"/>): a group steps its
        /// tensors in waves of about this many elements, so the float32 temporaries some plans keep between passes
        /// need room for one wave only. Results do not depend on it; tests vary it.
        /// </summary>
        internal OptimizerBuilder WaveElements(long elements)
        {
            if (elements <= 0) throw new ArgumentOutOfRangeException(nameof(elements), elements, "must be positive");
            _waveElements = elements;
            return this;
        }

        /// <summary>Resolves routes, allocates state and returns the optimizer.</summary>
        /// <exception cref="OptimizerConfigurationException">No parameters or routes, parameters claimed by
        /// no route or by several (all listed), or checkpoint tensor names that collide (a parameter "x.m" beside
        /// parameter "x" whose rule has a state "m"): everything <see cref="FusedOptimizer.Save"/> would refuse is
        /// refused here, so a run can never end unable to save.</exception>
        public FusedOptimizer Build()
        {
            if (_parameters.Count == 0) throw new OptimizerConfigurationException("no parameters registered");
            if (_routes.Count == 0) throw new OptimizerConfigurationException("no routes: add at least one Route(...)");
            var members = _routes.Select(_ => new List<Registration>()).ToArray();
            var unclaimed = new List<string>();
            var multiple = new List<string>();
            foreach (var p in _parameters)
            {
                var claimedBy = new List<int>();
                for (int r = 0; r < _routes.Count; r++)
                    if (_routes[r].Predicate(p.Info)) claimedBy.Add(r);
                if (claimedBy.Count == 0) unclaimed.Add(p.Info.ToString());
                else if (claimedBy.Count > 1) multiple.Add($"{p.Info} (routes {string.Join(", ", claimedBy.Select(r => $"'{_routes[r].Name}'"))})");
                else members[claimedBy[0]].Add(p);
            }
            if (unclaimed.Count > 0 || multiple.Count > 0)
            {
                var message = new StringBuilder("routing failed:");
                if (unclaimed.Count > 0) message.Append($" claimed by no route: {string.Join("; ", unclaimed)}.");
                if (multiple.Count > 0) message.Append($" claimed by more than one route: {string.Join("; ", multiple)}.");
                throw new OptimizerConfigurationException(message.ToString());
            }
            if (_device != null)
            {
                var lowPrecision = _routes.Where(r => r.Options.Precision != StatePrecision.Float32).Select(r => $"'{r.Name}' ({r.Options.Precision})").ToList();
                if (lowPrecision.Count > 0)
                    throw new OptimizerConfigurationException($"{(_device.Factory != null ? _device.Name : "OpenCL")} groups keep float32 state; route(s) {string.Join(", ", lowPrecision)} ask for another precision: use State(StatePrecision.Float32) or the CPU");
            }
            CheckCheckpointNames(members);
            CheckBFloat16Inputs(members);
            CheckDisjointMemory();
            return new FusedOptimizer(_parameters, _routes, members, _clipNorm, _skipNonFinite, _seed, _pool, _threads, _scratchElements, _waveElements, _device, _journal, _wrapBackend, _squaresTotal, _reductionExchange, _holdSteps);
        }
    }
}
