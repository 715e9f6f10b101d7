namespace Fused.Runtime.OpenCL
{
    /// <summary>Where a program handed out by <see cref="ProgramCache"/> came from.</summary>
    public enum ProgramOrigin
    {
        /// <summary>Compiled from source on this call.</summary>
        Built,
        /// <summary>Loaded from a validated binary in the on-disk cache.</summary>
        Disk,
        /// <summary>Already built (or loaded) earlier in this process by the same cache.</summary>
        Memory,
    }
}
