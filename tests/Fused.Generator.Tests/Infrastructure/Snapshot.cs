using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Xunit.Sdk;

namespace Fused.Generator.Tests.Infrastructure
{
    /// <summary>
    /// Snapshot files of our own: <c>_snapshots/{name}.verified.cs</c> beside the test sources. On a
    /// mismatch the actual text goes to <c>{name}.received.cs</c> and the test fails with a line diff;
    /// with <c>FUSED_ACCEPT_SNAPSHOTS=1</c> the verified file is overwritten instead.
    /// </summary>
    public static class Snapshot
    {
        public const string AcceptVariable = "FUSED_ACCEPT_SNAPSHOTS";
        private const int MaxDiffLines = 40;

        public static bool Accepting => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

        public static void Match(string actual, string name) => Match(actual, name, TestPaths.SnapshotDirectory, Accepting);

        /// <summary>The comparison itself, with the directory and mode explicit (so it can be tested).</summary>
        public static void Match(string actual, string name, string directory, bool accept)
        {
            string normalized = Normalize(actual);
            string verifiedPath = Path.Combine(directory, name + ".verified.cs");
            string receivedPath = Path.Combine(directory, name + ".received.cs");
            Directory.CreateDirectory(directory);

            if (accept)
            {
                File.WriteAllText(verifiedPath, normalized, new UTF8Encoding(false));
                if (File.Exists(receivedPath)) File.Delete(receivedPath);
                return;
            }
            if (!File.Exists(verifiedPath))
            {
                File.WriteAllText(receivedPath, normalized, new UTF8Encoding(false));
                throw new XunitException(
                    $"Snapshot '{name}' has no verified file. The output was written to {receivedPath}; " +
                    $"review it and rename it to {Path.GetFileName(verifiedPath)}, or run with {AcceptVariable}=1.");
            }
            string expected = Normalize(File.ReadAllText(verifiedPath));
            if (expected == normalized)
            {
                if (File.Exists(receivedPath)) File.Delete(receivedPath);
                return;
            }
            File.WriteAllText(receivedPath, normalized, new UTF8Encoding(false));
            throw new XunitException(
                $"Snapshot '{name}' differs from {verifiedPath} (received: {receivedPath}; accept with {AcceptVariable}=1).\n" +
                LineDiff.Render(expected, normalized, MaxDiffLines));
        }

        /// <summary>LF line endings, no BOM, exactly one final newline.</summary>
        public static string Normalize(string text) =>
            text.TrimStart('\uFEFF').Replace("\r\n", "\n").Replace('\r', '\n').TrimEnd('\n') + "\n";
    }

    /// <summary>A unified-style line diff (LCS), enough to see what changed in a snapshot.</summary>
    public static class LineDiff
    {
        public static string Render(string expected, string actual, int maxLines)
        {
            var a = expected.Split('\n');
            var b = actual.Split('\n');
            var edits = Diff(a, b);
            var sb = new StringBuilder();
            sb.Append("--- verified\n+++ received\n");
            int shown = 0, hidden = 0;
            foreach (var (kind, line, text) in edits)
            {
                if (kind == ' ') continue;
                if (shown >= maxLines) { hidden++; continue; }
                sb.Append(kind).Append(' ').Append((line + 1).ToString().PadLeft(5)).Append(": ").Append(text).Append('\n');
                shown++;
            }
            if (hidden > 0) sb.Append($"... and {hidden} more differing line(s)\n");
            return sb.ToString();
        }

        /// <summary>Edits as ('-', line in expected, text), ('+', line in actual, text) or (' ', line, text).</summary>
        public static List<(char Kind, int Line, string Text)> Diff(string[] a, string[] b)
        {
            // Trim the common prefix and suffix so the quadratic table only covers the changed middle.
            int start = 0;
            while (start < a.Length && start < b.Length && a[start] == b[start]) start++;
            int endA = a.Length, endB = b.Length;
            while (endA > start && endB > start && a[endA - 1] == b[endB - 1]) { endA--; endB--; }
            int n = endA - start, m = endB - start;
            var result = new List<(char, int, string)>();
            for (int i = 0; i < start; i++) result.Add((' ', i, a[i]));
            if ((long)n * m > 25_000_000)
            {
                // Too big to align: show it as a block replacement.
                for (int i = 0; i < n; i++) result.Add(('-', start + i, a[start + i]));
                for (int j = 0; j < m; j++) result.Add(('+', start + j, b[start + j]));
            }
            else
            {
                var lcs = new int[n + 1, m + 1];
                for (int i = n - 1; i >= 0; i--)
                    for (int j = m - 1; j >= 0; j--)
                        lcs[i, j] = a[start + i] == b[start + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
                int x = 0, y = 0;
                while (x < n || y < m)
                {
                    if (x < n && y < m && a[start + x] == b[start + y]) { result.Add((' ', start + x, a[start + x])); x++; y++; }
                    else if (x < n && (y == m || lcs[x + 1, y] >= lcs[x, y + 1])) { result.Add(('-', start + x, a[start + x])); x++; }
                    else { result.Add(('+', start + y, b[start + y])); y++; }
                }
            }
            for (int i = endA; i < a.Length; i++) result.Add((' ', i, a[i]));
            return result;
        }
    }
}
