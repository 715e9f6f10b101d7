using System;
using System.Collections.Generic;
using Fused.Runtime.OpenCL;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// Decides whether OpenCL tests can run. Under CI (CI=true) a missing device is a failure; on a developer
    /// machine without OpenCL the tests return early with a visible message instead.
    /// </summary>
    public static class OpenClTestEnvironment
    {
        /// <summary>
        /// The device the tests should use, or null (after printing why) when there is none and CI is not set.
        /// Throws when CI=true and no device exists.
        /// </summary>
        public static OpenClDevice? RequireDevice(ITestOutputHelper? output = null)
        {
            if (OpenClDevices.TryList(out IReadOnlyList<OpenClDevice> _, out string? reason))
            {
                return OpenClDevice.Select();
            }
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException("CI=true requires an OpenCL device, but none is available: " + reason);
            }
            string message = "OpenCL test not run (no device; set CI=true to make this a failure): " + reason;
            output?.WriteLine(message);
            Console.Error.WriteLine(message);
            return null;
        }
    }
}
