using System;
using System.Collections.Generic;
using System.Text;

namespace Fused.Testing
{
    /// <summary>A unified-style line diff (LCS), enough to see what changed in a snapshot.</summary>
    public static class LineDiff
    {
        /// <summary>
        /// The differing lines of <paramref name="expected"/> (<c>-</c>) and <paramref name="actual"/> (<c>+</c>), numbered
        /// from 1, at most <paramref name="maxLines"/> of them.
        /// </summary>
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
