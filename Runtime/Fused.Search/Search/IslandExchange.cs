using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Fused.Search.Storage;

namespace Fused.Search
{
    /// <summary>
    /// Island mode across hosts through a shared directory (NFS, a synced folder): every island is an independent search
    /// with its own database; each exports its top-k distinct programs to <c>DIR/NAME.top.json</c> (written to a
    /// temporary file and renamed, so a reader never sees half a file) and imports the other islands' files as
    /// immigrants. An immigrant is scored here, on this island's tasks and seeds (a score from elsewhere is never
    /// trusted), unless its functional hash is already known: it is offered like a child with an expired lease, so the
    /// next free worker evaluates it and admits it as the youngest member. Its lineage starts at the immigration
    /// ("immigrant from NAME …", no parent), since ids are per island.
    /// </summary>
    public sealed class IslandExchange
    {
        private sealed record Emigrant(string FunctionalHash, string StructuralHash, double Fitness, string Ir);

        private readonly SearchDatabase _db;
        private readonly int _populationSize;

        public IslandExchange(SearchDatabase db, string directory, string name, int migrants, int populationSize)
        {
            if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                throw new ArgumentException($"island name '{name}' cannot be a file name");
            if (migrants < 1) throw new ArgumentException("an island exchanges at least one program (--migrants ≥ 1)");
            Directory.CreateDirectory(directory);
            _db = db;
            ExchangeDirectory = directory;
            Name = name;
            Migrants = migrants;
            _populationSize = populationSize;
        }

        /// <summary>The shared directory the islands' files are in.</summary>
        public string ExchangeDirectory { get; }
        public string Name { get; }
        public int Migrants { get; }

        private const string Suffix = ".top.json";

        /// <summary>Writes this island's top-k distinct programs by fitness (parsimony breaks ties, as in tournaments).</summary>
        public void Export()
        {
            var top = new List<ProgramRecord>();
            foreach (var p in _db.TopPrograms(Migrants * 4))
            {
                if (top.Count == Migrants) break;
                if (top.All(t => t.FunctionalHash != p.FunctionalHash)) top.Add(p);
            }
            var text = JsonSerializer.Serialize(top.Select(p => new Emigrant(p.FunctionalHash, p.StructuralHash, p.Fitness, p.Ir)).ToList());
            string path = Path.Combine(ExchangeDirectory, Name + Suffix), temporary = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllText(temporary, text);
            File.Move(temporary, path, overwrite: true);
        }

        /// <summary>Offers the other islands' exported programs not known here; returns how many were new.</summary>
        public int Import(string owner)
        {
            int offered = 0;
            foreach (var file in Directory.GetFiles(ExchangeDirectory, "*" + Suffix).OrderBy(f => f, StringComparer.Ordinal))
            {
                string island = Path.GetFileName(file).Substring(0, Path.GetFileName(file).Length - Suffix.Length);
                if (island == Name) continue;
                List<Emigrant>? programs;
                try { programs = JsonSerializer.Deserialize<List<Emigrant>>(File.ReadAllText(file)); }
                catch (Exception e) when (e is IOException || e is JsonException) { continue; } // being replaced, or not ours: next time
                foreach (var p in programs ?? new List<Emigrant>())
                {
                    if (_db.GetEvaluation(p.FunctionalHash) != null) continue;
                    var child = new PendingChild(0, null, $"immigrant from {island} (fitness there {p.Fitness.ToString("F4", CultureInfo.InvariantCulture)})", "",
                        p.FunctionalHash, p.StructuralHash, p.Ir, owner);
                    // A zero lease: the claim is free for the next worker that looks for abandoned children.
                    if (_db.ClaimChild(child, TimeSpan.Zero, _populationSize, SearchSession.IsStale).outcome == SearchDatabase.ChildClaim.Claimed) offered++;
                }
            }
            return offered;
        }
    }
}
