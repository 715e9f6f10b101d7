using System;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace Fused.Distributed.Tests
{
    /// <summary>
    /// Real mpirun jobs. Each rank compares the sharded optimizer with one ordinary optimizer in the same process over
    /// full copies, fed the mean of every rank's gradients accumulated in rank order (one process, same global batch):
    /// every parameter bit for bit after each of 4 steps, the status, norm and clip scale of each step, and each rank's
    /// element-state segments. The host prints "OK" per rule and rank and exits with its number of failures.
    /// </summary>
    public sealed class ShardedStepTests
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

        private static void AssertAllOk(int ranks, string mode, int checksPerRank, params string[] arguments)
        {
            var run = MpiRun.Run(ranks, mode, Deadline, arguments);
            Assert.False(run.TimedOut, $"mpirun -np {ranks} {mode} did not finish within {Deadline}:\n{run.Output}");
            Assert.True(run.ExitCode == 0, $"mpirun -np {ranks} {mode} exited with {run.ExitCode}:\n{run.Output}");
            for (int r = 0; r < ranks; r++)
            {
                int ok = Regex.Matches(run.Output, $"rank {r}: OK ").Count;
                Assert.True(ok == checksPerRank, $"rank {r} passed {ok} of {checksPerRank} checks:\n{run.Output}");
            }
            Assert.DoesNotContain("FAIL", run.Output);
        }

        /// <summary>
        /// Every catalog rule in float32, plus AdamW and LAMB with 8-bit state and AdamW, Lion, LAMB and C-AdamW with bfloat16
        /// state (20 + 6 checks per rank). Rules with whole-tensor reductions (C-AdamW, C-Lion, LAMB, Tiger (full),
        /// HyperBall) are cut mid-tensor like element-wise rules; each such run checks a tensor really was cut.
        /// </summary>
        [Theory]
        [InlineData(2)]
        [InlineData(3)]
        public void EveryCatalogRuleShardedEqualsOneProcess(int ranks) => AssertAllOk(ranks, "rules", 26);

        [Theory]
        [InlineData(2)]
        [InlineData(3)]
        public void GlobalNormClippingOverEveryRankEqualsOneProcess(int ranks) => AssertAllOk(ranks, "clip", 2);

        /// <summary>One NaN in the last rank's gradient: every rank skips that step, as one process does, and later steps match.</summary>
        [Theory]
        [InlineData(2)]
        [InlineData(3)]
        public void NonFiniteGradientOnOneRankIsSkippedByAll(int ranks) => AssertAllOk(ranks, "nonfinite", 2);

        /// <summary>
        /// Each rank's engine on OpenCL (PoCL; never skipped: CI installs it) equals one process on the same device bit for
        /// bit: AdamW, LAMB and C-AdamW split (reductions exchanged), Adafactor and Muon whole, with clipping (5 checks per rank).
        /// </summary>
        [Theory]
        [InlineData(2)]
        [InlineData(3)]
        public void ShardedOnOpenClEqualsOneProcessOnOpenCl(int ranks) => AssertAllOk(ranks, "opencl", 5);

        /// <summary>
        /// All or nothing across ranks: Muon refuses a NaN on one rank at step 3 (with LAMB or AdamW split over the rest);
        /// every rank's step throws and is undone — parameters and states equal one process's (whose step failed and was
        /// undone alike) after every one of 5 steps, so training goes on. With LAMB the failure reaches the failed rank's
        /// peers inside the exchange of partials.
        /// </summary>
        [Theory]
        [InlineData(2)]
        [InlineData(3)]
        public void AStepThatFailsOnOneRankIsUndoneOnEveryRank(int ranks) => AssertAllOk(ranks, "fail", 2);

        /// <summary>
        /// Save at M ranks (shards + consolidated file); resume at M from the shards and in one process from the
        /// consolidated file; then at N ≠ M ranks reshard from the shards and cut the consolidated file — all bit for bit,
        /// for split, 8-bit, bf16, a scalar state from a split norm (HyperBall), row/column, Muon and Shampoo state (7 checks per rank and job).
        /// </summary>
        [Theory]
        [InlineData(2, 3)]
        [InlineData(3, 2)]
        public void CheckpointsResumeConsolidateAndReshard(int saved, int resumed)
        {
            string root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fused-mpi-checkpoints-{Guid.NewGuid():N}");
            try
            {
                AssertAllOk(saved, "save", 7, root);
                AssertAllOk(resumed, "resume", 7, root, saved.ToString());
            }
            finally
            {
                if (System.IO.Directory.Exists(root)) System.IO.Directory.Delete(root, recursive: true);
            }
        }

        [Fact]
        public void DifferentConfigurationsAcrossRanksFailAtBuildNamingRankAndDifference()
        {
            var run = MpiRun.Run(3, "mismatch", Deadline);
            Assert.False(run.TimedOut, run.Output);
            Assert.True(run.ExitCode == 0, run.Output); // every rank caught the exception and checked its message
            for (int r = 0; r < 3; r++)
                Assert.Contains($"rank {r}: mismatch: ranks are configured differently: rank 2 has \"route 'adamw': … lr=0.002\" where rank 0 has \"route 'adamw': … lr=0.001\"", run.Output);
        }

        /// <summary>
        /// A rank that hangs without dying (rank 1 sleeps 10 minutes after step 1): rank 0's collective times out after
        /// the host's 5 s, it names the call and ends the job with MPI_Abort (exit code 124) well before the sleep ends.
        /// </summary>
        [Fact]
        public void ARankThatHangsMakesTheOthersEndTheJobWithAClearErrorWithinTheTimeout()
        {
            var run = MpiRun.Run(2, "hang", TimeSpan.FromSeconds(120));
            Assert.False(run.TimedOut, $"a hung rank left the others hanging:\n{run.Output}");
            Assert.Contains("rank 1: hanging after step 1", run.Output);
            Assert.Matches(@"rank 0: MPI_\w+ did not complete within 5 s: another rank stopped taking part \(hung, or busy outside the collectives\); aborting the job \(FUSED_MPI_TIMEOUT_SECONDS sets the limit\)", run.Output);
            Assert.Equal(124, run.ExitCode);
            Assert.True(run.Elapsed < TimeSpan.FromSeconds(90), $"took {run.Elapsed}");
            Assert.DoesNotContain("stepped 1000 times", run.Output);
        }

        [Fact]
        public void ARankThatDiesEndsTheJobWithAClearErrorInBoundedTime()
        {
            var run = MpiRun.Run(3, "die", TimeSpan.FromSeconds(120));
            Assert.False(run.TimedOut, $"a dead rank left the others hanging:\n{run.Output}");
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("rank 2: dying after step 1", run.Output);
            Assert.Matches(@"Process name: \[\[\d+,1\],2\]\s+Exit code:\s+42", run.Output); // mpirun names the rank and its exit code
            Assert.DoesNotContain("stepped 1000 times", run.Output);
        }
    }
}
