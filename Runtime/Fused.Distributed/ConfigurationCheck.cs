using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Fused.Runtime.Engine;

namespace Fused.Distributed
{
    /// <summary>Every rank must build the same optimizer: a hash of each rank's description is exchanged, and on a mismatch the descriptions are, to name the difference.</summary>
    internal static class ConfigurationCheck
    {
        /// <summary>FNV-1a (64-bit) of the UTF-8 text: the same on every machine and process (string.GetHashCode is not).</summary>
        public static ulong Hash(string text)
        {
            ulong h = 14695981039346656037UL;
            foreach (byte b in Encoding.UTF8.GetBytes(text)) { h ^= b; h *= 1099511628211UL; }
            return h;
        }

        /// <summary>Collective. Returns when every rank's <paramref name="lines"/> are the same; otherwise every rank throws the same message.</summary>
        public static void Agree(ICollectives collectives, IReadOnlyList<string> lines)
        {
            string text = string.Join("\n", lines);
            int N = collectives.Size;
            var hashes = new long[N];
            collectives.AllGather(unchecked((long)Hash(text)), hashes);
            if (hashes.All(h => h == hashes[0])) return;

            var mine = Encoding.UTF8.GetBytes(text);
            var lengths = new long[N];
            collectives.AllGather(mine.Length, lengths);
            var all = new byte[lengths.Sum()];
            collectives.AllGatherV(mine, all, lengths.Select(l => checked((int)l)).ToArray());
            var texts = new string[N];
            int at = 0;
            for (int r = 0; r < N; r++) { texts[r] = Encoding.UTF8.GetString(all, at, (int)lengths[r]); at += (int)lengths[r]; }
            var differences = new List<string>();
            var reference = texts[0].Split('\n');
            for (int r = 1; r < N; r++)
            {
                if (hashes[r] == hashes[0]) continue;
                var other = texts[r].Split('\n');
                int line = 0;
                while (line < reference.Length && line < other.Length && reference[line] == other[line]) line++;
                differences.Add($"rank {r} has {Difference(line < other.Length ? other[line] : null, line < reference.Length ? reference[line] : null)} where rank 0 has {Difference(line < reference.Length ? reference[line] : null, line < other.Length ? other[line] : null)}");
            }
            throw new OptimizerConfigurationException($"ranks are configured differently: {string.Join("; ", differences)}");
        }

        /// <summary>The part of <paramref name="line"/> that differs from <paramref name="other"/>: its subject (before the first ':') and the first differing ", "-separated item.</summary>
        private static string Difference(string? line, string? other)
        {
            if (line == null) return "nothing";
            if (other == null) return $"\"{line}\"";
            var items = line.Split(", ");
            var others = other.Split(", ");
            int i = 0;
            while (i < items.Length && i < others.Length && items[i] == others[i]) i++;
            if (i == 0 || i >= items.Length) return $"\"{line}\"";
            int colon = line.IndexOf(':');
            return $"\"{(colon > 0 ? line.Substring(0, colon) + ": … " : "")}{items[i]}\"";
        }
    }
}
