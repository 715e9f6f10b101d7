using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;

namespace Fused.Search
{
    /// <summary>
    /// Runs N worker processes of a steady-state search on one database (<c>fused search --workers N</c>): the caller
    /// says how to start one worker; their output lines are relayed with a "[worker k]" prefix. Stopping: Ctrl+C reaches
    /// the workers themselves (same process group) and each gives its leases back; workers still running
    /// <see cref="StopGrace"/> after a cancellation are killed, and their children's leases are retaken by the next worker on this host at once (dead holder) or elsewhere
    /// when they expire.
    /// </summary>
    public static class WorkerProcesses
    {
        /// <summary>Starts <paramref name="count"/> workers made by <paramref name="worker"/> (given the worker's index) and waits; the exit code is the largest.</summary>
        public static int Run(TextWriter output, int count, Func<int, ProcessStartInfo> worker, CancellationToken ct)
        {
            var gate = new object();
            var processes = new List<Process>();
            var readers = new List<Thread>();
            try
            {
                for (int k = 0; k < count; k++)
                {
                    var psi = worker(k);
                    psi.UseShellExecute = false;
                    psi.RedirectStandardOutput = true;
                    psi.RedirectStandardError = true;
                    var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start worker " + k);
                    processes.Add(p);
                    string prefix = $"[worker {k + 1}, pid {p.Id}] ";
                    foreach (var stream in new[] { p.StandardOutput, p.StandardError })
                    {
                        var t = new Thread(() =>
                        {
                            string? line;
                            while ((line = stream.ReadLine()) != null) lock (gate) output.WriteLine(prefix + line);
                        }) { IsBackground = true };
                        t.Start();
                        readers.Add(t);
                    }
                }
                // Ctrl+C already reached the workers (same process group): give them time to hand their leases back.
                using (ct.Register(() => System.Threading.Tasks.Task.Delay(StopGrace).ContinueWith(_ =>
                       {
                           foreach (var p in processes) try { if (!p.HasExited) p.Kill(); } catch (InvalidOperationException) { }
                       })))
                    foreach (var p in processes) p.WaitForExit();
                foreach (var t in readers) t.Join(5000);
                return processes.Max(p => p.ExitCode);
            }
            finally
            {
                foreach (var p in processes) p.Dispose();
            }
        }

        /// <summary>How long stopped workers get to finish on their own before they are killed.</summary>
        public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

        /// <summary>How to start this program again with other arguments: the apphost, or the dotnet host with the entry assembly.</summary>
        public static ProcessStartInfo Self(IEnumerable<string> arguments)
        {
            var host = Environment.ProcessPath ?? "dotnet";
            var psi = new ProcessStartInfo(host);
            if (Path.GetFileNameWithoutExtension(host) == "dotnet" && System.Reflection.Assembly.GetEntryAssembly()?.Location is { Length: > 0 } dll)
                psi.ArgumentList.Add(dll);
            foreach (var a in arguments) psi.ArgumentList.Add(a);
            return psi;
        }
    }
}
