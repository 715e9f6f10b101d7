using System;
using System.Runtime.InteropServices;

namespace Fused.Runtime.OpenCL.Native
{
    /// <summary>
    /// Owns one reference to an OpenCL object (context, queue, buffer, program, kernel, event) and
    /// releases it exactly once, deterministically on Dispose or by the finalizer as a last resort.
    /// </summary>
    internal sealed unsafe class ClObjectHandle : SafeHandle
    {
        private readonly delegate* unmanaged<IntPtr, int> release;

        public ClObjectHandle(IntPtr handle, delegate* unmanaged<IntPtr, int> release)
            : base(IntPtr.Zero, ownsHandle: true)
        {
            this.release = release;
            SetHandle(handle);
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        /// <summary>The raw handle, or ObjectDisposedException when already released.</summary>
        public IntPtr Value
        {
            get
            {
                if (IsClosed)
                {
                    throw new ObjectDisposedException("OpenCL object", "The OpenCL object has already been released.");
                }
                return handle;
            }
        }

        protected override bool ReleaseHandle()
        {
            // A failed release cannot be reported from a finalizer; the status is intentionally ignored.
            release(handle);
            return true;
        }
    }
}
