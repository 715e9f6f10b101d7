using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;

namespace Fused.Distributed
{
    /// <summary>
    /// Builds a <see cref="ShardedOptimizer"/>: the same calls as <see cref="OptimizerBuilder"/>, made alike on every
    /// rank (every rank registers every parameter, full size). <see cref="Build"/> is collective: it checks that every
    /// rank was configured alike, plans the shards and builds this rank's engine over its own segments only.
    /// </summary>
    public sealed class ShardedOptimizerBuilder
    {
        internal sealed record Parameter(string Name, int[] Shape, Memory<float> Value, Memory<float> Gradient, long Numel, long Rows, long Cols);

        internal sealed record RouteSpec(string Name, Func<ParameterInfo, bool> Predicate, FusedRule Rule, Action<GroupOptions>? Configure);

        private readonly ICollectives _collectives;
        private readonly OptimizerBuilder _check = new OptimizerBuilder(); // validates names, shapes and lengths as one process would
        private readonly List<Parameter> _parameters = new List<Parameter>();
        private readonly List<RouteSpec> _routes = new List<RouteSpec>();
        private double _clipNorm = double.PositiveInfinity;
        private bool _skipNonFinite = true;
        private ulong _seed = 0x5EED;
        private int _threads;
        private int _stagingElements = DefaultStagingElements;
        private Action<OptimizerBuilder>? _device;
        private bool _allOrNothing = true;
        private string? _deviceName;

        /// <summary>Floats per staging buffer of the exchanges by default (2 buffers: 128 MB together).</summary>
        public const int DefaultStagingElements = 1 << 24;

        /// <summary>A builder over <paramref name="collectives"/> (e.g. <see cref="Mpi.MpiCollectives.Initialize"/>).</summary>
        public ShardedOptimizerBuilder(ICollectives collectives)
        {
            _collectives = collectives ?? throw new ArgumentNullException(nameof(collectives));
        }

        /// <summary>Registers a full parameter and its full gradient (this rank's local gradient; <see cref="ShardedOptimizer.Step"/> averages them over ranks).</summary>
        /// <exception cref="OptimizerConfigurationException">As <see cref="OptimizerBuilder.AddParameter(string, int[], Memory{float}, Memory{float})"/>.</exception>
        public ShardedOptimizerBuilder AddParameter(string name, int[] shape, Memory<float> parameter, Memory<float> gradient)
        {
            _check.AddParameter(name, shape, parameter, gradient);
            long numel = shape.Aggregate(1L, (a, d) => a * d);
            _parameters.Add(new Parameter(name, (int[])shape.Clone(), parameter, gradient, numel, numel / shape[^1], shape[^1]));
            return this;
        }

        /// <summary>Convenience overload for arrays.</summary>
        public ShardedOptimizerBuilder AddParameter(string name, int[] shape, float[] parameter, float[] gradient)
            => AddParameter(name, shape, parameter.AsMemory(), gradient.AsMemory());

        /// <summary>As <see cref="OptimizerBuilder.Route(string, Func{ParameterInfo, bool}, FusedRule, Action{GroupOptions})"/>; the predicate sees full parameters.</summary>
        public ShardedOptimizerBuilder Route(string groupName, Func<ParameterInfo, bool> predicate, FusedRule rule, Action<GroupOptions>? configure = null)
        {
            _check.Route(groupName, predicate, rule, configure);
            _routes.Add(new RouteSpec(groupName, predicate, rule, configure));
            return this;
        }

        /// <summary>Clips the global L2 norm of the averaged gradients over every rank (see <see cref="OptimizerBuilder.ClipGlobalNorm"/>).</summary>
        public ShardedOptimizerBuilder ClipGlobalNorm(double maxNorm)
        {
            _check.ClipGlobalNorm(maxNorm);
            _clipNorm = maxNorm;
            return this;
        }

        /// <summary>Whether a step whose averaged gradient holds NaN/Inf anywhere is skipped by every rank (default true).</summary>
        public ShardedOptimizerBuilder SkipNonFiniteSteps(bool enabled = true)
        {
            _skipNonFinite = enabled;
            return this;
        }

        /// <summary>Seed of the stochastic-rounding streams.</summary>
        public ShardedOptimizerBuilder Seed(ulong seed)
        {
            _seed = seed;
            return this;
        }

        /// <summary>Threads per rank including the caller (0 = one per processor).</summary>
        public ShardedOptimizerBuilder Threads(int degreeOfParallelism)
        {
            _check.Threads(degreeOfParallelism);
            _threads = degreeOfParallelism;
            return this;
        }

        /// <summary>
        /// Whether a step is all or nothing across ranks (default true): each rank's engine journals its segments'
        /// parameters and state before stepping them, so when any rank's step fails every rank puts back what it wrote.
        /// The price is one copy of the rank's segments' parameters and state (about (4 + state bytes) / N per parameter)
        /// and copying them every step. Off, only groups whose steps can fail on values (matrix stages) journal, and a
        /// failure elsewhere leaves the other ranks' segments stepped and the parameters not gathered.
        /// </summary>
        public ShardedOptimizerBuilder AllOrNothingSteps(bool enabled = true)
        {
            _allOrNothing = enabled;
            return this;
        }

        /// <summary>
        /// Each rank steps its segments on an OpenCL device (<see cref="OptimizerBuilder.UseOpenCl(Runtime.OpenCL.OpenClDevice, ParameterDownload)"/>;
        /// e.g. one device per rank): parameters come back to the host after every step, since they are gathered from
        /// there; state is float32. Results equal one process on the same kind of device.
        /// </summary>
        public ShardedOptimizerBuilder UseOpenCl(Fused.Runtime.OpenCL.OpenClDevice device)
        {
            ArgumentNullException.ThrowIfNull(device);
            _device = b => b.UseOpenCl(device, ParameterDownload.EveryStep);
            _deviceName = "OpenCL";
            return this;
        }

        /// <summary>As <see cref="OptimizerBuilder.UseDevice"/> for each rank's engine (e.g. Fused.Ilgpu's backend), parameters back on the host after every step.</summary>
        public ShardedOptimizerBuilder UseDevice(string name, DeviceBackendFactory factory)
        {
            ArgumentNullException.ThrowIfNull(name);
            ArgumentNullException.ThrowIfNull(factory);
            _device = b => b.UseDevice(name, factory, ParameterDownload.EveryStep);
            _deviceName = name;
            return this;
        }

        /// <summary>
        /// Floats per staging buffer (default <see cref="DefaultStagingElements"/>): gradients and parameters are exchanged
        /// in rounds of at most this many elements over all owners, so staging stays bounded whatever the model size.
        /// Results do not depend on it.
        /// </summary>
        public ShardedOptimizerBuilder StagingElements(int elements)
        {
            if (elements < 1) throw new ArgumentOutOfRangeException(nameof(elements), elements, "must be positive");
            _stagingElements = elements;
            return this;
        }

        /// <summary>
        /// Collective. Checks the configuration is the same on every rank (a hash of it is exchanged; on a mismatch every
        /// rank throws an <see cref="OptimizerConfigurationException"/> naming the first rank that differs from rank 0 and
        /// the line that differs), routes the parameters, plans the shards and builds this rank's engine.
        /// </summary>
        public ShardedOptimizer Build()
        {
            if (_parameters.Count == 0) throw new OptimizerConfigurationException("no parameters registered");
            if (_routes.Count == 0) throw new OptimizerConfigurationException("no routes: add at least one Route(...)");
            var infos = BuildInfos();
            var groupOf = Resolve(infos);
            if (_deviceName != null)
            {
                var lowPrecision = _routes.Select(r => (r.Name, Options(r).Precision)).Where(r => r.Precision != StatePrecision.Float32).Select(r => $"'{r.Name}' ({r.Precision})").ToList();
                if (lowPrecision.Count > 0)
                    throw new OptimizerConfigurationException($"{_deviceName} engines keep float32 state; route(s) {string.Join(", ", lowPrecision)} ask for another precision: use State(StatePrecision.Float32) or the CPU");
            }
            ConfigurationCheck.Agree(_collectives, Describe(groupOf));
            var tensors = _parameters.Select((p, i) =>
            {
                var route = _routes[groupOf[i]];
                return new ShardTensor(p.Numel, ShardPlan.CanSplit(route.Rule.Schedule),
                    ShardPlan.CostOf(route.Rule.Schedule, p.Rows, p.Cols));
            }).ToArray();
            var plan = new ShardPlan(tensors, _collectives.Size);
            return new ShardedOptimizer(_collectives, plan, _parameters.ToArray(), _routes.ToArray(), groupOf, _clipNorm, _skipNonFinite, _seed, _threads, _stagingElements, _device, _allOrNothing);
        }

        private ParameterInfo[] BuildInfos()
            => _parameters.Select((p, i) => new ParameterInfo(p.Name, p.Shape, i)).ToArray();

        private int[] Resolve(ParameterInfo[] infos)
        {
            var groupOf = new int[infos.Length];
            var problems = new List<string>();
            for (int i = 0; i < infos.Length; i++)
            {
                var claimedBy = Enumerable.Range(0, _routes.Count).Where(r => _routes[r].Predicate(infos[i])).ToList();
                if (claimedBy.Count == 1) groupOf[i] = claimedBy[0];
                else if (claimedBy.Count == 0) problems.Add($"{infos[i]} is claimed by no route");
                else problems.Add($"{infos[i]} is claimed by more than one route ({string.Join(", ", claimedBy.Select(r => $"'{_routes[r].Name}'"))})");
            }
            if (problems.Count > 0) throw new OptimizerConfigurationException($"routing failed: {string.Join("; ", problems)}");
            return groupOf;
        }

        internal static GroupOptions Options(RouteSpec route)
        {
            var options = new GroupOptions(route.Rule);
            route.Configure?.Invoke(options);
            return options;
        }

        /// <summary>One line per fact every rank must agree on (floats as their bits, so 0.1 vs 0.1000001 is a difference).</summary>
        private List<string> Describe(int[] groupOf)
        {
            var c = CultureInfo.InvariantCulture;
            string F(double v) => v.ToString("R", c);
            string H(float v) => v.ToString("R", c); // float32 round-trip: 0.002, not its float64 expansion
            var lines = new List<string>
            {
                $"clip norm {F(_clipNorm)}",
                $"skip non-finite steps {_skipNonFinite}",
                $"seed {_seed}",
                $"device {_deviceName ?? "CPU"}",
                $"all-or-nothing steps {_allOrNothing}",
            };
            for (int r = 0; r < _routes.Count; r++)
            {
                var route = _routes[r];
                var options = Options(route);
                var hypers = route.Rule.Hyperparameters;
                var text = new StringBuilder($"route '{route.Name}': rule {route.Rule.Name} (IR hash {ConfigurationCheck.Hash(route.Rule.IrSource):x16}), {options.Precision} state");
                for (int h = 0; h < hypers.Count; h++)
                {
                    text.Append($", {hypers[h].Name}={H(options.Hypers[h])}");
                    var schedule = options.AbsoluteSchedules[h] ?? options.FactorSchedules[h];
                    if (schedule != null)
                        text.Append($" ({(options.AbsoluteSchedules[h] != null ? "schedule" : "factor")} {string.Join("/", new long[] { 1, 10, 100, 1000, 100000 }.Select(s => F(schedule.ValueAt(s))))} at steps 1/10/100/1000/100000)");
                }
                if (options.NewtonSchulz != null) text.Append($", Newton–Schulz {System.Text.Json.JsonSerializer.Serialize(options.NewtonSchulz)}");
                if (options.Shampoo != null) text.Append($", Shampoo {options.Shampoo}");
                lines.Add(text.ToString());
            }
            for (int i = 0; i < _parameters.Count; i++)
                lines.Add($"parameter '{_parameters[i].Name}' [{string.Join(", ", _parameters[i].Shape)}] → route '{_routes[groupOf[i]].Name}'");
            return lines;
        }
    }
}
