namespace Fused.Runtime
{
    internal static class AssemblyMarker { }
}
