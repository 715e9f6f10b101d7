using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Xunit;

namespace Fused.Packaging.Tests
{
    /// <summary>What is inside Fused.0.1.0.nupkg: the files users need where NuGet and the compiler look for them, and only the dependencies they need.</summary>
    [Collection(PackageCollection.Name)]
    public sealed class PackageLayoutTests
    {
        private readonly PackageFixture _package;

        public PackageLayoutTests(PackageFixture package) => _package = package;

        [Fact]
        public void Package_holds_the_libraries_for_each_framework_and_the_generator_with_its_Dsl()
        {
            using var zip = ZipFile.OpenRead(_package.Nupkg);
            var files = zip.Entries.Select(e => e.FullName).Where(n => n.EndsWith(".dll", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal).ToArray();
            Assert.Equal(new[]
            {
                "analyzers/dotnet/cs/Fused.Dsl.dll",
                "analyzers/dotnet/cs/Fused.Generator.dll",
                "lib/net10.0/Fused.Catalog.dll",
                "lib/net10.0/Fused.Dsl.dll",
                "lib/net10.0/Fused.Runtime.dll",
                "lib/netstandard2.0/Fused.Dsl.dll",
            }, files);

            Assert.Equal(".NETStandard,Version=v2.0", TargetFramework(zip, "analyzers/dotnet/cs/Fused.Generator.dll"));
            Assert.Equal(".NETStandard,Version=v2.0", TargetFramework(zip, "analyzers/dotnet/cs/Fused.Dsl.dll"));
            Assert.Equal(".NETStandard,Version=v2.0", TargetFramework(zip, "lib/netstandard2.0/Fused.Dsl.dll"));
            Assert.Equal(".NETCoreApp,Version=v10.0", TargetFramework(zip, "lib/net10.0/Fused.Runtime.dll"));

            // The generator must load in the users' compiler: it may reference Roslyn no newer than 4.8 (else CS9057
            // on older SDKs) and must find every non-framework assembly it references beside it (else CS8785).
            var generatorRefs = References(zip, "analyzers/dotnet/cs/Fused.Generator.dll");
            var roslyn = generatorRefs.Where(r => r.Name.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal)).ToArray();
            Assert.NotEmpty(roslyn);
            Assert.All(roslyn, r => Assert.True(r.Version <= new Version(4, 8, 0, 0), $"generator references {r.Name} {r.Version}, newer than 4.8"));
            var provided = new[] { "netstandard", "mscorlib", "System.Collections.Immutable", "System.Memory", "System.Runtime.CompilerServices.Unsafe", "System.Buffers", "System.Numerics.Vectors", "System.Reflection.Metadata", "System.Text.Encoding.CodePages", "System.Threading.Tasks.Extensions" };
            var missing = generatorRefs.Select(r => r.Name)
                .Where(n => !n.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) && !provided.Contains(n) && zip.GetEntry($"analyzers/dotnet/cs/{n}.dll") is null).ToArray();
            Assert.True(missing.Length == 0, $"the generator references assemblies that are not beside it in analyzers/dotnet/cs: {string.Join(", ", missing)}");
            Assert.Contains(generatorRefs, r => r.Name == "Fused.Dsl");
        }

        /// <summary>Each library ships its XML documentation beside it, holding the docs written in the sources.</summary>
        [Theory]
        [InlineData("lib/netstandard2.0/Fused.Dsl", "M:Fused.Intrinsics.Norm(System.Single)", "Euclidean")]
        [InlineData("lib/net10.0/Fused.Dsl", "M:Fused.Intrinsics.Norm(System.Single)", "Euclidean")]
        [InlineData("lib/net10.0/Fused.Runtime", "T:Fused.Runtime.Engine.OptimizerBuilder", "")]
        [InlineData("lib/net10.0/Fused.Catalog", "T:Fused.Catalog.AdamW", "decoupled weight decay")]
        public void Libraries_ship_their_xml_documentation(string library, string member, string phrase)
        {
            using var zip = ZipFile.OpenRead(_package.Nupkg);
            Assert.NotNull(zip.GetEntry(library + ".dll"));
            var entry = zip.GetEntry(library + ".xml");
            Assert.True(entry is not null, $"{library}.xml is not in the package");
            XDocument doc;
            using (var stream = entry!.Open()) doc = XDocument.Load(stream);
            Assert.Equal(System.IO.Path.GetFileName(library), doc.Root!.Element("assembly")!.Element("name")!.Value);
            var documented = doc.Root.Element("members")!.Elements("member").SingleOrDefault(m => (string?)m.Attribute("name") == member);
            Assert.True(documented is not null, $"{library}.xml has no docs for {member}");
            Assert.Contains(phrase, documented!.Value, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(documented.Value));
        }

        [Fact]
        public void Package_depends_on_nothing_but_System_Collections_Immutable_for_netstandard2_0()
        {
            using var zip = ZipFile.OpenRead(_package.Nupkg);
            var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
            XDocument nuspec;
            using (var stream = entry.Open()) nuspec = XDocument.Load(stream);
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("Fused", metadata.Element(ns + "id")?.Value);
            Assert.Equal(PackageFixture.Version, metadata.Element(ns + "version")?.Value);
            Assert.NotEqual("true", metadata.Element(ns + "developmentDependency")?.Value); // users need the runtime at run time

            var groups = metadata.Element(ns + "dependencies")!.Elements(ns + "group")
                .ToDictionary(g => g.Attribute("targetFramework")!.Value,
                    g => g.Elements(ns + "dependency").Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}").ToArray());
            Assert.Equal(new[] { ".NETStandard2.0", "net10.0" }, groups.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray());
            Assert.Empty(groups["net10.0"]);
            Assert.Equal(new[] { "System.Collections.Immutable 8.0.0" }, groups[".NETStandard2.0"]);
            string all = string.Join(" ", groups.Values.SelectMany(v => v));
            Assert.DoesNotContain("Microsoft.CodeAnalysis", all);
            Assert.DoesNotContain("Fused.", all);
        }

        private static string TargetFramework(ZipArchive zip, string path)
        {
            using var pe = Open(zip, path);
            var reader = pe.GetMetadataReader();
            foreach (var handle in reader.GetAssemblyDefinition().GetCustomAttributes())
            {
                var attribute = reader.GetCustomAttribute(handle);
                if (attribute.Constructor.Kind != HandleKind.MemberReference) continue;
                var parent = reader.GetMemberReference((MemberReferenceHandle)attribute.Constructor).Parent;
                if (parent.Kind != HandleKind.TypeReference || reader.GetString(reader.GetTypeReference((TypeReferenceHandle)parent).Name) != "TargetFrameworkAttribute") continue;
                var blob = reader.GetBlobReader(attribute.Value);
                blob.ReadUInt16(); // prolog
                return blob.ReadSerializedString() ?? "";
            }

            return "(no TargetFrameworkAttribute)";
        }

        private static IReadOnlyList<(string Name, Version Version)> References(ZipArchive zip, string path)
        {
            using var pe = Open(zip, path);
            var reader = pe.GetMetadataReader();
            return reader.AssemblyReferences.Select(h => reader.GetAssemblyReference(h)).Select(r => (reader.GetString(r.Name), r.Version)).ToArray();
        }

        private static PEReader Open(ZipArchive zip, string path)
        {
            var entry = zip.GetEntry(path) ?? throw new InvalidOperationException($"{path} is not in the package");
            var memory = new MemoryStream();
            using (var stream = entry.Open()) stream.CopyTo(memory);
            memory.Position = 0;
            return new PEReader(memory);
        }
    }
}
