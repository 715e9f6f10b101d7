namespace Fused.Generator
{
    internal static class AssemblyMarker { }
}
