using System;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// An OpenCL call returned a status other than CL_SUCCESS. The message names the call and the
    /// symbolic status, e.g. <c>clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11)</c>, followed by the
    /// build log when a program failed to build.
    /// </summary>
    public class OpenClException : Exception
    {
        /// <summary>Creates an exception for a failed call.</summary>
        /// <param name="call">The OpenCL entry point, e.g. <c>clEnqueueNDRangeKernel</c>.</param>
        /// <param name="errorCode">The status code it returned.</param>
        /// <param name="detail">Extra text appended on following lines (for example a build log).</param>
        public OpenClException(string call, int errorCode, string? detail = null)
            : base(FormatMessage(call, errorCode, detail))
        {
            Call = call;
            ErrorCode = errorCode;
            ErrorName = ClErrorCodes.Name(errorCode);
            Detail = detail;
        }

        /// <summary>Creates an exception that is not tied to a single status code.</summary>
        protected OpenClException(string message, Exception? inner = null)
            : base(message, inner)
        {
            Call = string.Empty;
            ErrorName = string.Empty;
        }

        /// <summary>The OpenCL entry point that failed (empty when not tied to a call).</summary>
        public string Call { get; }

        /// <summary>The raw status code (0 when not tied to a call).</summary>
        public int ErrorCode { get; }

        /// <summary>The symbolic status name, e.g. <c>CL_INVALID_KERNEL_NAME</c>.</summary>
        public string ErrorName { get; }

        /// <summary>Additional diagnostic text, e.g. the compiler's build log.</summary>
        public string? Detail { get; }

        private static string FormatMessage(string call, int errorCode, string? detail)
        {
            string head = call + " failed: " + ClErrorCodes.Name(errorCode) + " (" + errorCode + ")";
            return string.IsNullOrWhiteSpace(detail) ? head : head + Environment.NewLine + detail.TrimEnd();
        }
    }
}
