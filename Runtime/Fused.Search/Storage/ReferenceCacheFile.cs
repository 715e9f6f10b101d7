using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Fused.Search.Storage
{
    /// <summary>
    /// AdamW's tunings and reference curves as a text file, one "key TAB value" line each (keys <c>adamw_…</c>, as the
    /// scorers cache them): what <c>fused search validate --adamw-cache</c> imports, the harness's cache beside its
    /// database, and <c>Runtime/Fused.Search/Runs/adamw-heldout-*.cache</c>.
    /// </summary>
    public static class ReferenceCacheFile
    {
        /// <summary>The file's entries (a later line wins); a missing file or a line that is not an entry is a one-line error naming it.</summary>
        public static Dictionary<string, string> Read(string path)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file (an AdamW cache file, like Runtime/Fused.Search/Runs/adamw-heldout-full.cache)", path);
            var entries = new Dictionary<string, string>();
            int lineNo = 0;
            foreach (var line in File.ReadLines(path))
            {
                lineNo++;
                if (line.Length == 0) continue;
                int tab = line.IndexOf('\t');
                if (tab <= 0 || !line.StartsWith("adamw_", StringComparison.Ordinal))
                    throw new InvalidDataException($"{path}, line {lineNo}: not an AdamW cache entry (\"adamw_… TAB value\")");
                entries[line.Substring(0, tab)] = line.Substring(tab + 1);
            }
            return entries;
        }

        /// <summary>Adds one entry at the end (several processes may append to one file).</summary>
        public static void Append(string path, string key, string value) => File.AppendAllText(path, Line(key, value) + "\n");

        /// <summary>Writes the entries as a new file.</summary>
        public static void Write(string path, IEnumerable<KeyValuePair<string, string>> entries) => File.WriteAllLines(path, entries.Select(e => Line(e.Key, e.Value)));

        private static string Line(string key, string value)
        {
            if (key.Contains('\t') || key.Contains('\n') || value.Contains('\n')) throw new ArgumentException($"cache entry '{key}' cannot be written as one line");
            return key + "\t" + value;
        }
    }
}
