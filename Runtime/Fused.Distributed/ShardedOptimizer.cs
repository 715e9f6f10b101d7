using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Engine;

namespace Fused.Distributed
{
    /// <summary>
    /// ZeRO-1 over <see cref="ICollectives"/>: every rank holds the full parameters and gradients, but optimizer state
    /// only for its segments (<see cref="ShardPlan"/>). A <see cref="Step"/> is: the gradients averaged over ranks, each
    /// owner receiving its segments (an all-to-all of the segments, summed in rank order, divided by the rank count —
    /// exactly what <see cref="FusedOptimizer.AccumulateGradients"/> computes over the same micro-batches in one
    /// process); this rank's <see cref="FusedOptimizer"/> — the engine with the same generated kernels and executor —
    /// steps its segments, with the global gradient norm completed over every rank from per-block partials in the
    /// canonical order (so clipping and skip-on-non-finite agree everywhere and equal one process); then the parameters
    /// are gathered from their owners. Results equal one process bit for bit (see docs/distributed.md).
    /// </summary>
    /// <remarks>Not thread-safe; every rank calls <see cref="Step"/> (and every other collective member) in the same order.</remarks>
    public sealed partial class ShardedOptimizer : IDisposable
    {
        private readonly ICollectives _collectives;
        private readonly ShardedOptimizerBuilder.Parameter[] _parameters;
        private readonly ShardSegment[][] _segments;       // per rank
        private readonly FusedOptimizer? _engine;           // null when this rank owns nothing (set once, in the constructor)
        private readonly int[] _sizes;                      // elements per rank
        private readonly int _rounds;                       // exchange rounds: the largest owner's elements, _window at a time
        private readonly float[] _send, _receive;           // staging of one exchange round: at most Size × _window floats each
        private readonly int _window;                       // elements per owner per round
        private readonly int[] _counts, _receiveCounts;
        private readonly double[] _globalBlocks;
        private readonly long[] _firstBlock;                // first global norm block of each parameter
        private readonly double[] _fold;
        private readonly double _clipNorm;
        private readonly bool _skipNonFinite;
        private readonly long[] _failed;
        private readonly List<PieceReductions> _pieceReductions = new List<PieceReductions>(); // groups with pieces of tensors

        internal ShardedOptimizer(ICollectives collectives, ShardPlan plan, ShardedOptimizerBuilder.Parameter[] parameters,
            ShardedOptimizerBuilder.RouteSpec[] routes, int[] groupOf, double clipNorm, bool skipNonFinite, ulong seed, int threads, int stagingElements,
            Action<OptimizerBuilder>? device, bool allOrNothing)
        {
            _collectives = collectives;
            Plan = plan;
            _parameters = parameters;
            _clipNorm = clipNorm;
            _skipNonFinite = skipNonFinite;
            IndexParameters = parameters.Select((p, i) => new ShardedCheckpoint.IndexParameter(p.Name, p.Shape.Select(d => (long)d).ToArray(), routes[groupOf[i]].Name)).ToArray();
            int N = collectives.Size, me = collectives.Rank;
            _segments = Enumerable.Range(0, N).Select(r => plan.SegmentsOf(r).ToArray()).ToArray();
            _sizes = plan.Sizes.Select(s => checked((int)s)).ToArray();
            // Rounds of at most _window elements per owner bound the staging to about 2 × stagingElements floats.
            _window = (int)Math.Max(1, Math.Min(_sizes.Max(), stagingElements / N));
            _rounds = (int)((_sizes.Max() + (long)_window - 1) / _window);
            _send = new float[(long)N * _window];
            _receive = new float[(long)N * _window];
            _counts = new int[N];
            _receiveCounts = new int[N];
            _failed = new long[N];

            _firstBlock = new long[parameters.Length];
            long blocks = 0;
            int maxBlocks = 1;
            for (int p = 0; p < parameters.Length; p++)
            {
                _firstBlock[p] = blocks;
                long b = Reduction.BlockCount(parameters[p].Numel);
                blocks += b;
                maxBlocks = (int)Math.Max(maxBlocks, b);
            }
            _globalBlocks = new double[blocks];
            _fold = new double[maxBlocks];

            // Every rank learns whether every engine was built (a device may fail on one rank only), so none goes on alone.
            Exception? failure = null;
            try
            {
                if (_segments[me].Length > 0) _engine = BuildEngine(_segments[me], parameters, routes, groupOf, clipNorm, skipNonFinite, seed, threads, device, allOrNothing);
            }
            catch (Exception e)
            {
                failure = e;
            }
            try
            {
                AgreeOrThrow(failure, "building the ranks' engines", "built nothing");
            }
            catch
            {
                _engine?.Dispose();
                throw;
            }
        }

        /// <summary>This rank's engine over its segments: each a tensor of its own, with its full parameter's random stream and whole-tensor reductions completed by <see cref="PieceReductions"/>.</summary>
        private FusedOptimizer BuildEngine(ShardSegment[] mine, ShardedOptimizerBuilder.Parameter[] parameters, ShardedOptimizerBuilder.RouteSpec[] routes, int[] groupOf,
            double clipNorm, bool skipNonFinite, ulong seed, int threads, Action<OptimizerBuilder>? device, bool allOrNothing)
        {
            var ruleOf = routes.ToDictionary(r => r.Name, r => r.Rule, StringComparer.Ordinal);
            var builder = new OptimizerBuilder().Seed(seed).Threads(threads).SkipNonFiniteSteps(skipNonFinite).GradientNormTotal(GlobalSquares)
                .ReductionExchange((group, members) =>
                {
                    var pieces = new PieceReductions(_collectives, ruleOf[group].Schedule, members, mine, parameters, Plan);
                    if (!pieces.HasPieces) return null;
                    _pieceReductions.Add(pieces);
                    return pieces;
                });
            if (double.IsFinite(clipNorm)) builder.ClipGlobalNorm(clipNorm);
            device?.Invoke(builder);
            if (WorldSize > 1 && allOrNothing) builder.HoldSteps(); // all or nothing across ranks: undone in Step when another rank fails
            var groupOfShard = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var s in mine)
            {
                var p = parameters[s.Tensor];
                bool whole = s.Count == p.Numel;
                string name = whole ? p.Name : SegmentName(p.Name, s);
                builder.AddParameter(name, whole ? p.Shape : new[] { checked((int)s.Count) },
                    p.Value.Slice(checked((int)s.Start), (int)s.Count), p.Gradient.Slice(checked((int)s.Start), (int)s.Count), randomStream: s.Tensor, randomOffset: s.Start);
                groupOfShard[name] = groupOf[s.Tensor];
            }
            for (int r = 0; r < routes.Length; r++)
            {
                int route = r;
                if (!groupOfShard.ContainsValue(route)) continue;
                builder.Route(routes[r].Name, info => groupOfShard[info.Name] == route, routes[r].Rule, routes[r].Configure);
            }
            return builder.Build();
        }

        /// <summary>The name of a segment's tensor in this rank's engine and shard checkpoint: <c>name[start:end]</c>.</summary>
        public static string SegmentName(string parameter, ShardSegment s) => $"{parameter}[{s.Start}:{s.End}]";

        /// <summary>The shard plan (the same on every rank).</summary>
        public ShardPlan Plan { get; }

        /// <summary>This rank's engine over its segments (null when it owns none).</summary>
        public FusedOptimizer? Engine => _engine;

        public int Rank => _collectives.Rank;

        public int WorldSize => _collectives.Size;

        /// <summary>Applied steps so far (the same on every rank).</summary>
        public long StepCount { get; private set; }

        /// <summary>The full parameters, in registration order, with the route each went to (what a checkpoint index names).</summary>
        internal IReadOnlyList<ShardedCheckpoint.IndexParameter> IndexParameters { get; }

        /// <summary>Steps every rank skipped because the averaged gradient held NaN/Inf somewhere.</summary>
        public long SkippedSteps { get; private set; }

        /// <summary>Where the last <see cref="Step"/> spent its time: averaging the gradients, this rank's engine step (with the norm's exchange, and waiting for the slowest rank), gathering the parameters.</summary>
        public (double Average, double Step, double Gather) LastStepSeconds { get; private set; }

        /// <summary>Bytes this rank has sent through the collectives so far (modelled payload; see <see cref="ICollectives.BytesSent"/>).</summary>
        public long BytesSent => _collectives.BytesSent;

        /// <summary>
        /// Collective. Averages the gradients over ranks (this rank's segments of its gradient buffers then hold the mean;
        /// the rest keep the local values), steps this rank's segments and gathers every parameter from its owner.
        /// </summary>
        /// <remarks>
        /// All or nothing across ranks: when any rank's step fails, every rank puts back what its engine wrote for this
        /// step (parameters and state of its segments), so on every rank the whole model is as before the step and
        /// <see cref="StepCount"/> does not advance; training can go on with the next gradients.
        /// </remarks>
        /// <exception cref="OptimizerStepException">This rank's step failed (everything restored, on every rank).</exception>
        /// <exception cref="ShardedStepException">Another rank's step failed (everything restored, on every rank).</exception>
        public StepResult Step()
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            AverageGradients();
            long averaged = System.Diagnostics.Stopwatch.GetTimestamp();
            StepResult result;
            Exception? failure = null;
            foreach (var pieces in _pieceReductions) pieces.BeginStep();
            try
            {
                result = _engine != null ? _engine.Step() : StepWithoutSegments();
            }
            catch (Exception e)
            {
                // Peers still waiting for this rank's partials get them, marked failed; a step stopped only because a peer
                // failed is not this rank's failure (the agreement below names the rank that failed).
                foreach (var pieces in _pieceReductions) pieces.Drain();
                failure = CausedByPeer(e) ? null : e;
                result = default;
            }
            try
            {
                AgreeOrThrow(failure, $"step {StepCount + 1}", "restored its segments: the whole model is as before the step");
            }
            catch
            {
                _engine?.RollbackHeldStep(); // this rank's step succeeded (or stopped for a peer): put back what it wrote
                throw;
            }
            _engine?.CommitHeldStep();
            long stepped = System.Diagnostics.Stopwatch.GetTimestamp();
            if (result.Status == StepStatus.Applied)
            {
                GatherParameters();
                StepCount++;
            }
            else SkippedSteps++;
            long end = System.Diagnostics.Stopwatch.GetTimestamp();
            double f = 1.0 / System.Diagnostics.Stopwatch.Frequency;
            LastStepSeconds = ((averaged - start) * f, (stepped - averaged) * f, (end - stepped) * f);
            return result;
        }

        /// <summary>
        /// Collective: every rank says whether its part of <paramref name="what"/> failed. A rank that failed rethrows its
        /// own exception; the others throw a <see cref="ShardedStepException"/> naming the failed ranks — so no rank goes
        /// on to a collective the others never reach.
        /// </summary>
        private void AgreeOrThrow(Exception? failure, string what, string consequence)
        {
            _collectives.AllGather(failure == null ? 0 : 1, _failed);
            bool anyFailed = false;
            foreach (long f in _failed) anyFailed |= f != 0;
            if (!anyFailed) return;
            if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
            var ranks = Enumerable.Range(0, WorldSize).Where(r => _failed[r] != 0);
            throw new ShardedStepException($"{what} failed on rank(s) {string.Join(", ", ranks)}; rank {Rank} {consequence}");
        }

        private static bool CausedByPeer(Exception e)
        {
            for (Exception? x = e; x != null; x = x.InnerException)
                if (x is PeerStepFailedException) return true;
            return false;
        }

        /// <summary>A rank without segments still takes part in the global norm and decides as every other rank does.</summary>
        private StepResult StepWithoutSegments()
        {
            if (!_skipNonFinite && !double.IsFinite(_clipNorm)) return new StepResult(StepStatus.Applied, StepCount + 1, double.NaN, 1f);
            double total = GlobalSquares(ReadOnlySpan<double>.Empty);
            double norm = Math.Sqrt(total);
            if (_skipNonFinite && !double.IsFinite(total)) return new StepResult(StepStatus.SkippedNonFiniteGradient, StepCount, norm, 1f);
            float scale = norm > _clipNorm ? (float)(_clipNorm / (norm + 1e-6)) : 1f;
            return new StepResult(StepStatus.Applied, StepCount + 1, norm, scale);
        }

        /// <summary>
        /// The engine's hook: this rank's per-block squares (its segments, in order) placed at their global blocks
        /// (segments start on block boundaries), summed over ranks — each block has one owner, so the sum is exact — and
        /// folded per parameter in the canonical order, parameters in registration order, as one process does.
        /// </summary>
        private double GlobalSquares(ReadOnlySpan<double> local)
        {
            Array.Clear(_globalBlocks);
            int at = 0;
            foreach (var s in _segments[Rank])
            {
                int blocks = (int)Reduction.BlockCount(s.Count);
                local.Slice(at, blocks).CopyTo(_globalBlocks.AsSpan((int)(_firstBlock[s.Tensor] + s.Start / Reduction.BlockSize), blocks));
                at += blocks;
            }
            _collectives.AllReduceSum(_globalBlocks);
            double total = 0;
            for (int p = 0; p < _parameters.Length; p++)
            {
                int blocks = (int)Reduction.BlockCount(_parameters[p].Numel);
                Array.Copy(_globalBlocks, _firstBlock[p], _fold, 0, blocks);
                total += Reduction.FoldBlocks(_fold.AsSpan(0, blocks), max: false);
            }
            return total;
        }


        /// <summary>Elements of rank <paramref name="rank"/>'s packed range (its segments end to end) in round <paramref name="round"/>.</summary>
        private int WindowOf(int rank, int round) => (int)Math.Clamp(_sizes[rank] - (long)round * _window, 0, _window);

        /// <summary>Copies rank <paramref name="rank"/>'s packed elements [from, from + packed.Length) out of (or into) the full gradients or parameters.</summary>
        private void Pack(int rank, long from, Span<float> packed, bool gradients, bool unpack)
        {
            long at = 0, end = from + packed.Length;
            foreach (var s in _segments[rank])
            {
                long lo = Math.Max(from, at), hi = Math.Min(end, at + s.Count);
                if (lo < hi)
                {
                    var p = _parameters[s.Tensor];
                    var full = (gradients ? p.Gradient : p.Value).Span.Slice((int)(s.Start + lo - at), (int)(hi - lo));
                    var part = packed.Slice((int)(lo - from), (int)(hi - lo));
                    if (unpack) part.CopyTo(full); else full.CopyTo(part);
                }
                at += s.Count;
                if (at >= end) break;
            }
        }

        private void AverageGradients()
        {
            if (WorldSize == 1) return; // one rank: its gradients are the mean, and it owns everything
            int N = WorldSize, me = Rank;
            float count = N;
            for (int round = 0; round < _rounds; round++)
            {
                long from = (long)round * _window;
                int at = 0;
                for (int r = 0; r < N; r++)
                {
                    _counts[r] = WindowOf(r, round);
                    Pack(r, from, _send.AsSpan(at, _counts[r]), gradients: true, unpack: false);
                    at += _counts[r];
                }
                int mine = _counts[me];
                Array.Fill(_receiveCounts, mine);
                _collectives.AllToAllV(_send, _counts, _receive, _receiveCounts);
                // Rank order, then one division: FusedOptimizer.AccumulateGradients' Copy, Add..., Divide over the same micro-batches.
                var mean = _receive.AsSpan(0, mine);
                for (int r = 1; r < N; r++) GradientArithmetic.AddInto(mean, _receive.AsSpan(r * mine, mine));
                if (N > 1) GradientArithmetic.Divide(mean, count);
                Pack(me, from, mean, gradients: true, unpack: true);
            }
        }

        private void GatherParameters()
        {
            if (WorldSize == 1) return;
            int N = WorldSize, me = Rank;
            for (int round = 0; round < _rounds; round++)
            {
                long from = (long)round * _window;
                for (int r = 0; r < N; r++) _counts[r] = WindowOf(r, round);
                Pack(me, from, _send.AsSpan(0, _counts[me]), gradients: false, unpack: false);
                _collectives.AllGatherV(_send.AsSpan(0, _counts[me]), _receive, _counts);
                int at = 0;
                for (int r = 0; r < N; r++)
                {
                    if (r != me) Pack(r, from, _receive.AsSpan(at, _counts[r]), gradients: false, unpack: true);
                    at += _counts[r];
                }
            }
        }

        /// <summary>Disposes this rank's engine (MPI itself stays up: the caller owns the collectives).</summary>
        public void Dispose() => _engine?.Dispose();
    }

    /// <summary>Another rank's step failed, so this rank's step could not complete (the message names the ranks).</summary>
    public sealed class ShardedStepException : Exception
    {
        public ShardedStepException(string message) : base(message) { }
    }
}
