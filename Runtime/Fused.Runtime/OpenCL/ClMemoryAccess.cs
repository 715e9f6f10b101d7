namespace Fused.Runtime.OpenCL
{
    /// <summary>How kernels may access a buffer (CL_MEM_READ_WRITE / WRITE_ONLY / READ_ONLY).</summary>
    public enum ClMemoryAccess : ulong
    {
        /// <summary>CL_MEM_READ_WRITE.</summary>
        ReadWrite = 1,
        /// <summary>CL_MEM_WRITE_ONLY.</summary>
        WriteOnly = 2,
        /// <summary>CL_MEM_READ_ONLY.</summary>
        ReadOnly = 4,
    }
}
