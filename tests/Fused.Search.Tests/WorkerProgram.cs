using System;
using System.Globalization;
using System.IO;
using System.Threading;
using Fused.Search.Evaluation;

namespace Fused.Search.Tests
{
    /// <summary>
    /// The test assembly's entry point, for child processes (the test runner never calls it):
    /// <c>dotnet Fused.Search.Tests.dll worker DB SEED GENERATIONS</c> runs the search the
    /// kill-and-resume test kills; <c>experiment ...</c> runs the figures (see <see cref="Experiments"/>).
    /// </summary>
    public static class WorkerProgram
    {
        public static int Main(string[] args)
        {
            if (args.Length >= 4 && args[0] == "worker")
            {
                var options = WorkerOptions(args[1], ulong.Parse(args[2], CultureInfo.InvariantCulture), long.Parse(args[3], CultureInfo.InvariantCulture));
                using var session = SearchSession.Open(options);
                session.Progress += p => Console.WriteLine("generation " + p.Generation);
                session.Run();
                return 0;
            }
            if (args.Length >= 5 && args[0] == "steady")
            {
                var options = SteadyOptions(args[1], ulong.Parse(args[2], CultureInfo.InvariantCulture), long.Parse(args[3], CultureInfo.InvariantCulture),
                    TimeSpan.FromSeconds(double.Parse(args[4], CultureInfo.InvariantCulture)));
                if (args.Length >= 7) options = options with { IslandDirectory = args[5], IslandName = args[6], Migrants = 3 };
                using var session = SearchSession.Open(options);
                Console.WriteLine("started");
                session.Run();
                return 0;
            }
            if (args.Length >= 1 && args[0] == "experiment") return Experiments.Run(args, Console.Out);
            if (args.Length >= 1 && args[0] == "campaign") return Experiments.Campaign(args, Console.Out);
            if (args.Length >= 1 && args[0] == "ranked") return Experiments.Ranked(args, Console.Out);
            if (args.Length >= 2 && args[0] == "metavalidate") return Experiments.MetaValidate(args, Console.Out);
            if (args.Length >= 1 && args[0] == "lrscan")
            {
                Experiments.LearningRateScan(Console.Out);
                return 0;
            }
            if (args.Length >= 1 && args[0] == "throughput")
            {
                Experiments.Throughput(Console.Out, args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : Environment.ProcessorCount);
                return 0;
            }
            Console.Error.WriteLine("usage: worker DB SEED GENERATIONS | steady DB SEED GENERATIONS LEASE_SECONDS [ISLAND_DIR ISLAND_NAME] | experiment [minutes] [db] [seed] [threads] | ranked [minutes] [db] [seed] [threads] [proxies] [promotion flags] | campaign MINUTES DB SEED THREADS PROXIES SCALE MUTANTS [--race-top K] [--race-seeds N] [--max-seeds M] [--validation-gate X | --no-validation-gate] | metavalidate DB [reduced|full] [threads] [mutants] [all|controls|quick|#ID|@FILE.ir|tune:I,J] [edges] | throughput [threads]");
            return 2;
        }

        /// <summary>The small search the kill-and-resume and reproducibility tests run.</summary>
        public static SearchOptions WorkerOptions(string db, ulong seed, long generations) => new SearchOptions
        {
            DatabasePath = db,
            Seed = seed,
            MaxGenerations = generations,
            PopulationSize = 12,
            TournamentSize = 4,
            BatchSize = 6,
            RestartAfter = 25,
            Proxies = ProxySuiteKind.Tiny,
            Threads = 2,
            Mode = SearchMode.Generational, // replays exactly
        };

        /// <summary>The steady-state search the worker-process tests run (one thread per process; ranked, so an evaluation takes a moment).</summary>
        public static SearchOptions SteadyOptions(string db, ulong seed, long generations, TimeSpan lease) => new SearchOptions
        {
            DatabasePath = db,
            Seed = seed,
            MaxGenerations = generations,
            PopulationSize = 8,
            TournamentSize = 3,
            Proxies = ProxySuiteKind.TinyRanked,
            Threads = 1,
            Mode = SearchMode.SteadyState,
            ChildLease = lease,
        };
    }
}
