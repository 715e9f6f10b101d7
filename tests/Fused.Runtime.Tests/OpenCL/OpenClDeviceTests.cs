using System;
using System.Collections.Generic;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    [Collection(OpenClCollection.Name)]
    public sealed class OpenClDeviceTests
    {
        private readonly ITestOutputHelper output;

        public OpenClDeviceTests(ITestOutputHelper output)
        {
            this.output = output;
        }

        [Fact]
        public void ListsDevicesWithTheirProperties()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            IReadOnlyList<OpenClDevice> devices = OpenClDevices.List();
            Assert.NotEmpty(devices);
            foreach (OpenClDevice device in devices)
            {
                output.WriteLine(device.Describe());
                Assert.False(string.IsNullOrWhiteSpace(device.Name));
                Assert.False(string.IsNullOrWhiteSpace(device.Platform.Name));
                Assert.StartsWith("OpenCL ", device.Version);
                Assert.NotEqual(OpenClDeviceType.None, device.Type);
                Assert.True(device.MaxWorkGroupSize >= 1);
                Assert.True(device.ComputeUnits >= 1);
                Assert.True(device.GlobalMemoryBytes > 0);
                Assert.True(device.PreferredVectorWidthFloat >= 0);
                Assert.Contains(device.Name, device.Describe());
            }
        }

        [Fact]
        public void SelectsByIndexAndByNameSubstring()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            OpenClDevice first = OpenClDevices.List()[0];
            OpenClDevice byIndex = OpenClDevice.Select(first.Platform.Index.ToString(), "0");
            Assert.Same(first, byIndex);
            string fragment = first.Name.Substring(0, Math.Min(6, first.Name.Length)).ToUpperInvariant();
            OpenClDevice byName = OpenClDevice.Select(first.Platform.Name, fragment);
            Assert.Contains(fragment, byName.Name, StringComparison.OrdinalIgnoreCase);
        }

        [Fact]
        public void MissingDeviceFromEnvironmentGivesClearError()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            string? saved = Environment.GetEnvironmentVariable(OpenClDevice.DeviceVariable);
            try
            {
                Environment.SetEnvironmentVariable(OpenClDevice.DeviceVariable, "no-such-device-xyz");
                var error = Assert.Throws<OpenClUnavailableException>(() => OpenClDevice.Select());
                output.WriteLine(error.Message);
                Assert.Contains("FUSED_OPENCL_DEVICE='no-such-device-xyz' matches no OpenCL device", error.Message);
                Assert.Contains(OpenClDevices.List()[0].Name, error.Message);

                Environment.SetEnvironmentVariable(OpenClDevice.DeviceVariable, "97");
                error = Assert.Throws<OpenClUnavailableException>(() => ClContext.CreateDefault());
                Assert.Contains("FUSED_OPENCL_DEVICE='97'", error.Message);
            }
            finally
            {
                Environment.SetEnvironmentVariable(OpenClDevice.DeviceVariable, saved);
            }
        }

        [Fact]
        public void MissingPlatformFromEnvironmentGivesClearError()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            string? saved = Environment.GetEnvironmentVariable(OpenClDevice.PlatformVariable);
            try
            {
                Environment.SetEnvironmentVariable(OpenClDevice.PlatformVariable, "NoSuchVendorPlatform");
                var error = Assert.Throws<OpenClUnavailableException>(() => OpenClDevice.Select());
                Assert.Contains("FUSED_OPENCL_PLATFORM='NoSuchVendorPlatform' matches no OpenCL platform", error.Message);
            }
            finally
            {
                Environment.SetEnvironmentVariable(OpenClDevice.PlatformVariable, saved);
            }
        }

        [Fact]
        public void ExplicitHintOverridesEnvironment()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            string? saved = Environment.GetEnvironmentVariable(OpenClDevice.DeviceVariable);
            try
            {
                Environment.SetEnvironmentVariable(OpenClDevice.DeviceVariable, "no-such-device-xyz");
                Assert.Same(OpenClDevices.List()[0], OpenClDevice.Select(null, "0"));
            }
            finally
            {
                Environment.SetEnvironmentVariable(OpenClDevice.DeviceVariable, saved);
            }
        }
    }
}
