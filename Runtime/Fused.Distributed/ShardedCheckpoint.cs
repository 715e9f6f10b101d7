using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fused.Runtime.Checkpoints;

namespace Fused.Distributed
{
    /// <summary>
    /// Sharded checkpoints: a directory with one ordinary engine checkpoint per rank (its segments, named as in its
    /// engine: <c>w</c> for a whole tensor, <c>w[start:end]</c> for a piece) and <c>index.json</c>, written last, naming
    /// the world size, step, parameters and each rank's segments and file. Shard files carry the step in their name, so
    /// a save killed halfway leaves the previous index and its files intact. <see cref="Consolidate"/> merges the shards
    /// into one ordinary checkpoint a single process loads; <see cref="Slice"/> cuts an ordinary checkpoint into one
    /// rank's shard (resharding: any checkpoint loads into any number of ranks).
    /// </summary>
    public static class ShardedCheckpoint
    {
        public const string IndexFileName = "index.json";
        private const string Format = "fused.sharded-optimizer";
        private const int Version = 1;
        private const string KeyParameters = "fused.optimizer.parameters";
        private const string KeyGroups = "fused.optimizer.groups";
        private const int Int8Block = Fused.Runtime.Engine.FusedOptimizer.Int8BlockSize;

        /// <summary>What <c>index.json</c> holds.</summary>
        public sealed record Index(int WorldSize, long Step, long SkippedSteps, IReadOnlyList<IndexParameter> Parameters,
            IReadOnlyList<IReadOnlyList<ShardSegment>> Segments, IReadOnlyList<string?> Files);

        /// <summary>A full parameter as the index names it.</summary>
        public sealed record IndexParameter(string Name, long[] Shape, string Group)
        {
            public long Numel => Shape.Aggregate(1L, (a, d) => a * d);
        }

        internal static string ShardFileName(int rank, int worldSize, long step) => $"rank{rank:D5}-of-{worldSize:D5}.step{step}.safetensors";

        /// <summary>Writes the index atomically (a temporary file renamed over the old one).</summary>
        internal static void WriteIndex(string directory, Index index)
        {
            var json = new JsonObject
            {
                ["format"] = Format,
                ["version"] = Version,
                ["world_size"] = index.WorldSize,
                ["step"] = index.Step,
                ["skipped_steps"] = index.SkippedSteps,
                ["parameters"] = new JsonArray(index.Parameters.Select(p => (JsonNode)new JsonObject
                {
                    ["name"] = p.Name,
                    ["shape"] = new JsonArray(p.Shape.Select(d => (JsonNode)JsonValue.Create(d)!).ToArray()),
                    ["group"] = p.Group,
                }).ToArray()),
                ["ranks"] = new JsonArray(Enumerable.Range(0, index.WorldSize).Select(r => (JsonNode)new JsonObject
                {
                    ["file"] = index.Files[r],
                    ["segments"] = new JsonArray(index.Segments[r].Select(s => (JsonNode)new JsonArray(s.Tensor, s.Start, s.Count)).ToArray()),
                }).ToArray()),
            };
            string path = Path.Combine(directory, IndexFileName), temporary = path + $".tmp{Environment.ProcessId}";
            File.WriteAllText(temporary, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.Move(temporary, path, overwrite: true);
        }

        /// <summary>Reads <c>index.json</c> of <paramref name="directory"/>.</summary>
        /// <exception cref="CheckpointException">Missing, not ours, or malformed.</exception>
        public static Index ReadIndex(string directory)
        {
            string path = Path.Combine(directory, IndexFileName);
            if (!File.Exists(path)) throw new CheckpointException(path, "no sharded checkpoint here (index.json is missing)");
            try
            {
                var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
                if ((string?)json["format"] != Format) throw new CheckpointException(path, $"format is '{json["format"]}', expected '{Format}'");
                if ((int)json["version"]! != Version) throw new CheckpointException(path, $"version {json["version"]}; this build reads version {Version}");
                var parameters = json["parameters"]!.AsArray().Select(p => new IndexParameter((string)p!["name"]!,
                    p["shape"]!.AsArray().Select(d => (long)d!).ToArray(), (string)p["group"]!)).ToArray();
                var ranks = json["ranks"]!.AsArray();
                int world = (int)json["world_size"]!;
                if (ranks.Count != world) throw new CheckpointException(path, $"world size {world} but {ranks.Count} ranks listed");
                var segments = ranks.Select(r => (IReadOnlyList<ShardSegment>)r!["segments"]!.AsArray()
                    .Select(s => new ShardSegment((int)s![0]!, (long)s[1]!, (long)s[2]!)).ToArray()).ToArray();
                var files = ranks.Select(r => (string?)r!["file"]).ToArray();
                return new Index(world, (long)json["step"]!, (long)json["skipped_steps"]!, parameters, segments, files);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or ArgumentException or IndexOutOfRangeException)
            {
                throw new CheckpointException(path, $"index.json is malformed: {e.Message}", e);
            }
        }

        private static string LocalName(IndexParameter p, ShardSegment s) => s.Count == p.Numel ? p.Name : ShardedOptimizer.SegmentName(p.Name, s);

        /// <summary>The tensors of a checkpoint that belong to parameter <paramref name="name"/>: the parameter itself and "name.*".</summary>
        private static IEnumerable<SafeTensor> TensorsOf(SafeTensorsFile file, string name)
            => file.Tensors.Where(t => t.Name == name || (t.Name.StartsWith(name, StringComparison.Ordinal) && t.Name.Length > name.Length && t.Name[name.Length] == '.'));

        /// <summary>
        /// Merges the shards in <paramref name="directory"/> into one ordinary checkpoint at <paramref name="output"/> that
        /// a single-process <see cref="Fused.Runtime.Engine.FusedOptimizer"/> with the same routes loads. Pieces of a
        /// tensor are concatenated (element states, bfloat16 bits, 8-bit codes and their absmax scales: pieces start at
        /// multiples of 1024 elements, so 8-bit blocks never straddle two); a piece's scalar states are the same in every
        /// piece and taken from the first. Runs in one process, no MPI.
        /// </summary>
        public static void Consolidate(string directory, string output)
        {
            var index = ReadIndex(directory);
            var files = index.Files.Select(f => f == null ? null : SafeTensorsFile.Load(Path.Combine(directory, f))).ToArray();
            var writer = new SafeTensorsWriter();
            var first = files.First(f => f != null)!;
            for (int t = 0; t < index.Parameters.Count; t++)
            {
                var p = index.Parameters[t];
                var pieces = Enumerable.Range(0, index.WorldSize)
                    .SelectMany(r => index.Segments[r].Where(s => s.Tensor == t).Select(s => (Segment: s, File: files[r]!)))
                    .OrderBy(x => x.Segment.Start).ToArray();
                if (pieces.Length == 1 && pieces[0].Segment.Count == p.Numel)
                {
                    foreach (var tensor in TensorsOf(pieces[0].File, p.Name)) writer.Add(tensor.Name, tensor.DType, tensor.Shape.ToArray(), tensor.Data);
                    continue;
                }
                string firstName = LocalName(p, pieces[0].Segment);
                foreach (var tensor in TensorsOf(pieces[0].File, firstName))
                {
                    string suffix = tensor.Name.Substring(firstName.Length);
                    if (tensor.Shape.Count == 0) { writer.Add(p.Name + suffix, tensor.DType, Array.Empty<long>(), tensor.Data); continue; }
                    var bytes = new byte[pieces.Sum(x => (long)x.File[LocalName(p, x.Segment) + suffix].Data.Length)];
                    long at = 0;
                    foreach (var (segment, file) in pieces)
                    {
                        var data = file[LocalName(p, segment) + suffix].Data.Span;
                        data.CopyTo(bytes.AsSpan((int)at));
                        at += data.Length;
                    }
                    long elements = bytes.LongLength / SafeTensorsDTypes.SizeOf(tensor.DType);
                    writer.Add(p.Name + suffix, tensor.DType, elements == p.Numel ? p.Shape : new[] { elements }, bytes);
                }
            }
            CopyMetadata(first, writer, index.Parameters.Select(p => (p.Name, p.Shape, p.Group)).ToArray(), files.Where(f => f != null)!);
            writer.Write(output);
        }

        /// <summary>
        /// Writes rank <paramref name="rank"/>'s shard of the ordinary checkpoint <paramref name="checkpoint"/> for the
        /// segments <paramref name="segments"/> (of <paramref name="parameters"/>) to <paramref name="output"/>: what that
        /// rank's engine loads. The inverse of <see cref="Consolidate"/>.
        /// </summary>
        public static void Slice(string checkpoint, IReadOnlyList<IndexParameter> parameters, IReadOnlyList<ShardSegment> segments, string output)
        {
            var file = SafeTensorsFile.Load(checkpoint);
            var writer = new SafeTensorsWriter();
            var mine = new List<(string Name, long[] Shape, string Group)>();
            foreach (var s in segments)
            {
                var p = parameters[s.Tensor];
                string local = LocalName(p, s);
                mine.Add((local, s.Count == p.Numel ? p.Shape : new[] { s.Count }, p.Group));
                foreach (var tensor in TensorsOf(file, p.Name))
                {
                    string name = local + tensor.Name.Substring(p.Name.Length);
                    int size = SafeTensorsDTypes.SizeOf(tensor.DType);
                    if (s.Count == p.Numel || tensor.Shape.Count == 0) writer.Add(name, tensor.DType, tensor.Shape.ToArray(), tensor.Data);
                    else if (tensor.ElementCount == p.Numel)
                        writer.Add(name, tensor.DType, new[] { s.Count }, tensor.Data.Slice((int)(s.Start * size), (int)(s.Count * size)));
                    else if (tensor.Name.EndsWith(".absmax", StringComparison.Ordinal))
                    {
                        long from = s.Start / Int8Block, to = (s.End + Int8Block - 1) / Int8Block;
                        writer.Add(name, tensor.DType, new[] { to - from }, tensor.Data.Slice((int)(from * size), (int)((to - from) * size)));
                    }
                    else throw new CheckpointException(checkpoint, $"tensor '{tensor.Name}' cannot be cut for the piece {local} (shape [{string.Join(", ", tensor.Shape)}])");
                }
            }
            CopyMetadata(file, writer, mine, new[] { file });
            writer.Write(output);
        }

        /// <summary>
        /// The engine's metadata from <paramref name="source"/> with the parameter list replaced by <paramref name="parameters"/>
        /// and each group's member list restricted to them (groups without members dropped; a group's description taken
        /// from the first of <paramref name="groupSources"/> that has it).
        /// </summary>
        private static void CopyMetadata(SafeTensorsFile source, SafeTensorsWriter writer, IReadOnlyList<(string Name, long[] Shape, string Group)> parameters,
            IEnumerable<SafeTensorsFile> groupSources)
        {
            foreach (var (key, value) in source.Metadata)
                if (key != SafeTensorsChecksum.MetadataKey && key != KeyParameters && key != KeyGroups) writer.AddMetadata(key, value);
            writer.AddMetadata(KeyParameters, new JsonArray(parameters.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name,
                ["shape"] = new JsonArray(p.Shape.Select(d => (JsonNode)JsonValue.Create(d)!).ToArray()),
                ["group"] = p.Group,
            }).ToArray()).ToJsonString());
            var groups = new List<JsonObject>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in groupSources)
                foreach (var g in JsonNode.Parse(file.Metadata[KeyGroups])!.AsArray())
                {
                    string name = (string)g!["name"]!;
                    var members = parameters.Where(p => p.Group == name).Select(p => (JsonNode)JsonValue.Create(p.Name)!).ToArray();
                    if (members.Length == 0 || !seen.Add(name)) continue;
                    var copy = g.DeepClone().AsObject();
                    copy["parameters"] = new JsonArray(members);
                    groups.Add(copy);
                }
            writer.AddMetadata(KeyGroups, new JsonArray(groups.Select(g => (JsonNode)g).ToArray()).ToJsonString());
        }
    }
}
