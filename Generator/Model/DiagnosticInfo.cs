using Fused.Ir;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Fused.Generator.Model
{
    /// <summary>A location as plain data (a Location would pin the syntax tree in the cache).</summary>
    internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
    {
        public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

        public static LocationInfo? From(Location? location)
        {
            if (location is null || location.SourceTree is null) return null;
            return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
        }

        public static LocationInfo? From(SyntaxNode node) => From(node.GetLocation());
    }

    /// <summary>A diagnostic as plain, equatable data.</summary>
    internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
    {
        public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
            new(descriptor.Id, location, arguments.ToEquatableArray());

        public Diagnostic ToDiagnostic()
        {
            var descriptor = Diagnostics.DiagnosticDescriptors.ById(Id) ?? Diagnostics.DiagnosticDescriptors.InternalError;
            var args = new object[Arguments.Count];
            for (int i = 0; i < args.Length; i++) args[i] = Arguments[i];
            return Diagnostic.Create(descriptor, Location?.ToLocation(), args);
        }
    }
}
