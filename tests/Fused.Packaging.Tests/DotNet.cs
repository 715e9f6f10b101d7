using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace Fused.Packaging.Tests
{
    /// <summary>The outcome of one child process: exit code and everything it printed, in order.</summary>
    public sealed record ProcessResult(string CommandLine, int ExitCode, string Output, TimeSpan Elapsed)
    {
        public override string ToString() => $"$ {CommandLine}\n(exit {ExitCode} after {Elapsed.TotalSeconds:F1} s)\n{Output}";
    }

    /// <summary>Runs the `dotnet` CLI as a child process, the way a user would from a shell.</summary>
    public static class DotNet
    {
        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(4);

        /// <summary>
        /// Runs <c>dotnet args</c> in <paramref name="workingDirectory"/>. The test host's MSBuild variables are
        /// removed (they would point the child at the host's SDK resolver state), build servers and node reuse are
        /// off (a lingering server keeps our output pipes open), and <paramref name="environment"/> is applied last.
        /// </summary>
        public static ProcessResult Run(string workingDirectory, IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
        {
            var info = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            foreach (string a in args) info.ArgumentList.Add(a);
            foreach (string key in info.Environment.Keys.ToArray())
                if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key == "DOTNET_HOST_PATH" || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                    info.Environment.Remove(key);
            info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
            info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
            info.Environment["UseSharedCompilation"] = "false";
            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            info.Environment["DOTNET_NOLOGO"] = "1";
            info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
            info.Environment["DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE"] = "true";
            if (environment is not null)
                foreach (var (key, value) in environment)
                {
                    if (value is null) info.Environment.Remove(key);
                    else info.Environment[key] = value;
                }

            string commandLine = "dotnet " + string.Join(" ", args);
            var output = new StringBuilder();
            var watch = Stopwatch.StartNew();
            using var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.Start();
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var limit = timeout ?? DefaultTimeout;
            if (!process.WaitForExit((int)limit.TotalMilliseconds))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit(10_000);
                throw new TimeoutException($"'{commandLine}' in {workingDirectory} did not finish within {limit.TotalSeconds:F0} s; output so far:\n{Snapshot(output)}");
            }

            process.WaitForExit(); // drains the asynchronous readers
            return new ProcessResult(commandLine, process.ExitCode, Snapshot(output), watch.Elapsed);
        }

        /// <summary>Like <see cref="Run"/>, but a non-zero exit fails with the full command output.</summary>
        public static ProcessResult Check(string workingDirectory, IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
        {
            var result = Run(workingDirectory, args, environment, timeout);
            if (result.ExitCode != 0) throw new InvalidOperationException("command failed:\n" + result);
            return result;
        }

        private static string Snapshot(StringBuilder output)
        {
            lock (output) return output.ToString();
        }

        /// <summary>The repository root (the folder holding Fused.sln) above the test assembly.</summary>
        public static string RepositoryRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Fused.sln"))) return dir.FullName;
            throw new InvalidOperationException($"no Fused.sln above {AppContext.BaseDirectory}");
        }
    }
}
