using System;
using System.IO;
using System.Linq;
using Fused.Runtime.Checkpoints;

namespace Fused.Distributed
{
    public sealed partial class ShardedOptimizer
    {
        /// <summary>
        /// Collective. Saves into <paramref name="directory"/> (shared by every rank): each rank its engine's checkpoint
        /// (atomic, see <see cref="Fused.Runtime.Engine.FusedOptimizer.Save"/>), then rank 0 the index, then each rank
        /// removes its files of earlier saves. A failure anywhere fails every rank (naming the rank) and leaves the previous
        /// index and its files usable.
        /// </summary>
        public void Save(string directory)
        {
            int N = WorldSize;
            var files = Enumerable.Range(0, N).Select(r => _segments[r].Length == 0 ? null : ShardedCheckpoint.ShardFileName(r, N, StepCount)).ToArray();
            Exception? failure = null;
            try
            {
                Directory.CreateDirectory(directory);
                _engine?.Save(Path.Combine(directory, files[Rank]!));
            }
            catch (Exception e) { failure = e; }
            AgreeOrThrow(failure, "saving the shards", "kept the previous checkpoint's index");
            try
            {
                if (Rank == 0)
                    ShardedCheckpoint.WriteIndex(directory, new ShardedCheckpoint.Index(N, StepCount, SkippedSteps, IndexParameters, _segments, files));
            }
            catch (Exception e) { failure = e; }
            AgreeOrThrow(failure, "writing index.json", "wrote its shard, but the index still names the previous checkpoint");
            foreach (var stale in Directory.EnumerateFiles(directory, $"rank{Rank:D5}-of-*.safetensors"))
                if (Path.GetFileName(stale) != files[Rank]) File.Delete(stale);
        }

        /// <summary>
        /// Collective. Resumes from a sharded checkpoint in <paramref name="directory"/>: saved with this world size and
        /// plan, each rank loads its own shard (bit for bit what was saved); otherwise the shards are consolidated (rank 0)
        /// and each rank loads its cut of that (resharding). The parameters then come from their owners. Everything is
        /// checked before anything changes on any rank; a mismatch is a <see cref="CheckpointException"/> on the rank that
        /// found it and a <see cref="ShardedStepException"/> naming it on the others.
        /// </summary>
        public void Load(string directory)
        {
            ShardedCheckpoint.Index? index = null;
            Exception? failure = null;
            try
            {
                index = ShardedCheckpoint.ReadIndex(directory);
                CheckParameters(index.Parameters, Path.Combine(directory, ShardedCheckpoint.IndexFileName));
            }
            catch (Exception e) { failure = e; }
            AgreeOrThrow(failure, "reading the checkpoint index", "changed nothing");
            bool samePlan = index!.WorldSize == WorldSize && Enumerable.Range(0, WorldSize).All(r => index.Segments[r].SequenceEqual(_segments[r]));
            if (samePlan)
            {
                try { if (_engine != null) _engine.Load(Path.Combine(directory, index.Files[Rank]!)); }
                catch (Exception e) { failure = e; }
                AgreeOrThrow(failure, "loading the shards", "may have loaded its own shard; the parameters were not gathered");
                Resume(index.Step, index.SkippedSteps);
                return;
            }
            string consolidated = Path.Combine(directory, $".consolidated-for-{WorldSize}-ranks.safetensors");
            try { if (Rank == 0) ShardedCheckpoint.Consolidate(directory, consolidated); }
            catch (Exception e) { failure = e; }
            AgreeOrThrow(failure, "consolidating the shards to reshard them", "changed nothing");
            try { LoadSlice(consolidated); }
            catch (Exception e) { failure = e; }
            AgreeOrThrow(failure, $"loading the resharded checkpoint ({index.WorldSize} → {WorldSize} ranks)", "may have loaded its own shard; the parameters were not gathered");
            _collectives.Barrier();
            if (Rank == 0) File.Delete(consolidated);
            Resume(index.Step, index.SkippedSteps);
        }

        /// <summary>
        /// Collective. Loads an ordinary single-process checkpoint (<see cref="Fused.Runtime.Engine.FusedOptimizer.Save"/>, or
        /// <see cref="ShardedCheckpoint.Consolidate"/>) into this world: each rank cuts its segments out of it.
        /// </summary>
        public void LoadConsolidated(string checkpoint)
        {
            Exception? failure = null;
            long step = 0, skipped = 0;
            try
            {
                var metadata = SafeTensorsFile.Load(checkpoint).Metadata;
                step = long.Parse(metadata["fused.optimizer.step"], System.Globalization.CultureInfo.InvariantCulture);
                skipped = long.Parse(metadata["fused.optimizer.skipped_steps"], System.Globalization.CultureInfo.InvariantCulture);
                LoadSlice(checkpoint);
            }
            catch (Exception e) when (e is not CheckpointException) { failure = new CheckpointException(checkpoint, e.Message, e); }
            catch (Exception e) { failure = e; }
            AgreeOrThrow(failure, $"loading {checkpoint}", "may have loaded its own shard; the parameters were not gathered");
            Resume(step, skipped);
        }

        /// <summary>
        /// Collective. Writes one ordinary checkpoint at <paramref name="path"/> that a single process loads: the state is
        /// saved sharded into <paramref name="path"/>.shards/ and rank 0 merges it (the shard directory is kept: it is a
        /// valid sharded checkpoint too).
        /// </summary>
        public void SaveConsolidated(string path)
        {
            string shards = path + ".shards";
            Save(shards);
            Exception? failure = null;
            try { if (Rank == 0) ShardedCheckpoint.Consolidate(shards, path); }
            catch (Exception e) { failure = e; }
            AgreeOrThrow(failure, $"consolidating into {path}", "saved its shard only");
        }

        private void LoadSlice(string checkpoint)
        {
            if (_engine == null) return;
            string slice = Path.Combine(Path.GetTempPath(), $"fused-reshard-{Environment.ProcessId}-rank{Rank}.safetensors");
            try
            {
                ShardedCheckpoint.Slice(checkpoint, IndexParameters, _segments[Rank], slice);
                _engine.Load(slice);
            }
            finally
            {
                File.Delete(slice);
            }
        }

        private void CheckParameters(System.Collections.Generic.IReadOnlyList<ShardedCheckpoint.IndexParameter> saved, string path)
        {
            var problems = new System.Collections.Generic.List<string>();
            if (saved.Count != IndexParameters.Count) problems.Add($"it holds {saved.Count} parameters, this optimizer has {IndexParameters.Count}");
            for (int i = 0; i < Math.Min(saved.Count, IndexParameters.Count); i++)
            {
                var a = saved[i];
                var b = IndexParameters[i];
                if (a.Name != b.Name || !a.Shape.SequenceEqual(b.Shape) || a.Group != b.Group)
                    problems.Add($"parameter #{i} is '{a.Name}' [{string.Join(", ", a.Shape)}] in group '{a.Group}', here '{b.Name}' [{string.Join(", ", b.Shape)}] in group '{b.Group}'");
            }
            if (problems.Count > 0) throw new CheckpointException(path, string.Join("; ", problems));
        }

        private void Resume(long step, long skipped)
        {
            StepCount = step;
            SkippedSteps = skipped;
            GatherParameters();
        }
    }
}
