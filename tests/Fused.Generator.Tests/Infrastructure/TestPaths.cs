using System;
using System.IO;
using System.Runtime.CompilerServices;

namespace Fused.Generator.Tests.Infrastructure
{
    /// <summary>Where the test project's sources and the repository are on disk.</summary>
    public static class TestPaths
    {
        private static readonly Lazy<string> LazyProjectDirectory = new(FindProjectDirectory);

        /// <summary>tests/Fused.Generator.Tests, where _snapshots lives.</summary>
        public static string ProjectDirectory => LazyProjectDirectory.Value;

        public static string RepositoryRoot => Path.GetFullPath(Path.Combine(ProjectDirectory, "..", ".."));

        public static string SnapshotDirectory => Path.Combine(ProjectDirectory, "_snapshots");

        // The compiler records this file's path; if the build mapped paths away (PathMap), walk up
        // from the test binaries to the project file instead.
        private static string FindProjectDirectory()
        {
            string? fromSource = Path.GetDirectoryName(Path.GetDirectoryName(ThisFile()));
            if (fromSource != null && File.Exists(Path.Combine(fromSource, "Fused.Generator.Tests.csproj"))) return fromSource;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Fused.Generator.Tests.csproj"))) return dir.FullName;
            throw new InvalidOperationException("cannot find the Fused.Generator.Tests project directory");
        }

        private static string ThisFile([CallerFilePath] string path = "") => path;
    }
}
