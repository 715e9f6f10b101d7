using System;
using System.Globalization;
using System.IO;

namespace Fused.Benchmarks
{
    /// <summary>
    /// How much of a buffer transparent huge pages back (Linux, <c>/proc/self/smaps</c>): the AnonHugePages of the mapping
    /// that holds the buffer's first byte, against the mapping's size. Benchmarks report it beside their figures because a
    /// 64M-float stream over 4 KB pages pays a TLB miss per page while one over 2 MB pages does not.
    /// </summary>
    internal static class HugePages
    {
        /// <summary>"huge K of S kB" for the mapping containing <paramref name="address"/>, or "n/a" off Linux.</summary>
        public static string Describe(nint address)
            => Of(address) is { } m ? $"huge {m.HugeKb} of {m.SizeKb} kB" : "n/a";

        /// <summary>The AnonHugePages and size (kB) of the mapping containing <paramref name="address"/>; null off Linux or if not found.</summary>
        public static (long HugeKb, long SizeKb)? Of(nint address)
        {
            if (!OperatingSystem.IsLinux() || !File.Exists("/proc/self/smaps")) return null;
            ulong a = (ulong)address;
            bool inside = false;
            long size = 0;
            foreach (var line in File.ReadLines("/proc/self/smaps"))
            {
                int dash = line.IndexOf('-');
                int space = line.IndexOf(' ');
                if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
                {
                    ulong lo = ulong.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    ulong hi = ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    inside = lo <= a && a < hi;
                    continue;
                }
                if (!inside) continue;
                if (line.StartsWith("Size:", StringComparison.Ordinal)) size = Kilobytes(line);
                else if (line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                    return (Kilobytes(line), size);
            }
            return null;
        }

        private static bool IsHex(ReadOnlySpan<char> s)
        {
            foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return false;
            return s.Length > 0;
        }

        private static long Kilobytes(string line)
            => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
