using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    [Collection(OpenClCollection.Name)]
    public sealed class ProgramCacheTests
    {
        private const string Source = @"
__kernel void add_one(__global float* y, __constant float* u, const int n)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    y[i] = y[i] + u[0];
}";

        private readonly OpenClFixture fixture;
        private readonly ITestOutputHelper output;

        public ProgramCacheTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            this.fixture = fixture;
            this.output = output;
        }

        [Fact]
        public void SecondCacheLoadsFromDiskAndTheProgramRuns()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            string directory = fixture.NewCacheDirectory();
            using (var first = new ProgramCache(fixture.Context, directory))
            {
                Assert.Equal(ProgramOrigin.Built, first.GetOrBuild(Source).Origin);
                Assert.Equal(ProgramOrigin.Memory, first.GetOrBuild(Source).Origin);
                Assert.Equal(1, first.BuiltCount);
                Assert.Equal(1, first.MemoryHitCount);
                Assert.True(File.Exists(first.DiskPath(Source)));
            }
            Assert.Empty(Directory.GetFiles(directory, "*.tmp"));

            using var second = new ProgramCache(fixture.Context, directory);
            CachedProgram loaded = second.GetOrBuild(Source);
            output.WriteLine("disk load took " + loaded.Elapsed.TotalMilliseconds + " ms");
            Assert.Equal(ProgramOrigin.Disk, loaded.Origin);
            Assert.Equal(0, second.BuiltCount);
            Assert.Equal(1, second.DiskLoadCount);
            Assert.Equal(5f, RunAddOne(loaded.Program));
        }

        [Theory]
        [InlineData("truncate")]
        [InlineData("flip-payload-byte")]
        [InlineData("garbage")]
        [InlineData("empty")]
        public void CorruptCacheFileFallsBackToBuildAndIsReplaced(string corruption)
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            string directory = fixture.NewCacheDirectory();
            string path;
            using (var first = new ProgramCache(fixture.Context, directory))
            {
                first.Get(Source);
                path = first.DiskPath(Source)!;
            }
            byte[] original = File.ReadAllBytes(path);
            byte[] corrupted = corruption switch
            {
                "truncate" => original[..(original.Length / 2)],
                "flip-payload-byte" => FlipLastByte(original),
                "garbage" => Enumerable.Range(0, original.Length).Select(i => (byte)(i * 31)).ToArray(),
                _ => Array.Empty<byte>(),
            };
            File.WriteAllBytes(path, corrupted);

            using (var second = new ProgramCache(fixture.Context, directory))
            {
                CachedProgram rebuilt = second.GetOrBuild(Source);
                Assert.Equal(ProgramOrigin.Built, rebuilt.Origin);
                Assert.Equal(1, second.DiskRejectedCount);
                output.WriteLine(second.LastDiskRejection);
                Assert.Equal(5f, RunAddOne(rebuilt.Program));
            }
            Assert.Equal(original.Length, new FileInfo(path).Length);

            using var third = new ProgramCache(fixture.Context, directory);
            Assert.Equal(ProgramOrigin.Disk, third.GetOrBuild(Source).Origin);
        }

        [Fact]
        public void OptionsAndSourceAreSeparateKeys()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            using var cache = new ProgramCache(fixture.Context, fixture.NewCacheDirectory());
            Assert.Equal(ProgramOrigin.Built, cache.GetOrBuild(Source).Origin);
            Assert.Equal(ProgramOrigin.Built, cache.GetOrBuild(Source, "-cl-fast-relaxed-math").Origin);
            Assert.Equal(ProgramOrigin.Built, cache.GetOrBuild(Source + "\n// changed").Origin);
            Assert.NotEqual(cache.ComputeKey(Source, ""), cache.ComputeKey(Source, "-cl-fast-relaxed-math"));
            Assert.Equal(3, cache.BuiltCount);
        }

        [Fact]
        public void ConcurrentRequestsBuildOnce()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            using var cache = ProgramCache.MemoryOnly(fixture.Context);
            Assert.Null(cache.DiskDirectory);
            CachedProgram[] results = new CachedProgram[8];
            Parallel.For(0, results.Length, i => results[i] = cache.GetOrBuild(Source + "// concurrent"));
            Assert.Equal(1, cache.BuiltCount);
            Assert.Single(results, r => r.Origin == ProgramOrigin.Built);
            Assert.Equal(7, results.Count(r => r.Origin == ProgramOrigin.Memory));
            Assert.All(results, r => Assert.Same(results[0].Program, r.Program));
        }

        [Fact]
        public void DefaultDirectoryFollowsEnvironment()
        {
            string? savedCache = Environment.GetEnvironmentVariable(ProgramCache.DirectoryVariable);
            string? savedXdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            try
            {
                Environment.SetEnvironmentVariable(ProgramCache.DirectoryVariable, null);
                Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/tmp/xdg-test");
                Assert.Equal(Path.Combine("/tmp/xdg-test", "fused", "opencl"), ProgramCache.DefaultDirectory);
                Environment.SetEnvironmentVariable(ProgramCache.DirectoryVariable, "/tmp/explicit-cache");
                Assert.Equal("/tmp/explicit-cache", ProgramCache.DefaultDirectory);
                Environment.SetEnvironmentVariable(ProgramCache.DirectoryVariable, "off");
                Assert.Null(ProgramCache.DefaultDirectory);
            }
            finally
            {
                Environment.SetEnvironmentVariable(ProgramCache.DirectoryVariable, savedCache);
                Environment.SetEnvironmentVariable("XDG_CACHE_HOME", savedXdg);
            }
        }

        private static byte[] FlipLastByte(byte[] bytes)
        {
            byte[] copy = (byte[])bytes.Clone();
            copy[^1] ^= 0x5A;
            return copy;
        }

        /// <summary>Runs add_one on [1, 2, 3] with u = 2 and returns the last element (expected 5).</summary>
        private float RunAddOne(ClProgram program)
        {
            using ClKernel kernel = program.CreateKernel("add_one");
            using ClBuffer y = fixture.Context.CreateBuffer<float>(new float[] { 1f, 2f, 3f });
            using ClBuffer u = fixture.Context.CreateBuffer<float>(new float[] { 2f });
            new ClElementwise(kernel, bufferCount: 1).Launch(fixture.Queue, new[] { y }, u, 3);
            var result = new float[3];
            fixture.Queue.Read<float>(y, result);
            Assert.Equal(new[] { 3f, 4f, 5f }, result);
            return result[2];
        }
    }
}
