using System;
using System.Collections.Generic;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>Enumerates the OpenCL platforms and devices registered with the ICD loader.</summary>
    public static unsafe class OpenClDevices
    {
        private const int PlatformNotFoundKhr = -1001;
        private static readonly object EnumerateLock = new object();
        private static IReadOnlyList<OpenClPlatform>? platforms;

        /// <summary>
        /// All platforms, in loader order. Throws <see cref="OpenClUnavailableException"/> when the loader
        /// is missing or no platform is installed. The result is cached for the process.
        /// </summary>
        public static IReadOnlyList<OpenClPlatform> Platforms()
        {
            lock (EnumerateLock)
            {
                return platforms ??= EnumeratePlatforms();
            }
        }

        /// <summary>
        /// All devices of all platforms, platform by platform. Throws <see cref="OpenClUnavailableException"/>
        /// when the loader is missing or there is no platform or device.
        /// </summary>
        public static IReadOnlyList<OpenClDevice> List()
        {
            var all = new List<OpenClDevice>();
            foreach (OpenClPlatform platform in Platforms())
            {
                all.AddRange(platform.Devices);
            }
            if (all.Count == 0)
            {
                throw new OpenClUnavailableException("OpenCL platforms were found but none has a device. " + OpenClUnavailableException.InstallHint);
            }
            return all;
        }

        /// <summary>True when at least one device exists; otherwise <paramref name="reason"/> says why not.</summary>
        public static bool TryList(out IReadOnlyList<OpenClDevice> devices, out string? reason)
        {
            try
            {
                devices = List();
                reason = null;
                return true;
            }
            catch (OpenClException unavailable)
            {
                devices = Array.Empty<OpenClDevice>();
                reason = unavailable.Message;
                return false;
            }
        }

        private static IReadOnlyList<OpenClPlatform> EnumeratePlatforms()
        {
            ClApi.EnsureLoaded();
            uint count;
            int status = ClApi.GetPlatformIDs(0, null, &count);
            if (status == PlatformNotFoundKhr || (status == 0 && count == 0))
            {
                throw new OpenClUnavailableException("No OpenCL platform found. " + OpenClUnavailableException.InstallHint);
            }
            ClApi.Check(status, "clGetPlatformIDs");
            IntPtr* ids = stackalloc IntPtr[(int)count];
            ClApi.Check(ClApi.GetPlatformIDs(count, ids, null), "clGetPlatformIDs");
            var result = new OpenClPlatform[count];
            for (int i = 0; i < count; i++)
            {
                result[i] = new OpenClPlatform(ids[i], i);
            }
            return result;
        }
    }
}
