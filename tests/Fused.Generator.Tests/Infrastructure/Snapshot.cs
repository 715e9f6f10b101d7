namespace Fused.Generator.Tests.Infrastructure
{
    /// <summary>
    /// Our snapshots are Fused.Testing's (the helper users get): <c>_snapshots/{name}.verified.cs</c> beside the test
    /// sources, <c>.received.cs</c> and a line diff on mismatch, <c>FUSED_ACCEPT_SNAPSHOTS=1</c> to accept.
    /// </summary>
    public static class Snapshot
    {
        public static bool Accepting => Fused.Testing.Snapshot.Accepting;

        public static void Match(string actual, string name) => Fused.Testing.Snapshot.Match(actual, name, TestPaths.SnapshotDirectory);
    }
}
