using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;

namespace Fused.Search
{
    /// <summary>
    /// How a ranked candidate earns a place at the top (stored with a steady-state search). Run 6's winner won on its
    /// 2 ranking tasks × 3 seeds and lost on every held-out task: with hundreds of candidates, the top of the
    /// population is where noise and overfitting collect, so that is where the extra measurement goes.
    /// </summary>
    /// <param name="RaceTop">A candidate whose fitness would enter the population's top <c>RaceTop</c> gets fresh seeds.</param>
    /// <param name="RaceSeeds">Fresh seeds added per racing round (while it still enters the top).</param>
    /// <param name="MaxSeeds">Seeds a candidate is scored on at most, selection seeds included.</param>
    /// <param name="ValidationGate">
    /// A would-be best's validation fitness (mean − ½·SE of log2 speedup over tuned AdamW on the suite's validation tasks
    /// and seeds) must reach this, or it is refused: stored at min(selection, validation) fitness. Null: no gate.
    /// </param>
    public sealed record PromotionSettings(int RaceTop, int RaceSeeds, int MaxSeeds, double? ValidationGate)
    {
        /// <summary>Run 7's defaults: race into the top 5 with 3 fresh seeds a round up to 9 seeds, gate at −0.05.</summary>
        public static readonly PromotionSettings Default = new PromotionSettings(5, 3, 9, -0.05);

        /// <summary>Databases from before run 7: only a would-be best (top 1) is confirmed, on 3 fresh seeds, and nothing gates.</summary>
        public static readonly PromotionSettings Legacy = new PromotionSettings(1, 3, 6, null);
    }

    /// <summary>What promotion made of a ranked candidate: its fitness to store, the (raced) selection score, and the validation score if it was gated.</summary>
    public sealed record PromotionOutcome(double Fitness, RankedScore Selection, RankedScore? Validation, bool Refused);

    /// <summary>
    /// Racing, then the validation gate. Racing: while a candidate's fitness would enter the population's top k it gets
    /// <see cref="PromotionSettings.RaceSeeds"/> more fresh instances (at the learning rates chosen on the selection seeds) up to
    /// <see cref="PromotionSettings.MaxSeeds"/>, its fitness being mean − ½·SE over all of them — everything below the top keeps
    /// its 3 seeds, so the cost goes where the winner's curse is. Gate: a candidate that would become the incumbent best is scored
    /// on the validation tasks (never ranked on; its peak lr tuned there around AdamW's × the geometric mean of its ranking
    /// factors) and refused when that fitness is below the gate.
    /// </summary>
    public sealed class Promotion
    {
        private readonly SpeedupScorer _selection;
        private readonly SpeedupScorer? _validation;

        public Promotion(SpeedupScorer selection, SpeedupScorer? validation, PromotionSettings settings)
        {
            _selection = selection;
            _validation = validation;
            Settings = settings;
        }

        public PromotionSettings Settings { get; }

        /// <summary>Whether a gate applies (the suite has validation tasks and the search has a gate).</summary>
        public bool Gates => _validation != null && Settings.ValidationGate.HasValue;

        /// <summary>The validation tasks' scorer (null: the suite has none).</summary>
        public SpeedupScorer? Validation => _validation;

        /// <summary>The fitness a candidate must beat to enter the top k of <paramref name="population"/> (−∞ while it has fewer than k).</summary>
        public double TopEntry(IEnumerable<double> population)
        {
            var top = population.OrderByDescending(f => f).Take(Settings.RaceTop).ToList();
            return top.Count < Settings.RaceTop ? double.NegativeInfinity : top[^1];
        }

        /// <param name="freshSeeds">The candidate's fresh instances in the order racing uses them (e.g. <see cref="SearchSession.FreshSeeds"/>).</param>
        /// <param name="topEntry">From <see cref="TopEntry"/>.</param>
        /// <param name="incumbent">The best fitness stored so far; only a candidate above it is gated.</param>
        public PromotionOutcome Decide(RuleProgram program, RankedScore score, IReadOnlyList<ulong> freshSeeds, double topEntry, double incumbent, CancellationToken ct)
        {
            var rule = new InterpretedRule(program);
            int used = 0;
            while (score.Fitness > topEntry && score.PerSeed.Count < Settings.MaxSeeds && used < freshSeeds.Count)
            {
                int take = Math.Min(Math.Min(Settings.RaceSeeds, Settings.MaxSeeds - score.PerSeed.Count), freshSeeds.Count - used);
                score = _selection.Extend(rule, score, freshSeeds.Skip(used).Take(take).ToArray(), ct);
                used += take;
            }
            if (score.Fitness <= incumbent || !Gates) return new PromotionOutcome(score.Fitness, score, null, false);
            var validation = ValidationScore(rule, score, ct);
            // The mean over tasks must pass, and no one task may fall below meta-validation's floor: run 7's winner passed on
            // the mean (+0.25) and then lost every seed of the larger-vocabulary held-out token model.
            double worstTask = validation.Tasks.Min(t => t.Speedups.Average());
            bool refused = validation.Fitness < Settings.ValidationGate!.Value || worstTask < MetaResult.TaskFloor;
            return new PromotionOutcome(refused ? Math.Min(score.Fitness, Math.Min(validation.Fitness, worstTask)) : score.Fitness, score, validation, refused);
        }

        /// <summary>The candidate on the validation tasks and seeds, its lr tuned there around AdamW's × its ranking factors' geometric mean.</summary>
        public RankedScore ValidationScore(FusedRule rule, RankedScore selection, CancellationToken ct)
        {
            if (_validation == null) throw new InvalidOperationException("the suite has no validation tasks");
            var factors = selection.Tasks.Select(t => t.Factor).Where(f => f > 0 && double.IsFinite(f)).ToList();
            double factor = factors.Count == 0 ? 1 : Math.Exp(factors.Average(Math.Log));
            return _validation.Score(rule, _validation.Tasks.ToDictionary(t => t.Name, _ => factor), ct);
        }

        /// <summary>The meta key a gated candidate's record lives under: "selection;validation;seeds;refused" (see <see cref="Describe"/>).</summary>
        public static string MetaKey(string functionalHash) => "validation:" + functionalHash;

        /// <summary>A stored record (<see cref="MetaKey"/>) in words; null: the program was never a would-be best, so never gated.</summary>
        public static string Summarise(string? record)
        {
            if (record == null) return "not gated (never a would-be best)";
            var f = record.Split(';');
            string F(string v) => double.Parse(v, CultureInfo.InvariantCulture).ToString("F4", CultureInfo.InvariantCulture);
            return $"selection {F(f[0])} on {f[2]} seeds, validation {F(f[1])} ({f[3]})";
        }

        public static string Describe(PromotionOutcome o) => string.Join(";",
            Storage.SearchDatabase.Format(o.Selection.Fitness), Storage.SearchDatabase.Format(o.Validation!.Fitness),
            o.Selection.PerSeed.Count.ToString(CultureInfo.InvariantCulture), o.Refused ? "refused" : "passed");
    }
}
