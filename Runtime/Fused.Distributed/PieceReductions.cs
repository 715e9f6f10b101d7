using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Engine;

namespace Fused.Distributed
{
    /// <summary>
    /// One group's <see cref="IReductionExchange"/> on one rank: for each tensor this rank steps only a piece of, its
    /// whole shape (for uniforms such as a mean's element count) and, for each pass with whole-tensor reductions, the
    /// whole tensor's block partials — gathered from the piece owners (consecutive ranks, pieces in rank order =
    /// block order, since pieces start on block boundaries) — so the executor folds exactly what one process folds.
    /// Each message carries one more value: whether its sender failed this step; then every owner still completes the
    /// gather (the message streams stay in step) and throws <see cref="PeerStepFailedException"/>. A rank whose step
    /// failed sends the exchanges it did not reach (<see cref="Drain"/>), so its peers never wait for it.
    /// </summary>
    internal sealed class PieceReductions : IReductionExchange
    {
        private const double Healthy = 0, Failed = 1;
        private const int TagRange = 32767; // MPI guarantees tags up to 32767; two ranks share at most one split tensor

        private readonly ICollectives _collectives;
        private readonly Piece?[] _pieces;        // per executor tensor; null when it is whole
        private readonly int[] _reductionsOfExchange; // reductions of the k-th pass that exchanges, in step order
        private double[] _send = Array.Empty<double>(), _received = Array.Empty<double>(), _whole = Array.Empty<double>();

        private sealed class Piece
        {
            public required int Tensor;               // the full parameter's index
            public required ShapeInfo Whole;
            public required int[] Owners;            // ranks, ascending
            public required long[] OwnerBlocks;      // blocks of each owner's piece
            public required int Me;                  // this rank's position in Owners
            public int Exchanged;                    // this step's exchanges so far
        }

        /// <param name="segments">The segment of each engine parameter (this rank's segments in registration order).</param>
        public PieceReductions(ICollectives collectives, KernelSchedule schedule, IReadOnlyList<ParameterInfo> members, IReadOnlyList<ShardSegment> segments,
            IReadOnlyList<ShardedOptimizerBuilder.Parameter> parameters, ShardPlan plan)
        {
            _collectives = collectives;
            _reductionsOfExchange = schedule.Steps.Where(s => s.Kind == StepKind.Pass).Select(s => schedule.Passes[s.Index])
                .Where(p => p.Reductions.Count > 0 && !p.RowWise).Select(p => p.Reductions.Count).ToArray();
            _pieces = members.Select(m =>
            {
                var segment = segments[m.Index];
                var full = parameters[segment.Tensor];
                if (segment.Count == full.Numel) return null;
                var owners = Enumerable.Range(0, plan.Ranks)
                    .Select(r => (Rank: r, Segment: plan.SegmentsOf(r).FirstOrDefault(s => s.Tensor == segment.Tensor && s.Count > 0)))
                    .Where(o => o.Segment.Count > 0).ToArray();
                return new Piece
                {
                    Tensor = segment.Tensor,
                    Whole = ShapeInfo.Matrix(full.Rows, full.Cols),
                    Owners = owners.Select(o => o.Rank).ToArray(),
                    OwnerBlocks = owners.Select(o => Reduction.BlockCount(o.Segment.Count)).ToArray(),
                    Me = Array.FindIndex(owners, o => o.Rank == collectives.Rank),
                };
            }).ToArray();
        }

        /// <summary>Whether any tensor of the group is a piece (otherwise the executor needs no exchange).</summary>
        public bool HasPieces => _pieces.Any(p => p != null);

        public ShapeInfo UniformShape(int tensor, ShapeInfo local) => _pieces[tensor]?.Whole ?? local;

        /// <summary>A new step: every piece exchanges once per reducing pass again.</summary>
        public void BeginStep()
        {
            foreach (var p in _pieces) if (p != null) p.Exchanged = 0;
        }

        public ReadOnlySpan<double> Complete(int tensor, ReadOnlySpan<double> partials, int reductions)
        {
            var piece = _pieces[tensor];
            if (piece == null) return partials;
            bool peerFailed = Gather(piece, partials, Healthy);
            if (peerFailed) throw new PeerStepFailedException();
            return _whole.AsSpan(0, checked((int)(piece.OwnerBlocks.Sum() * reductions)));
        }

        /// <summary>After this rank's step failed: the exchanges it did not reach, marked failed (values NaN), so no peer waits.</summary>
        public void Drain()
        {
            foreach (var piece in _pieces)
            {
                if (piece == null) continue;
                while (piece.Exchanged < _reductionsOfExchange.Length)
                {
                    int values = checked((int)(piece.OwnerBlocks[piece.Me] * _reductionsOfExchange[piece.Exchanged]));
                    Grow(ref _whole, values);
                    _whole.AsSpan(0, values).Fill(double.NaN);
                    Gather(piece, _whole.AsSpan(0, values), Failed);
                }
            }
        }

        /// <summary>Gathers every owner's partials (plus its status) into <see cref="_whole"/>; true when a peer failed.</summary>
        private bool Gather(Piece piece, ReadOnlySpan<double> partials, double status)
        {
            int R = _reductionsOfExchange[piece.Exchanged++];
            int owners = piece.Owners.Length;
            Span<int> counts = stackalloc int[owners];
            int total = 0;
            for (int i = 0; i < owners; i++) total += counts[i] = checked((int)(piece.OwnerBlocks[i] * R + 1));
            Grow(ref _send, counts[piece.Me]);
            Grow(ref _received, total);
            partials.CopyTo(_send);
            _send[partials.Length] = status;
            _collectives.GatherAmong(piece.Owners, piece.Tensor % TagRange, _send.AsSpan(0, counts[piece.Me]), _received, counts);
            Grow(ref _whole, total - owners);
            bool peerFailed = false;
            for (int i = 0, from = 0, to = 0; i < owners; i++)
            {
                int n = counts[i] - 1;
                _received.AsSpan(from, n).CopyTo(_whole.AsSpan(to));
                peerFailed |= i != piece.Me && _received[from + n] != Healthy;
                from += n + 1;
                to += n;
            }
            return peerFailed;
        }

        private static void Grow(ref double[] buffer, int length)
        {
            if (buffer.Length < length) buffer = new double[length];
        }
    }

    /// <summary>A peer sharing a tensor with this rank failed its step (this rank's step stops; the sharded optimizer names the rank).</summary>
    internal sealed class PeerStepFailedException : Exception
    {
        public PeerStepFailedException() : base("a rank sharing a tensor with this rank failed its step") { }
    }
}
