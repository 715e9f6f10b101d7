using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>One OpenCL device with the properties the runtime uses to size launches and key caches.</summary>
    public sealed unsafe class OpenClDevice
    {
        /// <summary>Environment variable selecting the platform: an index or a substring of its name/vendor.</summary>
        public const string PlatformVariable = "FUSED_OPENCL_PLATFORM";

        /// <summary>Environment variable selecting the device: an index or a substring of its name/vendor.</summary>
        public const string DeviceVariable = "FUSED_OPENCL_DEVICE";

        private OpenClDevice(OpenClPlatform platform, IntPtr id, int index)
        {
            Platform = platform;
            Id = id;
            Index = index;
            Name = ClInfo.DeviceString(id, ClInfo.DeviceName);
            Vendor = ClInfo.DeviceString(id, ClInfo.DeviceVendor);
            Version = ClInfo.DeviceString(id, ClInfo.DeviceVersion);
            DriverVersion = ClInfo.DeviceString(id, ClInfo.DriverVersion);
            OpenClCVersion = ClInfo.DeviceString(id, ClInfo.DeviceOpenClCVersion);
            Type = (OpenClDeviceType)ClInfo.DeviceValue<ulong>(id, ClInfo.DeviceType);
            MaxWorkGroupSize = (long)ClInfo.DeviceValue<nuint>(id, ClInfo.DeviceMaxWorkGroupSize);
            ComputeUnits = (int)ClInfo.DeviceValue<uint>(id, ClInfo.DeviceMaxComputeUnits);
            GlobalMemoryBytes = (long)ClInfo.DeviceValue<ulong>(id, ClInfo.DeviceGlobalMemSize);
            LocalMemoryBytes = (long)ClInfo.DeviceValue<ulong>(id, ClInfo.DeviceLocalMemSize);
            MaxAllocationBytes = (long)ClInfo.DeviceValue<ulong>(id, ClInfo.DeviceMaxMemAllocSize);
            PreferredVectorWidthFloat = (int)ClInfo.DeviceValue<uint>(id, ClInfo.DevicePreferredVectorWidthFloat);
            MaxClockMHz = (int)ClInfo.DeviceValue<uint>(id, ClInfo.DeviceMaxClockFrequency);
        }

        internal IntPtr Id { get; }

        /// <summary>The platform (driver) this device belongs to.</summary>
        public OpenClPlatform Platform { get; }

        /// <summary>Position within its platform's device list.</summary>
        public int Index { get; }

        /// <summary>CL_DEVICE_NAME.</summary>
        public string Name { get; }

        /// <summary>CL_DEVICE_VENDOR.</summary>
        public string Vendor { get; }

        /// <summary>CL_DEVICE_VERSION, e.g. "OpenCL 3.0 CUDA".</summary>
        public string Version { get; }

        /// <summary>CL_DRIVER_VERSION.</summary>
        public string DriverVersion { get; }

        /// <summary>CL_DEVICE_OPENCL_C_VERSION.</summary>
        public string OpenClCVersion { get; }

        /// <summary>CL_DEVICE_TYPE.</summary>
        public OpenClDeviceType Type { get; }

        /// <summary>CL_DEVICE_MAX_WORK_GROUP_SIZE.</summary>
        public long MaxWorkGroupSize { get; }

        /// <summary>CL_DEVICE_MAX_COMPUTE_UNITS.</summary>
        public int ComputeUnits { get; }

        /// <summary>CL_DEVICE_GLOBAL_MEM_SIZE in bytes.</summary>
        public long GlobalMemoryBytes { get; }

        /// <summary>CL_DEVICE_LOCAL_MEM_SIZE in bytes.</summary>
        public long LocalMemoryBytes { get; }

        /// <summary>CL_DEVICE_MAX_MEM_ALLOC_SIZE in bytes (largest single buffer).</summary>
        public long MaxAllocationBytes { get; }

        /// <summary>CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT.</summary>
        public int PreferredVectorWidthFloat { get; }

        /// <summary>CL_DEVICE_MAX_CLOCK_FREQUENCY in MHz.</summary>
        public int MaxClockMHz { get; }

        /// <summary>
        /// Picks a device. Each hint is either an index or a case-insensitive substring of the name or
        /// vendor. A null hint falls back to <see cref="PlatformVariable"/> / <see cref="DeviceVariable"/>;
        /// with neither, the first GPU is preferred, then the first accelerator, then the first device.
        /// A device index counts across the devices of the matching platforms, in <see cref="OpenClDevices.List"/> order.
        /// Throws <see cref="OpenClUnavailableException"/> naming the hint and listing the devices when nothing matches.
        /// </summary>
        public static OpenClDevice Select(string? platformHint = null, string? deviceHint = null)
        {
            string platformSource = "platform hint";
            string deviceSource = "device hint";
            if (string.IsNullOrWhiteSpace(platformHint))
            {
                platformHint = Environment.GetEnvironmentVariable(PlatformVariable);
                platformSource = PlatformVariable;
            }
            if (string.IsNullOrWhiteSpace(deviceHint))
            {
                deviceHint = Environment.GetEnvironmentVariable(DeviceVariable);
                deviceSource = DeviceVariable;
            }

            IReadOnlyList<OpenClPlatform> platforms = OpenClDevices.Platforms();
            IReadOnlyList<OpenClDevice> everyDevice = OpenClDevices.List();
            List<OpenClPlatform> chosenPlatforms = platforms.ToList();
            if (!string.IsNullOrWhiteSpace(platformHint))
            {
                string hint = platformHint.Trim();
                chosenPlatforms = int.TryParse(hint, NumberStyles.Integer, CultureInfo.InvariantCulture, out int platformIndex)
                    ? platforms.Where(p => p.Index == platformIndex).ToList()
                    : platforms.Where(p => Contains(p.Name, hint) || Contains(p.Vendor, hint) || Contains(p.Version, hint)).ToList();
                if (chosenPlatforms.Count == 0)
                {
                    throw new OpenClUnavailableException(
                        platformSource + "='" + hint + "' matches no OpenCL platform (by index or name). " + Inventory(everyDevice));
                }
            }

            List<OpenClDevice> candidates = chosenPlatforms.SelectMany(p => p.Devices).ToList();
            if (candidates.Count == 0)
            {
                throw new OpenClUnavailableException(
                    "The selected OpenCL platform(s) have no device. " + Inventory(everyDevice));
            }

            if (!string.IsNullOrWhiteSpace(deviceHint))
            {
                string hint = deviceHint.Trim();
                OpenClDevice? match = int.TryParse(hint, NumberStyles.Integer, CultureInfo.InvariantCulture, out int deviceIndex)
                    ? (deviceIndex >= 0 && deviceIndex < candidates.Count ? candidates[deviceIndex] : null)
                    : candidates.FirstOrDefault(d => Contains(d.Name, hint) || Contains(d.Vendor, hint));
                if (match == null)
                {
                    throw new OpenClUnavailableException(
                        deviceSource + "='" + hint + "' matches no OpenCL device (by index or name). " + Inventory(candidates));
                }
                return match;
            }

            return candidates.FirstOrDefault(d => (d.Type & OpenClDeviceType.Gpu) != 0)
                ?? candidates.FirstOrDefault(d => (d.Type & OpenClDeviceType.Accelerator) != 0)
                ?? candidates[0];
        }

        /// <summary>A one-line description of the device and its driver, for logs ("which device runs").</summary>
        public string Describe()
        {
            return string.Format(
                CultureInfo.InvariantCulture,
                "{0} [{1}, {2}] on {3} ({4}); driver {5}; {6} compute units; {7:0.0} GiB global memory; max work-group {8}",
                Name, Type, Vendor, Platform.Name, Platform.Version, DriverVersion, ComputeUnits,
                GlobalMemoryBytes / (1024.0 * 1024 * 1024), MaxWorkGroupSize);
        }

        /// <inheritdoc/>
        public override string ToString() => Name + " (" + Platform.Name + ")";

        internal static IReadOnlyList<OpenClDevice> Enumerate(OpenClPlatform platform)
        {
            uint count;
            int status = ClApi.GetDeviceIDs(platform.Id, ClInfo.DeviceTypeAll, 0, null, &count);
            if (status == ClInfo.DeviceNotFound)
            {
                return Array.Empty<OpenClDevice>();
            }
            ClApi.Check(status, "clGetDeviceIDs");
            IntPtr* ids = stackalloc IntPtr[(int)count];
            ClApi.Check(ClApi.GetDeviceIDs(platform.Id, ClInfo.DeviceTypeAll, count, ids, null), "clGetDeviceIDs");
            var devices = new OpenClDevice[count];
            for (int i = 0; i < count; i++)
            {
                devices[i] = new OpenClDevice(platform, ids[i], i);
            }
            return devices;
        }

        private static bool Contains(string text, string hint) => text.Contains(hint, StringComparison.OrdinalIgnoreCase);

        private static string Inventory(IReadOnlyList<OpenClDevice> devices)
        {
            var text = new StringBuilder("Available devices:");
            for (int i = 0; i < devices.Count; i++)
            {
                text.Append(" [").Append(i).Append("] ").Append(devices[i].Name)
                    .Append(" (platform [").Append(devices[i].Platform.Index).Append("] ").Append(devices[i].Platform.Name).Append(')');
                if (i + 1 < devices.Count)
                {
                    text.Append(';');
                }
            }
            return text.ToString();
        }
    }
}
