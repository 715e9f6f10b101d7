using System;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// No usable OpenCL device: the loader library is missing, no platform or device is installed, or
    /// the requested platform/device hint matches nothing. The message says what to install or which
    /// devices exist.
    /// </summary>
    public sealed class OpenClUnavailableException : OpenClException
    {
        /// <summary>What to install to get a working CPU device on Debian/Ubuntu.</summary>
        public const string InstallHint =
            "Install an OpenCL driver, e.g. `apt-get install pocl-opencl-icd ocl-icd-libopencl1` for a CPU device "
            + "(or your GPU vendor's OpenCL ICD).";

        /// <summary>Creates the exception with a complete explanation.</summary>
        public OpenClUnavailableException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }
}
