using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Fused.Benchmarks.Elementwise;
using Fused.Catalog;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.OpenCL;

namespace Fused.Benchmarks.OpenCL
{
    /// <summary>
    /// OpenCL benchmark, every figure beside a ceiling measured in the same run:
    /// <list type="number">
    /// <item>start to first step in a fresh process, cold (empty Fused and PoCL caches) and cached;</item>
    /// <item>the fixed cost of a step (launches, clFinish, the uniforms' write) on a small tensor;</item>
    /// <item>a copy-kernel variants matrix (bounds-checked scalar, exact scalar, vloadN, a chunk per work-item; local
    /// sizes) against the host's C copy and clEnqueueCopyBuffer;</item>
    /// <item>the generated AdamW and Lion steps (<see cref="ClRuleRunner"/>, scalar and vector kernels) against the C
    /// OpenMP fused kernels and the generated C# kernels on the host, and the device's copy kernels;</item>
    /// <item>Adafactor (per-row and per-column values, three row-wise passes) on a square matrix next to AdamW on the
    /// same number of parameters, device and host;</item>
    /// <item>Shampoo on a square matrix, device (its Precondition on the host: the share of the step spent there) and host;</item>
    /// <item>SGEMM.</item>
    /// </list>
    /// Cases of one table run interleaved, one sample each per round, so a burst of load on a shared machine hits
    /// them alike; the table gives medians. Options: <c>--sizes 16,64</c> (millions of floats), <c>--rounds N</c>,
    /// <c>--gemm N</c> (0 skips), <c>--no-variants</c>, <c>--no-startup</c>, <c>--cautious</c> (C-AdamW too: two passes and a reduction),
    /// <c>--factored N</c> (the side of Adafactor's matrix, 4096 by default; 0 skips), <c>--shampoo N</c> (the side of Shampoo's
    /// matrix, 512 by default; 0 skips), <c>--no-rules</c> (skips the tables per size).
    /// </summary>
    public static class OpenClBenchmark
    {
        private const string StartupChildFlag = "--startup-child";

        // Copy kernels: the shapes a one-element-per-work-item kernel can take, and vector/chunk alternatives.
        private const string CopySource = @"
// One element per work-item behind the usual bounds check (the emitted scalar kernels' shape).
__kernel void copy_guarded(__global const float* restrict src, __global float* restrict dst, const int n)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    dst[i] = src[i];
}

// One element per work-item, no check: the global size must be exactly n.
__kernel void copy_exact(__global const float* restrict src, __global float* restrict dst, const int n)
{
    const size_t i = get_global_id(0);
    dst[i] = src[i];
}

__kernel void copy_vload4(__global const float* restrict src, __global float* restrict dst, const int n)
{
    const int i = get_global_id(0);
    if (i >= n / 4) return;
    vstore4(vload4(i, src), i, dst);
}

__kernel void copy_vload8(__global const float* restrict src, __global float* restrict dst, const int n)
{
    const int i = get_global_id(0);
    if (i >= n / 8) return;
    vstore8(vload8(i, src), i, dst);
}

__kernel void copy_vload16(__global const float* restrict src, __global float* restrict dst, const int n)
{
    const int i = get_global_id(0);
    if (i >= n / 16) return;
    vstore16(vload16(i, src), i, dst);
}

// 4096 consecutive elements per work-item.
__kernel void copy_chunk(__global const float* restrict src, __global float* restrict dst, const int n)
{
    const int start = get_global_id(0) * 4096;
    const int end = min(n, start + 4096);
    for (int k = start; k < end; k++) dst[k] = src[k];
}
";

        private static readonly (string Kernel, int PerItem, string What)[] CopyVariants =
        {
            ("copy_guarded", 1, "scalar, if (i >= n) return"),
            ("copy_exact", 1, "scalar, no check, global = n"),
            ("copy_vload4", 4, "vload4/vstore4"),
            ("copy_vload8", 8, "vload8/vstore8"),
            ("copy_vload16", 16, "vload16/vstore16"),
            ("copy_chunk", 4096, "4096-element loop per work-item"),
        };

        private static readonly long[] LocalSizes = { 0, 16, 64, 256, 1024, 4096 };

        private sealed record Case(string Name, double BytesPerElement, Action Run, string Notes = "");

        /// <summary>Runs the benchmark and prints markdown tables.</summary>
        public static void Run(string[] args)
        {
            if (args.Contains(StartupChildFlag))
            {
                StartupChild();
                return;
            }
            int[] sizesMillions = { 16, 64 };
            int rounds = 7;
            int gemmSize = 1024;
            bool variants = !args.Contains("--no-variants");
            bool startup = !args.Contains("--no-startup");
            bool cautious = args.Contains("--cautious");
            bool rules = !args.Contains("--no-rules");
            int factoredSide = 4096;
            int shampooSide = 512;
            for (int i = 0; i + 1 < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--sizes":
                        sizesMillions = Array.ConvertAll(args[++i].Split(','), s => int.Parse(s, CultureInfo.InvariantCulture));
                        break;
                    case "--rounds":
                    case "--iterations":
                        rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                        break;
                    case "--gemm":
                        gemmSize = int.Parse(args[++i], CultureInfo.InvariantCulture);
                        break;
                    case "--factored":
                        factoredSide = int.Parse(args[++i], CultureInfo.InvariantCulture);
                        break;
                    case "--shampoo":
                        shampooSide = int.Parse(args[++i], CultureInfo.InvariantCulture);
                        break;
                }
            }

            OpenClDevice device;
            try
            {
                device = OpenClDevice.Select();
            }
            catch (OpenClUnavailableException unavailable)
            {
                Console.WriteLine("OpenCL benchmark skipped: " + unavailable.Message);
                return;
            }

            Console.WriteLine("## OpenCL benchmark");
            Console.WriteLine();
            Console.WriteLine("Device: " + device.Describe() + "; preferred float vector width " + device.PreferredVectorWidthFloat);
            Console.WriteLine("Kernels (auto): " + ClKernelChoice.Resolve(device).Description);
            Console.WriteLine("Host: " + Environment.ProcessorCount + " processors; C ceilings: "
                + (NativeKernel.TryLoad() ? "built" : NativeKernel.Error) + ", Lion " + (NativeLion.TryLoad() ? "built" : NativeLion.Error));
            Console.WriteLine("Load average at start: " + LoadAverage());
            Console.WriteLine();

            if (startup)
            {
                MeasureStartup(device);
            }
            string cacheRoot = Path.Combine(Path.GetTempPath(), "fused-opencl-bench-" + Guid.NewGuid().ToString("N"));
            try
            {
                using ClContext context = ClContext.Create(device, cacheRoot);
                using ClQueue queue = context.CreateQueue();
                MeasureOverhead(context, queue, rounds);
                foreach (int millions in sizesMillions)
                {
                    int n = millions * 1024 * 1024;
                    if (variants)
                    {
                        MeasureCopyVariants(context, queue, n, rounds);
                    }
                    if (rules)
                    {
                        MeasureRules(context, queue, n, rounds, cautious);
                    }
                }
                if (factoredSide > 0)
                {
                    MeasureFactored(context, queue, factoredSide, rounds);
                }
                if (shampooSide > 0)
                {
                    MeasureShampoo(queue, shampooSide, rounds);
                }
                if (gemmSize > 0)
                {
                    MeasureGemm(context, queue, gemmSize, Math.Max(2, rounds / 2));
                }
            }
            finally
            {
                try
                {
                    Directory.Delete(cacheRoot, recursive: true);
                }
                catch (IOException)
                {
                }
            }
            Console.WriteLine("Load average at end: " + LoadAverage());
        }

        // ---- start-up --------------------------------------------------------------------------------------

        /// <summary>
        /// Start to first finished AdamW step in a fresh process (device selection, context, program, kernels, buffers,
        /// one step over 4099 elements so the tail kernel runs too): cold with empty Fused and PoCL caches, then cached
        /// with both caches as the cold run left them; then in this process with the JIT warm, a new context on a disk cache.
        /// </summary>
        private static void MeasureStartup(OpenClDevice device)
        {
            string root = Path.Combine(Path.GetTempPath(), "fused-opencl-startup-" + Guid.NewGuid().ToString("N"));
            try
            {
                var env = new Dictionary<string, string>
                {
                    [ProgramCache.DirectoryVariable] = Path.Combine(root, "fused"),
                    ["POCL_CACHE_DIR"] = Path.Combine(root, "pocl"),
                };
                var rows = new List<string[]>();
                foreach (string label in new[] { "cold (empty Fused + PoCL caches)", "cached (both caches warm)", "cached, again" })
                {
                    string? line = RunChild(env, out string error);
                    rows.Add(line == null
                        ? new[] { label, "failed", error }
                        : new[] { label }.Concat(line.Split('\t')).ToArray());
                }
                // In this process, JIT warm (what the figure before the fresh-process runs measured): a new context and
                // program cache on a directory the first call filled.
                string directory = Path.Combine(root, "in-process");
                StartInProcess(device, directory);
                for (int k = 0; k < 2; k++)
                {
                    var (ms, phases, origin, kernels) = StartInProcess(device, directory);
                    rows.Add(new[] { "in this process, new context, disk cache" + (k == 0 ? "" : ", again"), Ms(ms), phases, origin.ToString(), kernels });
                }
                Console.WriteLine("### Start to first step (AdamW, 4099 elements)");
                Console.WriteLine();
                Harness.Table(new[] { "run", "ms to first step", "cumulative ms after", "program origin", "kernels" }, rows);
            }
            finally
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        private static string? RunChild(Dictionary<string, string> env, out string error)
        {
            string exe = Environment.ProcessPath ?? "dotnet";
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                psi.ArgumentList.Add(typeof(OpenClBenchmark).Assembly.Location);
            }
            psi.ArgumentList.Add("opencl");
            psi.ArgumentList.Add(StartupChildFlag);
            foreach (var (key, value) in env)
            {
                psi.Environment[key] = value;
            }
            using var process = Process.Start(psi)!;
            string output = process.StandardOutput.ReadToEnd();
            error = process.StandardError.ReadToEnd().Trim();
            process.WaitForExit();
            string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("STARTUP\t", StringComparison.Ordinal));
            if (process.ExitCode != 0 || line == null)
            {
                error = "exit " + process.ExitCode + ": " + error.Split('\n').FirstOrDefault();
                return null;
            }
            return line.Substring("STARTUP\t".Length).TrimEnd('\r');
        }

        private static void StartupChild()
        {
            var (ms, phases, origin, kernels) = StartInProcess(null, null);
            Console.WriteLine("STARTUP\t" + Ms(ms) + "\t" + phases + "\t" + origin + "\t" + kernels);
        }

        /// <summary>Device (selected now when null), context, runner, buffers and one AdamW step; milliseconds, cumulative phase times.</summary>
        private static (double Milliseconds, string Phases, ProgramOrigin Origin, string Kernels) StartInProcess(OpenClDevice? device, string? cacheDirectory)
        {
            const int n = 4099;
            var stopwatch = Stopwatch.StartNew();
            var phases = new List<string>();
            void Phase(string name) => phases.Add(name + " " + Ms(stopwatch.Elapsed.TotalMilliseconds));
            device ??= OpenClDevice.Select();
            Phase("device");
            using ClContext context = ClContext.Create(device, cacheDirectory);
            using ClQueue queue = context.CreateQueue();
            Phase("context");
            // The generated rule's schedule read from its embedded text (version and hash checked, never planned): first calls, JIT included.
            _ = AdamW.Rule.Schedule;
            Phase("schedule");
            using var runner = new ClRuleRunner(AdamW.Rule, queue);
            Phase("program");
            using var tensor = runner.Allocate(ShapeInfo.Vector(n));
            tensor.Upload("grad", Filled(n, 0.01f));
            Phase("buffers");
            runner.Step(AdamW.Rule.DefaultHyperparameters(), 1, tensor);
            stopwatch.Stop();
            Phase("step");
            return (stopwatch.Elapsed.TotalMilliseconds, string.Join(", ", phases), runner.ProgramOrigin, runner.Kernels.Description);
        }

        // ---- per-step overhead --------------------------------------------------------------------------------

        /// <summary>
        /// What a step costs besides the element work: AdamW on 4096 elements (no tail) and 4099 (a tail launch), against
        /// one launch of an almost empty kernel followed by clFinish, and a blocking 48-byte write (the uniforms).
        /// </summary>
        private static void MeasureOverhead(ClContext context, ClQueue queue, int rounds)
        {
            var cases = new List<Case>();
            var disposables = new List<IDisposable>();
            try
            {
                using ClBuffer small = context.CreateBuffer<float>(16);
                ClKernel guarded = context.Programs.Get(CopySource).CreateKernel("copy_guarded");
                disposables.Add(guarded);
                guarded.SetArg(0, small);
                guarded.SetArg(1, small);
                guarded.SetArg(2, 0);
                cases.Add(new Case("launch of an empty kernel + clFinish", 0, () =>
                {
                    queue.Launch(guarded, 8, 8);
                    queue.Finish();
                }));
                var uniforms = new float[12];
                cases.Add(new Case("blocking write of 48 bytes", 0, () => queue.Write<float>(small, uniforms)));
                var hypers = AdamW.Rule.DefaultHyperparameters();
                foreach (var shape in new[] { ClKernelShape.Scalar, ClKernelShape.Vector })
                {
                    foreach (int n in new[] { 4096, 4099 })
                    {
                        var runner = new ClRuleRunner(AdamW.Rule, queue, kernels: shape);
                        var tensor = runner.Allocate(ShapeInfo.Vector(n));
                        disposables.Add(tensor);
                        disposables.Add(runner);
                        tensor.Upload("grad", Filled(n, 0.01f));
                        cases.Add(new Case($"AdamW step, {n} elements, {shape.ToString().ToLowerInvariant()} kernels", 0, Counted(t => runner.Step(hypers, t, tensor)),
                            shape == ClKernelShape.Vector && n % runner.Kernels.VectorWidth != 0 ? "vector launch + tail launch" : "one launch"));
                    }
                }
                var results = Measure(cases, Math.Max(rounds, 25));
                Console.WriteLine($"### Per-step overhead ({Math.Max(rounds, 25)} rounds; load {LoadAverage()})");
                Console.WriteLine();
                Harness.Table(new[] { "case", "median µs", "min µs", "notes" }, results.Select(r => new[]
                {
                    r.Case.Name, Harness.F(r.Median * 1e6, 0), Harness.F(r.Min * 1e6, 0), r.Case.Notes,
                }));
            }
            finally
            {
                for (int i = disposables.Count - 1; i >= 0; i--)
                {
                    disposables[i].Dispose();
                }
            }
        }

        // ---- copy variants ---------------------------------------------------------------------------------

        private static void MeasureCopyVariants(ClContext context, ClQueue queue, int n, int rounds)
        {
            var hostSource = Filled(n, 1f);
            var hostDestination = new float[n];
            using ClBuffer source = context.CreateBuffer<float>(hostSource);
            using ClBuffer destination = context.CreateBuffer<float>(n);
            ClProgram program = context.Programs.Get(CopySource);
            var kernels = new List<ClKernel>();
            try
            {
                var cases = new List<Case>();
                if (NativeKernel.TryLoad())
                {
                    cases.Add(new Case("host: C OpenMP copy", 8, () => NativeKernel.Copy(hostDestination, hostSource, Environment.ProcessorCount)));
                }
                cases.Add(new Case("host: Array.Copy (1 thread)", 8, () => Array.Copy(hostSource, hostDestination, n)));
                cases.Add(new Case("device: clEnqueueCopyBuffer", 8, () =>
                {
                    queue.Copy(source, destination, (long)n * sizeof(float));
                    queue.Finish();
                }));
                foreach (var (name, perItem, what) in CopyVariants)
                {
                    foreach (long local in LocalSizes)
                    {
                        ClKernel kernel = program.CreateKernel(name);
                        kernels.Add(kernel);
                        if (local > kernel.WorkGroupSize)
                        {
                            continue;
                        }
                        long items = (n + (long)perItem - 1) / perItem;
                        long global = local == 0 ? items : (items + local - 1) / local * local;
                        if ((name == "copy_exact" && global != n) || (local != 0 && global / local < 2))
                        {
                            continue;
                        }
                        kernel.SetArg(0, source);
                        kernel.SetArg(1, destination);
                        kernel.SetArg(2, n);
                        cases.Add(new Case("device: " + name + ", local " + (local == 0 ? "driver's" : local.ToString(CultureInfo.InvariantCulture)), 8, () =>
                        {
                            queue.Launch(kernel, global, local);
                            queue.Finish();
                        }, what));
                    }
                }
                var results = Measure(cases, rounds);
                double ceiling = results[0].Median;
                Console.WriteLine($"### Copy variants, {n >> 20}M floats (8 B/float; {rounds} rounds; load {LoadAverage()})");
                Console.WriteLine();
                Harness.Table(new[] { "copy", "median ms", "min ms", "GB/s", "× host C copy", "kernel" },
                    results.Select(r => new[]
                    {
                        r.Case.Name, Harness.F(r.Median * 1e3, 2), Harness.F(r.Min * 1e3, 2), Harness.F(8.0 * n / r.Median / 1e9, 1),
                        Harness.F(ceiling / r.Median, 2), r.Case.Notes,
                    }));
            }
            finally
            {
                foreach (var k in kernels)
                {
                    k.Dispose();
                }
            }
        }

        // ---- rules -----------------------------------------------------------------------------------------

        private static void MeasureRules(ClContext context, ClQueue queue, int n, int rounds, bool withCautious)
        {
            var p = Filled(n, 1f);
            var g = Filled(n, 0.01f);
            var m = new float[n];
            var v = new float[n];
            var copyDestination = new float[n];
            var rows = new List<string[]>();
            int threads = Environment.ProcessorCount;
            using var pool = new WorkerPool(threads);

            using (ClBuffer copySource = context.CreateBuffer<float>(g))
            using (ClBuffer copyBuffer = context.CreateBuffer<float>(n))
            using (ClKernel guarded = context.Programs.Get(CopySource).CreateKernel("copy_guarded"))
            using (ClKernel vector = context.Programs.Get(CopySource).CreateKernel("copy_vload8"))
            {
                var adamW = new List<Case>();
                if (NativeKernel.TryLoad())
                {
                    adamW.Add(new Case("host: C OpenMP fused AdamW", 28, Counted(t => NativeKernel.AdamW(p, g, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f,
                        1 - MathF.Pow(0.9f, t), 1 - MathF.Pow(0.999f, t), threads)), "gcc -O3 -march=native -fopenmp, " + threads + " threads"));
                    adamW.Add(new Case("host: C OpenMP copy", 8, () => NativeKernel.Copy(copyDestination, g, threads)));
                }
                adamW.Add(new Case("device: clEnqueueCopyBuffer", 8, () =>
                {
                    queue.Copy(copySource, copyBuffer, (long)n * sizeof(float));
                    queue.Finish();
                }));
                adamW.Add(DeviceCopy(queue, guarded, copySource, copyBuffer, n, 1, "copy kernel, scalar (guarded)"));
                adamW.Add(DeviceCopy(queue, vector, copySource, copyBuffer, n, 8, "copy kernel, vload8"));
                rows.AddRange(MeasureRule(AdamW.Rule, 28, queue, pool, n, p, g, new[] { m, v }, adamW, rounds));
            }
            Array.Clear(m);
            var lion = new List<Case>();
            if (NativeLion.TryLoad())
            {
                lion.Add(new Case("host: C OpenMP fused Lion", 20, () => NativeLion.Lion(p, g, m, 1e-4f, 0.9f, 0.99f, 0f, threads),
                    "gcc -O3 -march=native -fopenmp, " + threads + " threads"));
            }
            rows.AddRange(MeasureRule(Lion.Rule, 20, queue, pool, n, p, g, new[] { m }, lion, rounds));
            if (withCautious)
            {
                // Two passes and a whole-tensor mean: the device reduction's cost shows here (40 B/param over both passes).
                Array.Clear(m);
                rows.AddRange(MeasureRule(CautiousAdamW.Rule, 40, queue, pool, n, p, g, new[] { m, v }, new List<Case>(), rounds));
            }

            Console.WriteLine($"### Generated rules, {n >> 20}M floats ({rounds} rounds; load {LoadAverage()})");
            Console.WriteLine();
            Console.WriteLine("GB/s counts the minimal bytes (AdamW 28 B/param, Lion 20 B, copy 8 B). A device step is ClRuleRunner.Step:");
            Console.WriteLine("uniforms written, kernels launched, clFinish.");
            Console.WriteLine();
            Harness.Table(new[] { "rule", "case", "median ms", "min ms", "GB/s", "C fused ÷ this (speed)", "notes" }, rows);
        }

        /// <summary>One rule's cases: the given host/copy cases, the generated C# kernels, and the device's scalar and vector kernels.</summary>
        private static IEnumerable<string[]> MeasureRule(FusedRule rule, double bytes, ClQueue queue, WorkerPool pool, int n,
            float[] p, float[] g, float[][] states, List<Case> cases, int rounds)
        {
            var hypers = rule.DefaultHyperparameters();
            var shape = ShapeInfo.Vector(n);
            using var cpu = new CpuRuleRunner(rule, pool);
            var buffers = new[] { p, g }.Concat(states).ToArray();
            cases.Add(new Case("host: generated C# kernel", bytes, Counted(t => cpu.Step(hypers, t, shape, buffers)), KernelDispatch.Describe() + ", " + pool.DegreeOfParallelism + " threads"));
            var runners = new List<(ClRuleRunner Runner, ClTensorState Tensor)>();
            try
            {
                foreach (var shapeChoice in new[] { ClKernelShape.Scalar, ClKernelShape.Vector })
                {
                    var runner = new ClRuleRunner(rule, queue, kernels: shapeChoice);
                    var tensor = runner.Allocate(shape);
                    runners.Add((runner, tensor));
                    tensor.Upload("param", p);
                    tensor.Upload("grad", g);
                    cases.Add(new Case("device: " + shapeChoice.ToString().ToLowerInvariant() + " kernels", bytes,
                        Counted(t => runner.Step(hypers, t, tensor)), runner.Kernels.Description + ", local " + runner.LocalSize));
                }
                var results = Measure(cases, rounds);
                double fused = results.FirstOrDefault(r => r.Case.Name.StartsWith("host: C OpenMP fused", StringComparison.Ordinal)).Median;
                return results.Select(r => new[]
                {
                    rule.Name, r.Case.Name, Harness.F(r.Median * 1e3, 2), Harness.F(r.Min * 1e3, 2), Harness.F(r.Case.BytesPerElement * n / r.Median / 1e9, 1),
                    fused > 0 && r.Case.BytesPerElement == bytes ? Harness.F(fused / r.Median, 2) + "×" : "", r.Case.Notes,
                }).ToList();
            }
            finally
            {
                foreach (var (runner, tensor) in runners)
                {
                    tensor.Dispose();
                    runner.Dispose();
                }
            }
        }

        /// <summary>
        /// Adafactor on a side×side matrix next to AdamW on as many parameters, scalar and vector kernels, with the
        /// generated C# kernels on the host and the device's vector copy kernel for scale. Adafactor's minimal traffic is
        /// 24 B/param (3 row-wise passes; rows and columns of state not counted); on the device its reductions also write
        /// their operands and read them back (pass 0: Sum(param²), RowSum(g²), ColSum(g²); pass 1: Sum(u²)), 32 B more.
        /// </summary>
        private static void MeasureFactored(ClContext context, ClQueue queue, int side, int rounds)
        {
            int n = checked(side * side);
            var matrix = ShapeInfo.Matrix(side, side);
            var rnd = new Random(5);
            var p = new float[n];
            var g = new float[n];
            for (int i = 0; i < n; i++)
            {
                p[i] = (float)(rnd.NextDouble() - 0.5);
                g[i] = (float)((rnd.NextDouble() - 0.5) * 0.01);
            }
            int threads = Environment.ProcessorCount;
            using var pool = new WorkerPool(threads);
            var cases = new List<Case>();
            var disposables = new List<IDisposable>();
            try
            {
                ClBuffer copySource = context.CreateBuffer<float>(g);
                ClBuffer copyBuffer = context.CreateBuffer<float>(n);
                ClKernel vector = context.Programs.Get(CopySource).CreateKernel("copy_vload8");
                disposables.AddRange(new IDisposable[] { copySource, copyBuffer, vector });
                cases.Add(DeviceCopy(queue, vector, copySource, copyBuffer, n, 8, "copy kernel, vload8"));
                foreach (var (rule, bytes, shape, states) in new[]
                {
                    (AdamW.Rule, 28, ShapeInfo.Vector(n), new[] { new float[n], new float[n] }),
                    (Adafactor.Rule, 24, matrix, new[] { new float[side], new float[side] }),
                })
                {
                    var hypers = rule.DefaultHyperparameters();
                    foreach (var kernels in new[] { ClKernelShape.Vector, ClKernelShape.Scalar })
                    {
                        var runner = new ClRuleRunner(rule, queue, kernels: kernels);
                        var tensor = runner.Allocate(shape);
                        disposables.Add(runner);
                        disposables.Add(tensor);
                        tensor.Upload("param", p);
                        tensor.Upload("grad", g);
                        cases.Add(new Case($"{rule.Name}: device, {kernels.ToString().ToLowerInvariant()} kernels", bytes, Counted(t => runner.Step(hypers, t, tensor)),
                            runner.Kernels.Description + ", " + runner.Rule.PassCount + " pass(es)"));
                    }
                    var cpu = new CpuRuleRunner(rule, pool);
                    disposables.Add(cpu);
                    var buffers = new[] { (float[])p.Clone(), g }.Concat(states).ToArray();
                    cases.Add(new Case($"{rule.Name}: host, generated C# kernels", bytes, Counted(t => cpu.Step(hypers, t, shape, buffers)),
                        KernelDispatch.Describe() + ", " + threads + " threads"));
                }
                var results = Measure(cases, rounds);
                double Median(string name) => results.First(r => r.Case.Name == name).Median;
                Console.WriteLine($"### Adafactor {side}×{side} next to AdamW on {n >> 20}M parameters ({rounds} rounds; load {LoadAverage()})");
                Console.WriteLine();
                Console.WriteLine("GB/s counts the minimal bytes (Adafactor 24 B/param over 3 row-wise passes, AdamW 28 B, copy 8 B). Adafactor ÷ AdamW");
                Console.WriteLine("compares the medians of the same kind of run (device vector, device scalar, host).");
                Console.WriteLine();
                Harness.Table(new[] { "case", "median ms", "min ms", "GB/s", "Adafactor ÷ AdamW (time)", "notes" }, results.Select(r =>
                {
                    string ratio = "";
                    if (r.Case.Name.StartsWith("Adafactor: ", StringComparison.Ordinal))
                    {
                        ratio = Harness.F(r.Median / Median("AdamW: " + r.Case.Name.Substring("Adafactor: ".Length)), 2) + "×";
                    }
                    return new[]
                    {
                        r.Case.Name, Harness.F(r.Median * 1e3, 2), Harness.F(r.Min * 1e3, 2), Harness.F(r.Case.BytesPerElement * n / r.Median / 1e9, 1), ratio, r.Case.Notes,
                    };
                }));
            }
            finally
            {
                for (int i = disposables.Count - 1; i >= 0; i--)
                {
                    disposables[i].Dispose();
                }
            }
        }

        // ---- Shampoo ---------------------------------------------------------------------------------------------

        /// <summary>
        /// Shampoo on a side×side matrix: the device step, whose Precondition goes to the host and back (the share of the
        /// step spent there is <see cref="ClBackend.HostMatrixSeconds"/> over the device cases' time), and the host step.
        /// Roots are refreshed every 100 steps (the default), so most steps only accumulate and apply the statistics.
        /// </summary>
        private static void MeasureShampoo(ClQueue queue, int side, int rounds)
        {
            int n = side * side;
            var shape = ShapeInfo.Matrix(side, side);
            var rule = Shampoo.Rule;
            var hypers = rule.DefaultHyperparameters();
            var p = Filled(n, 1f);
            var g = Filled(n, 0.01f);
            int threads = Environment.ProcessorCount;
            using var pool = new WorkerPool(threads);
            using var runner = new ClRuleRunner(rule, queue);
            using var tensor = runner.Allocate(shape);
            tensor.Upload("param", p);
            tensor.Upload("grad", g);
            using var cpu = new CpuRuleRunner(rule, pool);
            var buffers = new[] { (float[])p.Clone(), g, new float[n], new float[n] };
            double deviceSeconds = 0;
            var cases = new List<Case>
            {
                new Case("Shampoo: device, Precondition on the host", 0, Counted(t =>
                {
                    long start = Stopwatch.GetTimestamp();
                    runner.Step(hypers, t, tensor);
                    deviceSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
                }), runner.Kernels.Description),
                new Case("Shampoo: host", 0, Counted(t => cpu.Step(hypers, t, shape, buffers)), threads + " threads"),
            };
            var results = Measure(cases, rounds);
            var backend = tensor.Backend;
            Console.WriteLine($"### Shampoo {side}×{side} ({rounds} rounds; load {LoadAverage()})");
            Console.WriteLine();
            Console.WriteLine($"On the device, {Harness.F(100 * backend.HostMatrixSeconds / deviceSeconds, 0)}% of the step time is the Precondition pass on the host,");
            Console.WriteLine($"transfers included ({backend.HostMatrixBytes / (rounds + 1) / 1024} KiB down and up per step).");
            Console.WriteLine();
            Harness.Table(new[] { "case", "median ms", "min ms", "notes" }, results.Select(r => new[]
            {
                r.Case.Name, Harness.F(r.Median * 1e3, 2), Harness.F(r.Min * 1e3, 2), r.Case.Notes,
            }));
        }

        private static Case DeviceCopy(ClQueue queue, ClKernel kernel, ClBuffer source, ClBuffer destination, int n, int perItem, string name)
        {
            long local = ClElementwise.ChooseLocalSize(kernel);
            long items = (n + (long)perItem - 1) / perItem;
            long global = (items + local - 1) / local * local;
            kernel.SetArg(0, source);
            kernel.SetArg(1, destination);
            kernel.SetArg(2, n);
            return new Case("device: " + name, 8, () =>
            {
                queue.Launch(kernel, global, local);
                queue.Finish();
            }, "local " + local);
        }

        /// <summary>An action that passes a step counter (1, 2, ...) to <paramref name="step"/>.</summary>
        private static Action Counted(Action<int> step)
        {
            int t = 0;
            return () => step(++t);
        }

        /// <summary>One warm-up call per case, then <paramref name="rounds"/> rounds running every case once; median and minimum seconds.</summary>
        private static List<(Case Case, double Median, double Min)> Measure(List<Case> cases, int rounds)
        {
            foreach (var c in cases)
            {
                c.Run();
            }
            var samples = cases.Select(_ => new List<double>()).ToList();
            for (int r = 0; r < rounds; r++)
            {
                for (int k = 0; k < cases.Count; k++)
                {
                    long start = Stopwatch.GetTimestamp();
                    cases[k].Run();
                    samples[k].Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }
            return cases.Select((c, k) =>
            {
                var s = samples[k].OrderBy(x => x).ToList();
                return (c, s[s.Count / 2], s[0]);
            }).ToList();
        }

        // ---- GEMM --------------------------------------------------------------------------------------------

        private static void MeasureGemm(ClContext context, ClQueue queue, int size, int iterations)
        {
            var random = new Random(1);
            var a = new float[size * size];
            var b = new float[size * size];
            for (int i = 0; i < a.Length; i++)
            {
                a[i] = (float)random.NextDouble();
                b[i] = (float)random.NextDouble();
            }
            using ClBuffer aBuffer = context.CreateBuffer<float>(a);
            using ClBuffer bBuffer = context.CreateBuffer<float>(b);
            using ClBuffer cBuffer = context.CreateBuffer<float>((long)size * size);
            var cases = new List<Case>
            {
                new Case("SGEMM NN", 0, () => { ClGemm.Sgemm(queue, false, false, size, size, size, 1f, aBuffer, bBuffer, 0f, cBuffer); queue.Finish(); }, ClGemm.Describe(context)),
                new Case("SGEMM TT", 0, () => { ClGemm.Sgemm(queue, true, true, size, size, size, 1f, aBuffer, bBuffer, 0f, cBuffer); queue.Finish(); }, "both operands transposed"),
            };
            Console.WriteLine($"### SGEMM {size}² ({iterations} rounds)");
            Console.WriteLine();
            Harness.Table(new[] { "case", "median ms", "GFLOP/s", "notes" }, Measure(cases, iterations).Select(r => new[]
            {
                r.Case.Name, Harness.F(r.Median * 1e3, 1), Harness.F(2.0 * size * size * size / r.Median / 1e9, 1), r.Case.Notes,
            }));
        }

        // ---- helpers -----------------------------------------------------------------------------------------

        private static float[] Filled(int n, float scale)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++)
            {
                a[i] = scale * MathF.Sin(0.001f * i);
            }
            return a;
        }

        private static string LoadAverage()
        {
            try
            {
                return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            }
            catch (IOException)
            {
                return "n/a";
            }
        }

        private static string Ms(double milliseconds) => milliseconds.ToString("0.0", CultureInfo.InvariantCulture);
    }
}
