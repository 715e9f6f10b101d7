using System;
using System.IO;
using Fused.Generator.Tests.Infrastructure;
using Xunit;
using Xunit.Sdk;

namespace Fused.Generator.Tests
{
    /// <summary>The snapshot helper itself, in a scratch directory: it must fail when it should.</summary>
    public sealed class SnapshotHelperTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-snapshot-tests-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        }

        [Fact]
        public void Missing_verified_file_fails_and_writes_the_received_file()
        {
            Assert.Throws<XunitException>(() => Snapshot.Match("a\n", "S", _dir, accept: false));
            Assert.Equal("a\n", File.ReadAllText(Path.Combine(_dir, "S.received.cs")));
        }

        [Fact]
        public void Mismatch_fails_with_a_numbered_line_diff()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "S.verified.cs"), "one\ntwo\nthree\n");
            var e = Assert.Throws<XunitException>(() => Snapshot.Match("one\nTWO\nthree\n", "S", _dir, accept: false));
            Assert.Contains("-     2: two", e.Message);
            Assert.Contains("+     2: TWO", e.Message);
            Assert.True(File.Exists(Path.Combine(_dir, "S.received.cs")));
        }

        [Fact]
        public void Line_endings_and_bom_do_not_matter_and_a_match_removes_a_stale_received_file()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "S.verified.cs"), "\uFEFFone\r\ntwo\r\n");
            File.WriteAllText(Path.Combine(_dir, "S.received.cs"), "stale");
            Snapshot.Match("one\ntwo", "S", _dir, accept: false);
            Assert.False(File.Exists(Path.Combine(_dir, "S.received.cs")));
        }

        [Fact]
        public void Accepting_overwrites_the_verified_file()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "S.verified.cs"), "old\n");
            Snapshot.Match("new\r\n", "S", _dir, accept: true);
            Assert.Equal("new\n", File.ReadAllText(Path.Combine(_dir, "S.verified.cs")));
        }
    }
}
