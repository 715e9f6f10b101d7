using System;
using System.Runtime.InteropServices;

namespace Fused.Runtime.OpenCL.Native
{
    /// <summary>
    /// Hand-written bindings to the OpenCL 1.2 entry points of the ICD loader, resolved once through
    /// <see cref="NativeLibrary"/> into unmanaged function pointers. Function pointers (rather than
    /// DllImport) let us probe several library names without installing an assembly-wide import
    /// resolver that other parts of the runtime might also want.
    /// </summary>
    internal static unsafe class ClApi
    {
        private static readonly string[] LibraryNames = { "libOpenCL.so.1", "libOpenCL.so", "OpenCL" };
        private static readonly object LoadLock = new object();
        private static volatile bool loaded;
        private static string? loadFailure;

        // Platforms and devices.
        public static delegate* unmanaged<uint, IntPtr*, uint*, int> GetPlatformIDs;
        public static delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int> GetPlatformInfo;
        public static delegate* unmanaged<IntPtr, ulong, uint, IntPtr*, uint*, int> GetDeviceIDs;
        public static delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int> GetDeviceInfo;

        // Context and queue.
        public static delegate* unmanaged<IntPtr*, uint, IntPtr*, IntPtr, IntPtr, int*, IntPtr> CreateContext;
        public static delegate* unmanaged<IntPtr, int> ReleaseContext;
        public static delegate* unmanaged<IntPtr, IntPtr, ulong, int*, IntPtr> CreateCommandQueue;
        public static delegate* unmanaged<IntPtr, int> ReleaseCommandQueue;
        public static delegate* unmanaged<IntPtr, int> Finish;
        public static delegate* unmanaged<IntPtr, int> Flush;

        // Buffers.
        public static delegate* unmanaged<IntPtr, ulong, nuint, void*, int*, IntPtr> CreateBuffer;
        public static delegate* unmanaged<IntPtr, int> ReleaseMemObject;
        public static delegate* unmanaged<IntPtr, IntPtr, uint, nuint, nuint, void*, uint, IntPtr*, IntPtr*, int> EnqueueWriteBuffer;
        public static delegate* unmanaged<IntPtr, IntPtr, uint, nuint, nuint, void*, uint, IntPtr*, IntPtr*, int> EnqueueReadBuffer;
        public static delegate* unmanaged<IntPtr, IntPtr, IntPtr, nuint, nuint, nuint, uint, IntPtr*, IntPtr*, int> EnqueueCopyBuffer;
        public static delegate* unmanaged<IntPtr, IntPtr, void*, nuint, nuint, nuint, uint, IntPtr*, IntPtr*, int> EnqueueFillBuffer;

        // Programs.
        public static delegate* unmanaged<IntPtr, uint, byte**, nuint*, int*, IntPtr> CreateProgramWithSource;
        public static delegate* unmanaged<IntPtr, uint, IntPtr*, nuint*, byte**, int*, int*, IntPtr> CreateProgramWithBinary;
        public static delegate* unmanaged<IntPtr, uint, IntPtr*, byte*, IntPtr, IntPtr, int> BuildProgram;
        public static delegate* unmanaged<IntPtr, IntPtr, uint, nuint, void*, nuint*, int> GetProgramBuildInfo;
        public static delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int> GetProgramInfo;
        public static delegate* unmanaged<IntPtr, int> ReleaseProgram;

        // Kernels.
        public static delegate* unmanaged<IntPtr, byte*, int*, IntPtr> CreateKernel;
        public static delegate* unmanaged<IntPtr, int> ReleaseKernel;
        public static delegate* unmanaged<IntPtr, uint, nuint, void*, int> SetKernelArg;
        public static delegate* unmanaged<IntPtr, IntPtr, uint, nuint, void*, nuint*, int> GetKernelWorkGroupInfo;
        public static delegate* unmanaged<IntPtr, IntPtr, uint, nuint*, nuint*, nuint*, uint, IntPtr*, IntPtr*, int> EnqueueNDRangeKernel;

        // Events.
        public static delegate* unmanaged<uint, IntPtr*, int> WaitForEvents;
        public static delegate* unmanaged<IntPtr, int> ReleaseEvent;
        public static delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int> GetEventInfo;
        public static delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int> GetEventProfilingInfo;

        /// <summary>True when the loader library was found and every entry point resolved.</summary>
        public static bool TryLoad(out string? failure)
        {
            if (!loaded)
            {
                lock (LoadLock)
                {
                    if (!loaded && loadFailure == null)
                    {
                        loadFailure = LoadCore();
                        loaded = loadFailure == null;
                    }
                }
            }
            failure = loadFailure;
            return loaded;
        }

        /// <summary>Loads the library or throws <see cref="OpenClUnavailableException"/>.</summary>
        public static void EnsureLoaded()
        {
            if (!TryLoad(out string? failure))
            {
                throw new OpenClUnavailableException(failure!);
            }
        }

        private static string? LoadCore()
        {
            IntPtr library = IntPtr.Zero;
            foreach (string name in LibraryNames)
            {
                if (NativeLibrary.TryLoad(name, typeof(ClApi).Assembly, null, out library))
                {
                    break;
                }
            }
            if (library == IntPtr.Zero)
            {
                return "The OpenCL ICD loader (libOpenCL.so.1) could not be loaded. " + OpenClUnavailableException.InstallHint;
            }

            try
            {
                GetPlatformIDs = (delegate* unmanaged<uint, IntPtr*, uint*, int>)Export(library, "clGetPlatformIDs");
                GetPlatformInfo = (delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int>)Export(library, "clGetPlatformInfo");
                GetDeviceIDs = (delegate* unmanaged<IntPtr, ulong, uint, IntPtr*, uint*, int>)Export(library, "clGetDeviceIDs");
                GetDeviceInfo = (delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int>)Export(library, "clGetDeviceInfo");
                CreateContext = (delegate* unmanaged<IntPtr*, uint, IntPtr*, IntPtr, IntPtr, int*, IntPtr>)Export(library, "clCreateContext");
                ReleaseContext = (delegate* unmanaged<IntPtr, int>)Export(library, "clReleaseContext");
                // clCreateCommandQueue is deprecated in 2.0 but exported by every loader, unlike the 2.0 variant.
                CreateCommandQueue = (delegate* unmanaged<IntPtr, IntPtr, ulong, int*, IntPtr>)Export(library, "clCreateCommandQueue");
                ReleaseCommandQueue = (delegate* unmanaged<IntPtr, int>)Export(library, "clReleaseCommandQueue");
                Finish = (delegate* unmanaged<IntPtr, int>)Export(library, "clFinish");
                Flush = (delegate* unmanaged<IntPtr, int>)Export(library, "clFlush");
                CreateBuffer = (delegate* unmanaged<IntPtr, ulong, nuint, void*, int*, IntPtr>)Export(library, "clCreateBuffer");
                ReleaseMemObject = (delegate* unmanaged<IntPtr, int>)Export(library, "clReleaseMemObject");
                EnqueueWriteBuffer = (delegate* unmanaged<IntPtr, IntPtr, uint, nuint, nuint, void*, uint, IntPtr*, IntPtr*, int>)Export(library, "clEnqueueWriteBuffer");
                EnqueueReadBuffer = (delegate* unmanaged<IntPtr, IntPtr, uint, nuint, nuint, void*, uint, IntPtr*, IntPtr*, int>)Export(library, "clEnqueueReadBuffer");
                EnqueueCopyBuffer = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, nuint, nuint, nuint, uint, IntPtr*, IntPtr*, int>)Export(library, "clEnqueueCopyBuffer");
                EnqueueFillBuffer = (delegate* unmanaged<IntPtr, IntPtr, void*, nuint, nuint, nuint, uint, IntPtr*, IntPtr*, int>)Export(library, "clEnqueueFillBuffer");
                CreateProgramWithSource = (delegate* unmanaged<IntPtr, uint, byte**, nuint*, int*, IntPtr>)Export(library, "clCreateProgramWithSource");
                CreateProgramWithBinary = (delegate* unmanaged<IntPtr, uint, IntPtr*, nuint*, byte**, int*, int*, IntPtr>)Export(library, "clCreateProgramWithBinary");
                BuildProgram = (delegate* unmanaged<IntPtr, uint, IntPtr*, byte*, IntPtr, IntPtr, int>)Export(library, "clBuildProgram");
                GetProgramBuildInfo = (delegate* unmanaged<IntPtr, IntPtr, uint, nuint, void*, nuint*, int>)Export(library, "clGetProgramBuildInfo");
                GetProgramInfo = (delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int>)Export(library, "clGetProgramInfo");
                ReleaseProgram = (delegate* unmanaged<IntPtr, int>)Export(library, "clReleaseProgram");
                CreateKernel = (delegate* unmanaged<IntPtr, byte*, int*, IntPtr>)Export(library, "clCreateKernel");
                ReleaseKernel = (delegate* unmanaged<IntPtr, int>)Export(library, "clReleaseKernel");
                SetKernelArg = (delegate* unmanaged<IntPtr, uint, nuint, void*, int>)Export(library, "clSetKernelArg");
                GetKernelWorkGroupInfo = (delegate* unmanaged<IntPtr, IntPtr, uint, nuint, void*, nuint*, int>)Export(library, "clGetKernelWorkGroupInfo");
                EnqueueNDRangeKernel = (delegate* unmanaged<IntPtr, IntPtr, uint, nuint*, nuint*, nuint*, uint, IntPtr*, IntPtr*, int>)Export(library, "clEnqueueNDRangeKernel");
                WaitForEvents = (delegate* unmanaged<uint, IntPtr*, int>)Export(library, "clWaitForEvents");
                ReleaseEvent = (delegate* unmanaged<IntPtr, int>)Export(library, "clReleaseEvent");
                GetEventInfo = (delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int>)Export(library, "clGetEventInfo");
                GetEventProfilingInfo = (delegate* unmanaged<IntPtr, uint, nuint, void*, nuint*, int>)Export(library, "clGetEventProfilingInfo");
                return null;
            }
            catch (EntryPointNotFoundException missing)
            {
                return "The OpenCL loader is too old (OpenCL 1.2 entry points are required): " + missing.Message;
            }
        }

        private static IntPtr Export(IntPtr library, string name)
        {
            if (!NativeLibrary.TryGetExport(library, name, out IntPtr address))
            {
                throw new EntryPointNotFoundException(name + " is not exported by the OpenCL loader.");
            }
            return address;
        }

        /// <summary>Throws <see cref="OpenClException"/> naming <paramref name="call"/> unless <paramref name="status"/> is CL_SUCCESS.</summary>
        public static void Check(int status, string call)
        {
            if (status != 0)
            {
                throw new OpenClException(call, status);
            }
        }
    }
}
