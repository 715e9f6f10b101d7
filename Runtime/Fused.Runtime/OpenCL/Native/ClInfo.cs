using System;
using System.Text;

namespace Fused.Runtime.OpenCL.Native
{
    /// <summary>Info-query constants (from cl.h) and helpers that read string / scalar info values.</summary>
    internal static unsafe class ClInfo
    {
        public const uint PlatformProfile = 0x0900;
        public const uint PlatformVersion = 0x0901;
        public const uint PlatformName = 0x0902;
        public const uint PlatformVendor = 0x0903;

        public const uint DeviceType = 0x1000;
        public const uint DeviceMaxComputeUnits = 0x1002;
        public const uint DeviceMaxWorkGroupSize = 0x1004;
        public const uint DevicePreferredVectorWidthFloat = 0x100A;
        public const uint DeviceMaxClockFrequency = 0x100C;
        public const uint DeviceMaxMemAllocSize = 0x1010;
        public const uint DeviceGlobalMemSize = 0x101F;
        public const uint DeviceLocalMemSize = 0x1023;
        public const uint DeviceName = 0x102B;
        public const uint DeviceVendor = 0x102C;
        public const uint DriverVersion = 0x102D;
        public const uint DeviceVersion = 0x102F;
        public const uint DeviceOpenClCVersion = 0x103D;

        public const uint ProgramNumDevices = 0x1162;
        public const uint ProgramBinarySizes = 0x1165;
        public const uint ProgramBinaries = 0x1166;
        public const uint ProgramBuildStatus = 0x1181;
        public const uint ProgramBuildLog = 0x1183;

        public const uint KernelWorkGroupSize = 0x11B0;
        public const uint KernelPreferredWorkGroupSizeMultiple = 0x11B3;

        public const uint EventCommandExecutionStatus = 0x11D3;
        public const uint ProfilingCommandQueued = 0x1280;
        public const uint ProfilingCommandSubmit = 0x1281;
        public const uint ProfilingCommandStart = 0x1282;
        public const uint ProfilingCommandEnd = 0x1283;

        public const ulong DeviceTypeAll = 0xFFFFFFFF;
        public const ulong QueueProfilingEnable = 1 << 1;
        public const int DeviceNotFound = -1;

        public static string PlatformString(IntPtr platform, uint param)
        {
            nuint size;
            ClApi.Check(ClApi.GetPlatformInfo(platform, param, 0, null, &size), "clGetPlatformInfo");
            byte[] bytes = new byte[(int)size];
            fixed (byte* p = bytes)
            {
                ClApi.Check(ClApi.GetPlatformInfo(platform, param, size, p, null), "clGetPlatformInfo");
            }
            return Decode(bytes);
        }

        public static string DeviceString(IntPtr device, uint param)
        {
            nuint size;
            ClApi.Check(ClApi.GetDeviceInfo(device, param, 0, null, &size), "clGetDeviceInfo");
            byte[] bytes = new byte[(int)size];
            fixed (byte* p = bytes)
            {
                ClApi.Check(ClApi.GetDeviceInfo(device, param, size, p, null), "clGetDeviceInfo");
            }
            return Decode(bytes);
        }

        public static T DeviceValue<T>(IntPtr device, uint param) where T : unmanaged
        {
            T value = default;
            ClApi.Check(ClApi.GetDeviceInfo(device, param, (nuint)sizeof(T), &value, null), "clGetDeviceInfo");
            return value;
        }

        /// <summary>Decodes a NUL-terminated info string, trimming the terminator and stray whitespace.</summary>
        public static string Decode(byte[] bytes)
        {
            int length = Array.IndexOf(bytes, (byte)0);
            if (length < 0)
            {
                length = bytes.Length;
            }
            return Encoding.UTF8.GetString(bytes, 0, length).Trim();
        }
    }
}
