using System;
using System.IO;
using Fused.Catalog;
using Fused.Distributed.Mpi;
using Fused.Runtime.Engine;
using Fused.Runtime.Kernels;

namespace Fused.Distributed.TestHost
{
    /// <summary>
    /// Checkpoints across world sizes. "save DIR": N ranks step twice, save a consolidated checkpoint (and its shards),
    /// step twice more; a fresh sharded optimizer resuming from the shards, and one process loading the consolidated
    /// file, must reach the same parameters bit for bit. "resume DIR M": N ranks (N ≠ M) load what M ranks saved — the
    /// shards (resharded) and the consolidated file — and after two more steps equal one process that took the first
    /// two steps over M ranks' gradients and the next two over N ranks' (as does one process loading the consolidated file).
    /// Matrix rules (Muon, Shampoo) are bit for bit across jobs only with the same OpenBLAS thread count: the launcher
    /// pins it to 1 (mpirun binds 2 ranks to a core each but 3 ranks to a socket, and OpenBLAS follows the binding).
    /// </summary>
    internal static class CheckpointChecks
    {
        // Split element-wise state, split 8-bit whole-tensor reductions, split bf16, a scalar state set from a whole-tensor
        // norm (split), row/column states, matrix rules, Shampoo's statistics.
        private static readonly (FusedRule Rule, StatePrecision Precision)[] Cases =
        {
            (AdamW.Rule, StatePrecision.Float32), (Lamb.Rule, StatePrecision.Int8Blockwise), (AdamW.Rule, StatePrecision.BFloat16),
            (HyperBallAdamW.Rule, StatePrecision.Float32), (Adafactor.Rule, StatePrecision.Float32), (Muon.Rule, StatePrecision.Float32), (Shampoo.Rule, StatePrecision.Float32),
        };

        private static string DirectoryOf(string root, FusedRule rule, StatePrecision precision)
            => Path.Combine(root, $"{rule.Name.Replace(' ', '_').Replace('(', '_').Replace(')', '_')}-{precision}");

        public static int Save(MpiCollectives mpi, string root)
        {
            int failures = 0, me = mpi.Rank, N = mpi.Size;
            foreach (var (rule, precision) in Cases)
            {
                string dir = DirectoryOf(root, rule, precision), full = Path.Combine(dir, "full.safetensors");
                string what = $"checkpoint {rule.Name} ({precision}), {N} ranks";
                var model = new Replica();
                using var many = model.Sharded(mpi, rule, precision);
                for (int step = 1; step <= 2; step++) model.StepSharded(many, step);
                many.SaveConsolidated(full);
                for (int step = 3; step <= 4; step++) model.StepSharded(many, step);

                var resumed = new Replica();
                using (var again = resumed.Sharded(mpi, rule, precision))
                {
                    again.Load(full + ".shards");
                    if (again.StepCount != 2) { Console.WriteLine($"rank {me}: FAIL {what}: resumed at step {again.StepCount}, not 2"); failures++; }
                    for (int step = 3; step <= 4; step++) resumed.StepSharded(again, step);
                }
                int before = failures;
                failures += resumed.Differences(model, $"{what}, resumed from the shards", me);

                var single = new Replica();
                using (var one = single.Single(rule, precision))
                {
                    one.Load(full);
                    for (int step = 3; step <= 4; step++) single.StepSingle(one, step, N);
                }
                failures += single.Differences(model, $"{what}, consolidated and loaded by one process", me);
                if (failures == before) Console.WriteLine($"rank {me}: OK {what}: resumed from the shards and from the consolidated file (one process) bit for bit");
            }
            return failures;
        }

        public static int Resume(MpiCollectives mpi, string root, int savedRanks)
        {
            int failures = 0, me = mpi.Rank, N = mpi.Size;
            foreach (var (rule, precision) in Cases)
            {
                string dir = DirectoryOf(root, rule, precision), full = Path.Combine(dir, "full.safetensors");
                string what = $"checkpoint {rule.Name} ({precision}) of {savedRanks} ranks into {N}";
                var reference = new Replica();
                using (var one = reference.Single(rule, precision))
                {
                    for (int step = 1; step <= 2; step++) reference.StepSingle(one, step, savedRanks);
                    for (int step = 3; step <= 4; step++) reference.StepSingle(one, step, N);
                }
                int before = failures;
                var loaded = new Replica();
                using (var one = loaded.Single(rule, precision))
                {
                    one.Load(full);
                    for (int step = 3; step <= 4; step++) loaded.StepSingle(one, step, N);
                }
                failures += loaded.Differences(reference, $"{what}, consolidated file loaded by one process", me);
                foreach (bool fromShards in new[] { true, false })
                {
                    var model = new Replica();
                    using var many = model.Sharded(mpi, rule, precision);
                    if (fromShards) many.Load(full + ".shards");
                    else many.LoadConsolidated(full);
                    for (int step = 3; step <= 4; step++) model.StepSharded(many, step);
                    failures += model.Differences(reference, $"{what}, {(fromShards ? "resharded from the shards" : "cut from the consolidated file")}", me);
                }
                if (failures == before) Console.WriteLine($"rank {me}: OK {what}: resharded from the shards and cut from the consolidated file, bit for bit");
            }
            return failures;
        }
    }
}
