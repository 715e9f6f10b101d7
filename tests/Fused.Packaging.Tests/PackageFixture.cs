using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Xunit;

namespace Fused.Packaging.Tests
{
    /// <summary>One pack shared by every test class that needs the package.</summary>
    [CollectionDefinition(Name)]
    public sealed class PackageCollection : ICollectionFixture<PackageFixture>
    {
        public const string Name = "Fused package";
    }

    /// <summary>
    /// The Fused nupkg under test, in a fresh temporary folder that serves as a local feed. By default it is made
    /// here with <c>dotnet pack Runtime/Fused.Package</c> (same configuration as this test assembly, so the
    /// already-built projects are reused). Set FUSED_NUPKG to a .nupkg file, or to a folder holding Fused.*.nupkg,
    /// to test a package made elsewhere (e.g. by a release job) instead.
    /// </summary>
    public sealed class PackageFixture : IDisposable
    {
        public const string Version = "0.1.0";

#if DEBUG
        public const string Configuration = "Debug";
#else
        public const string Configuration = "Release";
#endif

        public PackageFixture()
        {
            Root = Path.Combine(Path.GetTempPath(), "fused-pack-" + Guid.NewGuid().ToString("N")[..12]);
            Feed = Directory.CreateDirectory(Path.Combine(Root, "feed")).FullName;
            var watch = Stopwatch.StartNew();
            string? given = Environment.GetEnvironmentVariable("FUSED_NUPKG");
            if (!string.IsNullOrWhiteSpace(given))
            {
                string file = Directory.Exists(given)
                    ? Directory.GetFiles(given, $"Fused.{Version}.nupkg").SingleOrDefault()
                      ?? throw new InvalidOperationException($"FUSED_NUPKG={given}: no Fused.{Version}.nupkg in that folder")
                    : File.Exists(given) ? given : throw new InvalidOperationException($"FUSED_NUPKG={given}: no such file or folder");
                File.Copy(file, Path.Combine(Feed, $"Fused.{Version}.nupkg"));
                // Fused.Testing is made by the same packaging step, beside it.
                string testing = Path.Combine(Path.GetDirectoryName(file)!, $"Fused.Testing.{Version}.nupkg");
                if (File.Exists(testing)) File.Copy(testing, Path.Combine(Feed, Path.GetFileName(testing)));
                Origin = $"FUSED_NUPKG ({file})";
            }
            else
            {
                string project = Path.Combine(DotNet.RepositoryRoot(), "Runtime", "Fused.Package", "Fused.Package.csproj");
                string testingProject = Path.Combine(DotNet.RepositoryRoot(), "Runtime", "Fused.Testing", "Fused.Testing.csproj");
                PackOutput = DotNet.Check(Root, new[] { "pack", project, "-c", Configuration, "-o", Feed, "-nodeReuse:false" }).Output
                    + DotNet.Check(Root, new[] { "pack", testingProject, "-c", Configuration, "-o", Feed, "-nodeReuse:false" }).Output;
                Origin = $"dotnet pack {project} and {testingProject} -c {Configuration}";
            }

            Nupkg = Path.Combine(Feed, $"Fused.{Version}.nupkg");
            if (!File.Exists(Nupkg))
                throw new InvalidOperationException($"{Origin} left no Fused.{Version}.nupkg in {Feed}: {string.Join(", ", Directory.GetFiles(Feed).Select(Path.GetFileName))}\n{PackOutput}");
            PackTime = watch.Elapsed;
        }

        /// <summary>Temporary folder for everything this test class writes; deleted afterwards.</summary>
        public string Root { get; }

        /// <summary>Folder holding only Fused.0.1.0.nupkg and Fused.Testing.0.1.0.nupkg: the local package source.</summary>
        public string Feed { get; }

        public string Nupkg { get; }

        /// <summary>Fused.Testing's package in <see cref="Feed"/> (it may be missing when FUSED_NUPKG names a lone Fused package).</summary>
        public string TestingNupkg => Path.Combine(Feed, $"Fused.Testing.{Version}.nupkg");
        public string Origin { get; }
        public string PackOutput { get; } = "";
        public TimeSpan PackTime { get; }

        public void Dispose()
        {
            if (Environment.GetEnvironmentVariable("FUSED_KEEP_TEMP") == "1") return;
            try { Directory.Delete(Root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
