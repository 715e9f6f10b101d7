using System;

namespace Fused.Runtime.OpenCL
{
    /// <summary>The OpenCL device type bit field (CL_DEVICE_TYPE_*).</summary>
    [Flags]
    public enum OpenClDeviceType : ulong
    {
        /// <summary>No type bits set.</summary>
        None = 0,
        /// <summary>CL_DEVICE_TYPE_DEFAULT.</summary>
        Default = 1,
        /// <summary>CL_DEVICE_TYPE_CPU.</summary>
        Cpu = 2,
        /// <summary>CL_DEVICE_TYPE_GPU.</summary>
        Gpu = 4,
        /// <summary>CL_DEVICE_TYPE_ACCELERATOR.</summary>
        Accelerator = 8,
        /// <summary>CL_DEVICE_TYPE_CUSTOM.</summary>
        Custom = 16,
    }
}
