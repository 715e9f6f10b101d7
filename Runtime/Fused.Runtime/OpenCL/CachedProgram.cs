using System;

namespace Fused.Runtime.OpenCL
{
    /// <summary>A program handed out by <see cref="ProgramCache"/> together with where it came from.</summary>
    /// <param name="Program">The built program (owned by the cache; do not dispose).</param>
    /// <param name="Origin">Built from source, loaded from disk, or reused from memory.</param>
    /// <param name="Key">Hex SHA-256 of (source, options, device, driver and platform versions).</param>
    /// <param name="Elapsed">Time this call spent obtaining the program.</param>
    public readonly record struct CachedProgram(ClProgram Program, ProgramOrigin Origin, string Key, TimeSpan Elapsed);
}
