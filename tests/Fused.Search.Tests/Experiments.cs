using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Fused.Search.Export;
using Fused.Search.Mutation;

namespace Fused.Search.Tests
{
    /// <summary>
    /// The figures (an experiment, not a test): evaluation throughput on the cheapest proxy, and a
    /// short rediscovery run from AdamW whose best program is compared with AdamW and Lion on the
    /// held-out tasks, all tuned on the same learning-rate grid.
    /// <c>dotnet Fused.Search.Tests.dll experiment [minutes] [db] [seed] [threads]</c>
    /// </summary>
    public static class Experiments
    {
        public static int Run(string[] args, TextWriter output)
        {
            double minutes = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
            string db = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "fused-rediscovery.db");
            ulong seed = args.Length > 3 ? ulong.Parse(args[3], CultureInfo.InvariantCulture) : 1;
            int threads = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : Environment.ProcessorCount;

            Throughput(output, threads);

            output.WriteLine($"\n== rediscovery: {minutes} min from AdamW, Standard proxies, seed {seed}, {threads} threads, db {db}");
            var options = new SearchOptions
            {
                DatabasePath = db, Seed = seed, TimeBudget = TimeSpan.FromMinutes(minutes), Threads = threads,
                Proxies = ProxySuiteKind.Standard, PopulationSize = 32, TournamentSize = 8, BatchSize = 8, RestartAfter = 60,
            };
            SearchCommandRunner.Run(output, options, CancellationToken.None);

            using var session = SearchSession.Resume(db, maxGenerations: 0);
            var best = session.Database.Best()!;
            var bestProgram = IrText.Parse(best.Ir);
            var grid = new[] { -1.0, -0.5, 0.0, 0.5, 1.0 }.Select(e => Math.Pow(10, e)).ToArray();
            output.WriteLine("\n== held-out meta-validation (never used for selection); lr grid ×{0.1, 0.32, 1, 3.2, 10} of each task's base; score = log10(AdamW loss / loss)");
            foreach (var (name, program) in new[] { ("AdamW", WarmStarts.AdamW()), ("Lion", WarmStarts.Lion()), ($"found #{best.Id}", bestProgram) })
            {
                var outcomes = session.Funnel.EvaluateHeldOut(ProgramNormalizer.Run(program), grid, CancellationToken.None);
                output.WriteLine($"{name,-12} mean score {outcomes.Average(o => o.Score),7:F3}");
                foreach (var o in outcomes)
                    output.WriteLine(string.Format(CultureInfo.InvariantCulture, "    {0,-48} loss {1,12:G5} at lr {2,-9:G3} score {3,7:F3}", o.Task, o.Loss, o.LearningRate, o.Score));
            }
            output.WriteLine("\nselection fitness of Lion for comparison: " +
                session.Funnel.Evaluate(ProgramNormalizer.Run(WarmStarts.Lion()), CancellationToken.None).Fitness.ToString("F4", CultureInfo.InvariantCulture));
            return 0;
        }

        private static string LoadAverage()
        {
            try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
            catch (IOException) { return "unknown"; }
            catch (UnauthorizedAccessException) { return "unknown"; }
        }

        /// <summary>Loss of AdamW and Lion over a wide learning-rate scan on every task: how the grids and bases were chosen.</summary>
        public static void LearningRateScan(TextWriter output)
        {
            var suite = ProxySuite.Create(ProxySuiteKind.Standard);
            var tasks = suite.Stages.SelectMany(s => s.Tasks).Concat(suite.HeldOut).ToList();
            var factors = new[] { -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0 }.Select(e => Math.Pow(10, e)).ToArray();
            foreach (var (name, program) in new[] { ("AdamW", WarmStarts.AdamW()), ("Lion", WarmStarts.Lion()) })
            {
                var rule = new InterpretedRule(ProgramNormalizer.Run(program));
                foreach (var task in tasks)
                {
                    var losses = factors.Select(f => EvaluationFunnel.BestLoss(rule, task, new[] { f }, CancellationToken.None).loss);
                    output.WriteLine($"{name,-6} {task.Name,-48} base {task.BaseLearningRate,-6:G3} " +
                        string.Join(" ", factors.Zip(losses, (f, l) => $"{f:G2}:{l:G3}")));
                }
            }
        }

        /// <summary>Evaluations per second of the cheapest stage (quadratic + Rosenbrock, 3 learning rates each).</summary>
        public static void Throughput(TextWriter output, int threads)
        {
            var suite = ProxySuite.Create(ProxySuiteKind.Cheap);
            var funnel = new EvaluationFunnel(suite, WarmStarts.AdamW());
            foreach (var t in suite.Stages[0].Tasks) funnel.Baseline(t);
            var programs = TestSupport.MutatedPrograms(800, 1234);
            // Warm the JIT.
            foreach (var p in programs.Take(20)) funnel.Evaluate(p, CancellationToken.None);
            var clock = Stopwatch.StartNew();
            int count = 0;
            Parallel.ForEach(programs, new ParallelOptions { MaxDegreeOfParallelism = threads }, p =>
            {
                funnel.Evaluate(p, CancellationToken.None);
                Interlocked.Increment(ref count);
            });
            double rate = count / clock.Elapsed.TotalSeconds;
            // The whole loop (mutation + normalization + functional hash) without evaluation, for reference.
            clock.Restart();
            var mutator = new ProgramMutator();
            var rng = new SearchRandom(5);
            var start = ProgramNormalizer.Run(WarmStarts.AdamW());
            int made = 0;
            while (clock.Elapsed.TotalSeconds < 2)
            {
                var c = mutator.Mutate(start, rng.Fork()).Program;
                FunctionalHash.Compute(new InterpretedRule(c));
                made++;
            }
            double mutationRate = made / clock.Elapsed.TotalSeconds;
            output.WriteLine($"== throughput: {rate:F0} evaluations/s on the cheapest stage ({string.Join(" + ", suite.Stages[0].Tasks.Select(t => t.Name))}, {funnel.LearningRateFactors.Count} learning rates each) with {threads} threads, load average {LoadAverage()}; " +
                $"{mutationRate:F0} mutations+hashes/s on one thread");
        }
    }
}
