using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace Fused.Distributed.Tests
{
    /// <summary>Starts the test host (or, linked into Fused.Demo.Tests, the demo) under <c>mpirun --allow-run-as-root --oversubscribe -np N</c> with a deadline; never hangs a test run.</summary>
    internal static class MpiRun
    {
        public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut);

        /// <summary>The host's own build output: tests/Fused.Distributed.TestHost/bin/&lt;configuration&gt;/net10.0 beside this project's.</summary>
        private static string HostPath()
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string framework = here.Name, configuration = here.Parent!.Name;
            var tests = here.Parent!.Parent!.Parent!.Parent!.FullName;
            string path = Path.Combine(tests, "Fused.Distributed.TestHost", "bin", configuration, framework, "Fused.Distributed.TestHost.dll");
            if (!File.Exists(path)) throw new FileNotFoundException($"the MPI test host was not built: {path}");
            return path;
        }

        private static string MpiRunPath()
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
                if (dir.Length > 0 && File.Exists(Path.Combine(dir, "mpirun"))) return Path.Combine(dir, "mpirun");
            throw new InvalidOperationException("mpirun is not installed: these tests need Open MPI ('apt-get install openmpi-bin'; ./build.sh test installs it)");
        }

        public static Result Run(int ranks, string mode, TimeSpan deadline, params string[] arguments) =>
            Launch(ranks, deadline, "dotnet", new[] { HostPath(), mode }.Concat(arguments).ToArray());

        /// <summary>
        /// <c>mpirun ... -np ranks program arguments</c>, or with <paramref name="ranks"/> 0 the program alone (no MPI
        /// environment); standard output and error captured together; killed past <paramref name="deadline"/>.
        /// </summary>
        public static Result Launch(int ranks, TimeSpan deadline, string program, params string[] arguments)
        {
            var start = new ProcessStartInfo(ranks > 0 ? MpiRunPath() : program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // OpenBLAS sizes its threads from the CPUs a rank is bound to (mpirun binds 2 ranks to a core each, 3 to a socket),
            // and its matrix products and eigendecompositions round differently per thread count: pinned, so Muon and
            // Shampoo checkpoints of one world size resume bit for bit in another.
            if (ranks > 0)
                foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS", "-np", ranks.ToString(), program })
                    start.ArgumentList.Add(a);
            foreach (var a in arguments) start.ArgumentList.Add(a);
            start.Environment["OPENBLAS_NUM_THREADS"] = "1";
            // Containers often forbid the cross-memory-attach single copy shared memory would use.
            start.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
            start.Environment["TERM"] = "dumb"; // no terminal-mode escapes from the runtime in the captured output
            start.Environment.Remove("OMPI_COMM_WORLD_SIZE"); // a program started alone is never a rank
            var output = new StringBuilder();
            var clock = Stopwatch.StartNew();
            using var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            bool exited = process.WaitForExit((int)deadline.TotalMilliseconds);
            if (!exited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) return new Result(exited ? process.ExitCode : -1, output.ToString(), clock.Elapsed, !exited);
        }
    }
}
