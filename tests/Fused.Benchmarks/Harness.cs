using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;

namespace Fused.Benchmarks
{
    /// <summary>
    /// A small, careful timing harness: warm-up, then repeated runs until a time budget is spent,
    /// reporting the median (robust to a preempted run) and the spread. Not a unit test.
    /// </summary>
    public static class Harness
    {
        public sealed record Measurement(string Name, double MedianSeconds, double MinSeconds, double MaxSeconds, int Runs);

        public static Measurement Time(string name, Action action, double budgetSeconds = 1.5, int warmup = 3, int minRuns = 5)
        {
            for (int i = 0; i < warmup; i++) action();
            var samples = new List<double>();
            var total = Stopwatch.StartNew();
            while (samples.Count < minRuns || total.Elapsed.TotalSeconds < budgetSeconds)
            {
                long start = Stopwatch.GetTimestamp();
                action();
                samples.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                if (samples.Count >= 200) break;
            }
            samples.Sort();
            return new Measurement(name, samples[samples.Count / 2], samples[0], samples[^1], samples.Count);
        }

        /// <summary>/proc/loadavg, or "n/a": printed at the start and end of a run on a shared machine.</summary>
        public static string LoadAverage()
        {
            try { return System.IO.File.ReadAllText("/proc/loadavg").Trim(); }
            catch (System.IO.IOException) { return "n/a"; }
            catch (UnauthorizedAccessException) { return "n/a"; }
        }

        /// <summary>The CPU's model name from /proc/cpuinfo: every figure names the machine it was taken on.</summary>
        public static string CpuModel()
        {
            try { return System.IO.File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown"; }
            catch (System.IO.IOException) { return "unknown"; }
        }

        public static string F(double value, int decimals = 2) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

        /// <summary>Prints a markdown table.</summary>
        public static void Table(string[] header, IEnumerable<string[]> rows)
        {
            Console.WriteLine("| " + string.Join(" | ", header) + " |");
            Console.WriteLine("|" + string.Join("|", header.Select(h => new string('-', Math.Max(3, h.Length + 2)))) + "|");
            foreach (var r in rows) Console.WriteLine("| " + string.Join(" | ", r) + " |");
            Console.WriteLine();
        }
    }
}
