using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics.X86;
using Fused.Catalog;
using Fused.Ir;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;

namespace Fused.Benchmarks.UserArrays
{
    /// <summary>
    /// The engine as a user meets it: <c>new float[]</c> parameters and gradients (not aligned, first touched by the
    /// caller), each configuration in a fresh process (<see cref="UserArrayChild"/>): steps 1..11 of that process
    /// (JIT warm-up included; "steps 3–11" is what PyTorch's harness reports after its 2 warm-up steps) and the steady
    /// state, each as a ratio to a copy ceiling measured in the same process, to the C OpenMP fused AdamW over the same
    /// arrays, and (with <c>--peer</c>) to PyTorch's <c>fused=True</c> optimizers run right after, in the same repeat.
    /// </summary>
    /// <remarks>
    /// Args: [--cases 16M,64M,64x1M] [--rules adamw,lion,sgdm,cadamw] [--states fp32,bf16] (also bf16-scratch: the scratch path; bf16-grads: bf16 state and
    /// bf16 gradients; any of them with "+copy": the engine writes the parameters' bf16 copy too) [--widths 512,256] (default:
    /// both where the CPU has AVX-512F) [--threads P] [--repeats R] (fresh processes per configuration, default 3)
    /// [--rounds N] [--steady-steps S] [--check-finite] (the engine's non-finite-gradient skip, off by default: PyTorch's
    /// optimizers do not check) [--peer path/to/run.sh] (the PyTorch harness of ../shared/peers).
    /// Ratios across processes (ours vs PyTorch) are taken within one repeat and reported as the median over repeats.
    /// </remarks>
    public static class UserArrayBenchmark
    {
        private const int FreshSteps = 11;

        public static int Run(string[] args)
        {
            if (args.Length > 0 && args[0] == "--child") return UserArrayChild.Run(args.Skip(1).ToArray());
            string Get(string name, string fallback)
            {
                int i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
            }
            var cases = Get("--cases", "16M,64M,64x1M").Split(',');
            var rules = Get("--rules", "adamw,lion,sgdm,cadamw").Split(',');
            var states = Get("--states", "fp32,bf16").Split(',');
            int Number(string text, string option) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n : throw new ArgumentException($"{option}: '{text}' is not a whole number");
            var aligns = Get("--align-stores", "on").Split(',');
            int[] widths;
            int threads, repeats;
            string rounds = Get("--rounds", "5"), steady = Get("--steady-steps", "7");
            bool checkFinite = args.Contains("--check-finite");
            string? peer = Get("--peer", "") is { Length: > 0 } p ? p : null;
            try
            {
                widths = Get("--widths", Avx512F.IsSupported ? "512,256" : "256").Split(',').Select(w => Number(w, "--widths")).ToArray();
                if (widths.Any(w => w is not (512 or 256 or 128))) throw new ArgumentException("--widths: expected 512, 256 or 128");
                threads = Number(Get("--threads", "0"), "--threads");
                repeats = Number(Get("--repeats", "3"), "--repeats");
                Number(rounds, "--rounds");
                Number(steady, "--steady-steps");
                if (aligns.Any(a => a is not ("on" or "off"))) throw new ArgumentException("--align-stores: expected on, off or on,off");
                foreach (var c in cases) ShapesOf(c);
                foreach (var r in rules) RuleOf(r);
                foreach (var s in states) PrecisionOf(s);
            }
            catch (ArgumentException e) { return Fail(e.Message); }
            if (peer != null && !File.Exists(peer)) return Fail($"--peer: no such file '{peer}'");

            Console.WriteLine($"# User-array benchmark: CPU {Harness.CpuModel()}, AVX-512F {Avx512F.IsSupported}, {Environment.ProcessorCount} logical CPUs, threads {(threads == 0 ? "all" : threads)}");
            Console.WriteLine($"load average at start: {Harness.LoadAverage()}; {repeats} fresh process(es) per configuration; non-finite check {(checkFinite ? "on" : "off")}");
            Console.WriteLine($"default kernel width here: Vector{KernelDispatch.MaxVectorBits} ({KernelDispatch.WidthChoice}); the runs below set theirs with --widths");
            var results = new List<Result>();
            var peers = new List<Dictionary<string, double>>();
            for (int repeat = 0; repeat < repeats; repeat++)
            {
                var peerRound = new Dictionary<string, double>();
                peers.Add(peerRound);
                foreach (var c in cases)
                {
                    foreach (int bits in widths)
                        foreach (var align in aligns)
                        foreach (var rule in rules)
                            foreach (var state in states)
                            {
                                var child = RunChild(new[] { "--case", c, "--rule", rule, "--precision", state, "--max-bits", bits.ToString(CultureInfo.InvariantCulture),
                                    "--threads", threads.ToString(CultureInfo.InvariantCulture), "--fresh-steps", FreshSteps.ToString(CultureInfo.InvariantCulture),
                                    "--steady-steps", steady, "--rounds", rounds, "--check-finite", checkFinite ? "true" : "false", "--align-stores", align });
                                if (child == null) continue;
                                results.Add(new Result(repeat, c, rule, state, bits, align, child));
                                Console.Error.WriteLine($"  repeat {repeat + 1}/{repeats} {c} {rule} {state} Vector{bits} aligned stores {align}: steps 3-11 {Harness.F(results[^1].FreshGBs, 1)} GB/s, steady {Harness.F(results[^1].SteadyGBs, 1)} GB/s");
                            }
                    if (peer != null) RunPeer(peer, c, threads, peerRound);
                }
            }
            Report(results, peers, cases, rules, states, widths, aligns);
            Console.WriteLine($"load average at end: {Harness.LoadAverage()}");
            return 0;
        }

        private static int Fail(string message)
        {
            Console.Error.WriteLine("error: " + message);
            return 2;
        }

        // ---------------- configurations ----------------

        /// <summary>"16M" → one tensor of 16·2^20; "64x1M" → 64 tensors of 2^20 (K = 2^10, M = 2^20, as the PyTorch harness).</summary>
        public static int[] ShapesOf(string text)
        {
            int x = text.IndexOf('x');
            string size = x >= 0 ? text[(x + 1)..] : text;
            int count = x >= 0 && int.TryParse(text[..x], out var k) ? k : x >= 0 ? -1 : 1;
            long unit = size.EndsWith("M") ? 1 << 20 : size.EndsWith("K") ? 1 << 10 : 1;
            if (count <= 0 || !long.TryParse(unit == 1 ? size : size[..^1], out var n) || n <= 0 || n * unit > int.MaxValue)
                throw new ArgumentException($"case '{text}': expected e.g. 16M, 64M or 64x1M");
            return Enumerable.Repeat((int)(n * unit), count).ToArray();
        }

        public static FusedRule RuleOf(string name) => name switch
        {
            "adamw" => AdamW.Rule,
            "lion" => Lion.Rule,
            "sgdm" => SgdMomentum.Rule,
            "cadamw" => CautiousAdamW.Rule,
            _ => throw new ArgumentException($"rule '{name}': expected adamw, lion, sgdm or cadamw"),
        };

        public static StatePrecision PrecisionOf(string name) => StripCopy(name) switch
        {
            "fp32" => StatePrecision.Float32,
            "bf16" or "bf16-scratch" or "bf16-grads" => StatePrecision.BFloat16,
            _ => throw new ArgumentException($"state '{name}': expected fp32, bf16, bf16-scratch (bf16 widened into scratch around the fp32 kernels, as before the in-kernel conversion) or bf16-grads (bf16 state and gradients), each optionally with +copy"),
        };

        /// <summary>Whether the configuration hands the engine bf16 gradients.</summary>
        public static bool BFloat16Gradients(string state) => StripCopy(state) == "bf16-grads";

        /// <summary>Whether the configuration has the engine write the parameters' bf16 copy ("...+copy").</summary>
        public static bool WritesCopy(string state) => state.EndsWith("+copy", StringComparison.Ordinal);

        private static string StripCopy(string state) => WritesCopy(state) ? state[..^"+copy".Length] : state;

        /// <summary>Bytes a step moves per parameter: the rule's layout count for the configuration.</summary>
        public static double BytesPerParameter(FusedRule rule, string state)
            => rule.Layout.BytesMovedPerParameterFor(bfloat16State: PrecisionOf(state) == StatePrecision.BFloat16, bfloat16Gradient: BFloat16Gradients(state), parameterCopy: WritesCopy(state));

        /// <summary>What a PyTorch user picks for the rule: the fused optimizer where PyTorch has one (Lion: foreach).</summary>
        private static string? PeerVariant(string rule) => rule switch
        {
            "adamw" => "adamw_fused",
            "sgdm" => "sgdmom_fused",
            "lion" => "lion_foreach",
            _ => null,
        };

        // ---------------- processes ----------------

        private static Dictionary<string, double>? RunChild(string[] childArgs)
        {
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
            // Started as 'dotnet Fused.Benchmarks.dll' rather than through the app host: the child needs the dll named.
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(UserArrayBenchmark).Assembly.Location);
            foreach (var a in new[] { "user", "--child" }.Concat(childArgs)) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var values = ParseResults(process.StandardOutput);
            process.WaitForExit();
            if (process.ExitCode == 0) return values;
            Console.Error.WriteLine($"child {string.Join(' ', childArgs)} failed ({process.ExitCode}): {stderr.Result.Split('\n').FirstOrDefault()}");
            return null;
        }

        private static void RunPeer(string script, string c, int threads, Dictionary<string, double> into)
        {
            var psi = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--cases", c, "--threads", (threads == 0 ? Environment.ProcessorCount : threads).ToString(CultureInfo.InvariantCulture),
                "--reps", "9", "--warmup", "2", "--variants", "adamw_fused,sgdmom_fused,lion_foreach" }) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEndAsync();
            foreach (var kv in ParseResults(process.StandardOutput)) into[kv.Key] = kv.Value;
            process.WaitForExit();
            if (process.ExitCode != 0) Console.Error.WriteLine($"peer {script} failed ({process.ExitCode}): {stderr.Result.Split('\n').FirstOrDefault()}");
        }

        /// <summary>Reads <c>RESULT key value [unit]</c> lines; other lines pass through to stderr.</summary>
        private static Dictionary<string, double> ParseResults(StreamReader output)
        {
            var values = new Dictionary<string, double>();
            string? line;
            while ((line = output.ReadLine()) != null)
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 3 && f[0] == "RESULT" && double.TryParse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) values[f[1]] = v;
                else if (line.StartsWith("#")) Console.Error.WriteLine("  " + line);
            }
            return values;
        }

        // ---------------- report ----------------

        /// <summary>One fresh process's figures.</summary>
        private sealed class Result
        {
            public Result(int repeat, string c, string rule, string state, int bits, string align, Dictionary<string, double> values)
            {
                Repeat = repeat; Case = c; Rule = rule; State = state; Bits = bits; Align = align; Values = values;
                Elements = values["elements"];
                Bytes = BytesPerParameter(RuleOf(rule), state);
                FreshMs = Median(Enumerable.Range(3, FreshSteps - 2).Select(s => values[$"fresh_step_{s}_ms"]));
                SteadyMs = Median(Rounds("engine"));
                CopyMs = Median(Rounds("copy"));
                SteadyOverCopy = Median(Rounds("engine").Zip(Rounds("copy"), (e, c) => GBs(Bytes, e) / GBs(8, c)));
                SteadyOverC = values.ContainsKey("round_0_c_adamw_ms") ? Median(Rounds("c_adamw").Zip(Rounds("engine"), (n, e) => n / e)) : double.NaN;
                bool twin = values.ContainsKey("round_0_twin_ms");
                TwinGBs = twin ? GBs(values["twin_bytes_per_parameter"], Median(Rounds("twin"))) : double.NaN;
                // Same bytes per parameter on both sides for a one-pass rule, so the time ratio is the bandwidth ratio.
                SteadyOverTwin = twin ? Median(Rounds("twin").Zip(Rounds("engine"), (w, e) => w / e)) : double.NaN;
            }

            public double TwinGBs { get; }
            public double SteadyOverTwin { get; }

            public int Repeat { get; }
            public string Case { get; }
            public string Rule { get; }
            public string State { get; }
            public int Bits { get; }
            public string Align { get; }
            public Dictionary<string, double> Values { get; }
            public double Elements { get; }
            public double Bytes { get; }
            public double FreshMs { get; }
            public double SteadyMs { get; }
            public double CopyMs { get; }
            public double SteadyOverCopy { get; }
            public double SteadyOverC { get; }
            public double FreshGBs => GBs(Bytes, FreshMs);
            public double SteadyGBs => GBs(Bytes, SteadyMs);
            public double CopyGBs => GBs(8, CopyMs);

            public double GBs(double bytesPerParameter, double ms) => bytesPerParameter * Elements / (ms * 1e6);

            private IEnumerable<double> Rounds(string key)
            {
                for (int r = 0; Values.TryGetValue($"round_{r}_{key}_ms", out var v); r++) yield return v;
            }
        }

        private static void Report(List<Result> results, List<Dictionary<string, double>> peers, string[] cases, string[] rules, string[] states, int[] widths, string[] aligns)
        {
            Console.WriteLine();
            Console.WriteLine("## Engine over user arrays (medians over fresh processes; GB/s counts the layout's bytes per parameter)");
            Console.WriteLine("steps 3-11: median of steps 3..11 of a fresh process; steady: after 40 steps. Ratios to the copy ceiling and the C kernel are");
            Console.WriteLine("within one process; ratios to PyTorch are within one repeat (PyTorch's figure: median of its steps 3..11).");
            Console.WriteLine("twin: the step's own traffic (parameter and fp32 element states read and written, gradient read, one multiply-add)");
            Console.WriteLine("on the same pool; steady / twin = twin time / engine time (1 = the engine runs at the speed of its bytes; fp32 only).");
            var rows = new List<string[]>();
            foreach (var c in cases)
                foreach (int bits in widths)
                    foreach (var align in aligns)
                    foreach (var rule in rules)
                        foreach (var state in states)
                        {
                            var rs = results.Where(r => r.Case == c && r.Rule == rule && r.State == state && r.Bits == bits && r.Align == align).ToList();
                            if (rs.Count == 0) continue;
                            string? variant = PeerVariant(rule);
                            double PeerRatio(Func<Result, double> ours) => variant == null ? double.NaN
                                : Median(rs.Where(r => peers[r.Repeat].ContainsKey($"pt2_{variant}_{c}_GBs")).Select(r => ours(r) / peers[r.Repeat][$"pt2_{variant}_{c}_GBs"]));
                            double peerGBs = variant == null ? double.NaN : Median(peers.Where(p => p.ContainsKey($"pt2_{variant}_{c}_GBs")).Select(p => p[$"pt2_{variant}_{c}_GBs"]));
                            rows.Add(new[]
                            {
                                c, rule, state, $"Vector{bits}", align, Harness.F(rs[0].Bytes, 0),
                                Harness.F(Median(rs.Select(r => r.Values["build_ms"])), 0),
                                Harness.F(Median(rs.Select(r => r.Values["fresh_step_1_ms"])), 1), Harness.F(Median(rs.Select(r => r.Values["fresh_step_2_ms"])), 1),
                                Harness.F(Median(rs.Select(r => Enumerable.Range(3, FreshSteps - 2).Sum(s => r.Values[$"fresh_step_{s}_jit_ms"]))), 1)
                                    + " / " + Harness.F(Median(rs.Select(r => Enumerable.Range(3, FreshSteps - 2).Sum(s => r.Values[$"fresh_step_{s}_jit_methods"]))), 0),
                                Harness.F(Median(rs.Select(r => r.FreshGBs)), 1), Harness.F(Median(rs.Select(r => r.SteadyGBs)), 1), Harness.F(Median(rs.Select(r => r.CopyGBs)), 1),
                                Ratio(Median(rs.Select(r => r.FreshGBs / r.CopyGBs))), Ratio(Median(rs.Select(r => r.SteadyOverCopy))),
                                Harness.F(Median(rs.Select(r => r.TwinGBs)), 1), Ratio(Median(rs.Select(r => r.SteadyOverTwin))), Ratio(Median(rs.Select(r => r.SteadyOverC))),
                                variant == null || double.IsNaN(peerGBs) ? "" : $"{variant} {Harness.F(peerGBs, 1)}", Ratio(PeerRatio(r => r.FreshGBs)), Ratio(PeerRatio(r => r.SteadyGBs)),
                            });
                        }
            Harness.Table(new[] { "case", "rule", "state", "width", "aligned stores", "B/param", "build ms", "step 1 ms", "step 2 ms", "JIT in steps 3-11 (ms / methods)", "steps 3-11 GB/s", "steady GB/s", "copy GB/s",
                "3-11 / copy", "steady / copy", "twin GB/s", "steady / twin", "steady / C AdamW", "PyTorch GB/s", "3-11 / PyTorch", "steady / PyTorch" }, rows);

            Console.WriteLine($"Time ratios within a repeat (median over repeats; aligned stores {aligns[0]}):");
            var main = results.Where(r => r.Align == aligns[0]).ToList();
            foreach (var c in cases)
                foreach (int bits in widths)
                {
                    foreach (var state in states) TimeRatio($"{c} Vector{bits} {state}: C-AdamW time / AdamW time (target <= 1.3)", r => r.Case == c && r.Bits == bits && r.State == state, "cadamw", "adamw", main);
                    foreach (var rule in rules)
                        if (states.Contains("bf16") && states.Contains("fp32"))
                            SpeedRatio($"{c} Vector{bits} {rule}: bf16 state speed / fp32 state speed (target >= 1.2, byte bound {Harness.F(BytesPerParameter(RuleOf(rule), "fp32") / BytesPerParameter(RuleOf(rule), "bf16"), 2)})",
                                main.Where(r => r.Case == c && r.Bits == bits && r.Rule == rule).ToList());
                    foreach (var rule in rules)
                        if (states.Contains("bf16-grads") && states.Contains("fp32"))
                            SpeedRatio($"{c} Vector{bits} {rule}: bf16 state and gradients speed / fp32 speed (target >= 1.4, byte bound {Harness.F(BytesPerParameter(RuleOf(rule), "fp32") / BytesPerParameter(RuleOf(rule), "bf16-grads"), 2)})",
                                main.Where(r => r.Case == c && r.Bits == bits && r.Rule == rule).ToList(), "bf16-grads");
                    foreach (var rule in rules)
                        if (states.Contains("bf16-scratch") && states.Contains("fp32"))
                            SpeedRatio($"{c} Vector{bits} {rule}: bf16 state through scratch speed / fp32 state speed", main.Where(r => r.Case == c && r.Bits == bits && r.Rule == rule).ToList(), "bf16-scratch");
                }
            if (widths.Length > 1)
                foreach (var c in cases)
                    foreach (var rule in rules)
                        foreach (var state in states)
                        {
                            var a = main.Where(r => r.Case == c && r.Rule == rule && r.State == state && r.Bits == widths[0]).ToList();
                            var b = main.Where(r => r.Case == c && r.Rule == rule && r.State == state && r.Bits == widths[1]).ToList();
                            var pairs = a.Join(b, r => r.Repeat, r => r.Repeat, (x, y) => (x.SteadyOverCopy / y.SteadyOverCopy, x.FreshGBs / x.CopyGBs / (y.FreshGBs / y.CopyGBs))).ToList();
                            if (pairs.Count > 0)
                                Console.WriteLine($"- {c} {rule} {state}: Vector{widths[0]} / Vector{widths[1]} (each over its own copy ceiling): steady {Ratio(Median(pairs.Select(p => p.Item1)))}, steps 3-11 {Ratio(Median(pairs.Select(p => p.Item2)))}");
                        }
            if (aligns.Length > 1)
                foreach (var c in cases)
                    foreach (int bits in widths)
                        foreach (var rule in rules)
                            foreach (var state in states)
                            {
                                var on = results.Where(r => r.Case == c && r.Rule == rule && r.State == state && r.Bits == bits && r.Align == aligns[0]).ToList();
                                var off = results.Where(r => r.Case == c && r.Rule == rule && r.State == state && r.Bits == bits && r.Align == aligns[1]).ToList();
                                var pairs = on.Join(off, r => r.Repeat, r => r.Repeat, (x, y) => x.SteadyOverCopy / y.SteadyOverCopy).ToList();
                                if (pairs.Count > 0)
                                    Console.WriteLine($"- {c} Vector{bits} {rule} {state}: aligned stores {aligns[0]} / {aligns[1]} (steady, each over its own copy ceiling): {Ratio(Median(pairs))}");
                            }
            var offsets = results.GroupBy(r => (P: r.Values.GetValueOrDefault("param_offset_in_line", -1), G: r.Values.GetValueOrDefault("grad_offset_in_line", -1), S: r.Values.GetValueOrDefault("state_offset_in_line", -1)))
                .Select(g => $"param {g.Key.P}, gradient {g.Key.G}, first fp32 state {g.Key.S} ({g.Count()} processes)");
            Console.WriteLine("Offsets within a 64-byte line (bytes; -1: not measured): " + string.Join("; ", offsets));
            Console.WriteLine();
        }

        private static void TimeRatio(string what, Func<Result, bool> where, string numerator, string denominator, List<Result> results)
        {
            var pairs = results.Where(r => where(r) && r.Rule == numerator)
                .Join(results.Where(r => where(r) && r.Rule == denominator), r => r.Repeat, r => r.Repeat, (n, d) => (Steady: n.SteadyMs / d.SteadyMs, Fresh: n.FreshMs / d.FreshMs)).ToList();
            if (pairs.Count > 0) Console.WriteLine($"- {what}: steady {Ratio(Median(pairs.Select(p => p.Steady)))}, steps 3-11 {Ratio(Median(pairs.Select(p => p.Fresh)))}");
        }

        private static void SpeedRatio(string what, List<Result> results, string low = "bf16")
        {
            var pairs = results.Where(r => r.State == low).Join(results.Where(r => r.State == "fp32"), r => r.Repeat, r => r.Repeat,
                (low, full) => (Steady: full.SteadyMs / low.SteadyMs, Fresh: full.FreshMs / low.FreshMs)).ToList();
            if (pairs.Count > 0) Console.WriteLine($"- {what}: steady {Ratio(Median(pairs.Select(p => p.Steady)))}, steps 3-11 {Ratio(Median(pairs.Select(p => p.Fresh)))}");
        }

        private static string Ratio(double x) => double.IsNaN(x) ? "" : Harness.F(x, 3) + "x";

        private static double Median(IEnumerable<double> values)
        {
            var sorted = values.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToList();
            int n = sorted.Count;
            return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }
    }
}
