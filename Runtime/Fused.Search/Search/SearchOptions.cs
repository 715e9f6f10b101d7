using System;
using Fused.Ir;
using Fused.Search.Evaluation;
using Fused.Search.Mutation;

namespace Fused.Search
{
    /// <summary>How children are made and admitted (stored with the search).</summary>
    public enum SearchMode
    {
        /// <summary>
        /// Asynchronous steady-state evolution (<see cref="SteadyStateEvolution"/>): each worker takes a parent by tournament,
        /// evaluates one child, admits it and retires the oldest, with no generation barrier; any number of processes may
        /// work on one database. Lineage replays (each child's parent and mutation seed are stored); the order children
        /// finish in does not.
        /// </summary>
        SteadyState,
        /// <summary>Generations of <see cref="SearchOptions.BatchSize"/> children behind a barrier, one process per database; a run replays exactly.</summary>
        Generational,
    }

    /// <summary>
    /// How a search runs. The settings that shape the search (seed, sizes, proxies, warm start) are
    /// stored in the database on creation and reused on resume; budget, generation limit and threads
    /// belong to one run.
    /// </summary>
    public sealed record SearchOptions
    {
        public string DatabasePath { get; init; } = "search.db";

        /// <summary>Wall-clock budget of this run (null: until MaxGenerations or cancellation).</summary>
        public TimeSpan? TimeBudget { get; init; }

        /// <summary>Stop once this many generations are committed in total (null: no limit).</summary>
        public long? MaxGenerations { get; init; }

        public int PopulationSize { get; init; } = 24;
        public int TournamentSize { get; init; } = 6;

        /// <summary>Generational: children per generation, evaluated in parallel (not tied to the core count, so runs reproduce anywhere).</summary>
        public int BatchSize { get; init; } = 8;

        public ulong Seed { get; init; } = 1;

        public SearchMode Mode { get; init; } = SearchMode.SteadyState;

        /// <summary>Island mode (steady state): the shared directory islands exchange their top programs through (null: no islands).</summary>
        public string? IslandDirectory { get; init; }

        /// <summary>This island's name in <see cref="IslandDirectory"/> (default: the database's file name and this host's name).</summary>
        public string? IslandName { get; init; }

        /// <summary>How many of its top programs an island exports.</summary>
        public int Migrants { get; init; } = 5;

        /// <summary>Children this process admits between exchanges (0: one population's worth).</summary>
        public int MigrationInterval { get; init; }

        /// <summary>Steady state: how long a worker's claim on a child lasts unless renewed (every third of it); a killed worker's child is retaken after it.</summary>
        public TimeSpan ChildLease { get; init; } = TimeSpan.FromSeconds(60);

        public ProxySuiteKind Proxies { get; init; } = ProxySuiteKind.Standard;

        /// <summary>Where the Fashion-MNIST IDX files are (default /usr/share/datasets/fashion-mnist).</summary>
        public string? FashionMnistDirectory { get; init; }

        public int Threads { get; init; } = Environment.ProcessorCount;

        /// <summary>Generational: restart from the best program after this many generations without improvement (0: never).</summary>
        public int RestartAfter { get; init; } = 60;

        public SearchLimits Limits { get; init; } = SearchLimits.Default;

        /// <summary>The program the population starts from (default AdamW).</summary>
        public RuleProgram? WarmStart { get; init; }

        /// <summary>
        /// Ranked suites: read every program's β2 and weight decay relative to AdamW tuned on each task, so the AdamW warm
        /// start scores 0 against tuned AdamW instead of starting behind (<see cref="Evaluation.SpeedupScorer.TaskHypers"/>).
        /// </summary>
        public bool FairStart { get; init; } = true;

        /// <summary>
        /// Ranked suites: AdamW's weight decay and β2 grids are extended past an edge its tuning ends on, as its lr grid is
        /// (<see cref="Evaluation.SpeedupScorer.ExtendEdges"/>), so a program cannot win by using a decay or β2 the reference
        /// was not allowed (run 8's autoencoder win was AdamW's grid edge). Stored as meta <c>baseline_grid</c> =
        /// <c>extended</c> or <c>fixed</c>; databases from before it have none and keep the fixed grid.
        /// </summary>
        public bool ExtendBaselineEdges { get; init; } = true;

        /// <summary>
        /// Steady-state ranked searches: racing into the top k on fresh seeds and the validation gate before a program can become
        /// the best (<see cref="Promotion"/>; stored with the search; default <see cref="PromotionSettings.Default"/>).
        /// </summary>
        public PromotionSettings Promotion { get; init; } = PromotionSettings.Default;

        /// <summary>The rule scores are relative to (default AdamW).</summary>
        public RuleProgram? Reference { get; init; }
    }

    /// <summary>A progress report, sent after every committed generation.</summary>
    public sealed record SearchProgress(
        long Generation,
        double BestFitness,
        long BestProgramId,
        long Evaluations,
        long Children,
        double EvaluationsPerSecond,
        double EquivalentShare,
        TimeSpan Elapsed,
        bool Restarted);

    /// <summary>How a run ended.</summary>
    public sealed record SearchResult(
        Storage.ProgramRecord? Best,
        RuleProgram? BestProgram,
        long Generations,
        long Evaluations,
        long EvaluationsThisRun,
        bool Cancelled,
        TimeSpan Elapsed);
}
