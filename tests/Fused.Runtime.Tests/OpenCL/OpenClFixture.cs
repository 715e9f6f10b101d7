using System;
using System.IO;
using Fused.Runtime.OpenCL;
using Xunit;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// One context and queue shared by the OpenCL tests (building programs on PoCL is slow), with its program
    /// cache in a private temporary directory. Created lazily so machines without OpenCL do not fail here.
    /// </summary>
    public sealed class OpenClFixture : IDisposable
    {
        private readonly Lazy<ClContext> context;
        private readonly Lazy<ClQueue> queue;

        public OpenClFixture()
        {
            CacheRoot = Path.Combine(Path.GetTempPath(), "fused-opencl-tests-" + Guid.NewGuid().ToString("N"));
            context = new Lazy<ClContext>(() => ClContext.Create(OpenClDevice.Select(), Path.Combine(CacheRoot, "shared")));
            queue = new Lazy<ClQueue>(() => context.Value.CreateQueue(profiling: true));
        }

        /// <summary>Temporary directory for this test run's caches; deleted on dispose.</summary>
        public string CacheRoot { get; }

        public ClContext Context => context.Value;

        public ClQueue Queue => queue.Value;

        /// <summary>A new empty directory under <see cref="CacheRoot"/>.</summary>
        public string NewCacheDirectory()
        {
            string path = Path.Combine(CacheRoot, Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            return path;
        }

        public void Dispose()
        {
            if (queue.IsValueCreated)
            {
                queue.Value.Dispose();
            }
            if (context.IsValueCreated)
            {
                context.Value.Dispose();
            }
            try
            {
                if (Directory.Exists(CacheRoot))
                {
                    Directory.Delete(CacheRoot, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// All OpenCL tests share the fixture and run one at a time: they share a queue, and some set the
    /// FUSED_OPENCL_* environment variables that device selection reads.
    /// </summary>
    [CollectionDefinition(Name)]
    public sealed class OpenClCollection : ICollectionFixture<OpenClFixture>
    {
        public const string Name = "OpenCL";
    }
}
