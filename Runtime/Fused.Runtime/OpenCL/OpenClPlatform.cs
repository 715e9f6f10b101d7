using System;
using System.Collections.Generic;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>An installed OpenCL platform (one vendor driver registered with the ICD loader).</summary>
    public sealed class OpenClPlatform
    {
        private readonly Lazy<IReadOnlyList<OpenClDevice>> devices;

        internal OpenClPlatform(IntPtr id, int index)
        {
            Id = id;
            Index = index;
            Name = ClInfo.PlatformString(id, ClInfo.PlatformName);
            Vendor = ClInfo.PlatformString(id, ClInfo.PlatformVendor);
            Version = ClInfo.PlatformString(id, ClInfo.PlatformVersion);
            Profile = ClInfo.PlatformString(id, ClInfo.PlatformProfile);
            devices = new Lazy<IReadOnlyList<OpenClDevice>>(() => OpenClDevice.Enumerate(this));
        }

        internal IntPtr Id { get; }

        /// <summary>Position in the loader's platform list.</summary>
        public int Index { get; }

        /// <summary>CL_PLATFORM_NAME, e.g. "Portable Computing Language".</summary>
        public string Name { get; }

        /// <summary>CL_PLATFORM_VENDOR.</summary>
        public string Vendor { get; }

        /// <summary>CL_PLATFORM_VERSION, e.g. "OpenCL 3.0 PoCL 3.1".</summary>
        public string Version { get; }

        /// <summary>CL_PLATFORM_PROFILE (FULL_PROFILE or EMBEDDED_PROFILE).</summary>
        public string Profile { get; }

        /// <summary>All devices of this platform, in the driver's order.</summary>
        public IReadOnlyList<OpenClDevice> Devices => devices.Value;

        /// <inheritdoc/>
        public override string ToString() => "[" + Index + "] " + Name + " (" + Version + ")";
    }
}
