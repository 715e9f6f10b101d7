namespace Fused.Catalog
{
    internal static class AssemblyMarker { }
}
