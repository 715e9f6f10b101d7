using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>A built OpenCL program for one device. Build failures throw with the compiler's log.</summary>
    public sealed unsafe class ClProgram : IDisposable
    {
        private const int BuildProgramFailure = -11;
        private readonly ClObjectHandle handle;
        private readonly Dictionary<string, ClKernel> sharedKernels = new Dictionary<string, ClKernel>(StringComparer.Ordinal);

        private ClProgram(ClContext context, IntPtr program, string options)
        {
            Context = context;
            Options = options;
            handle = new ClObjectHandle(program, ClApi.ReleaseProgram);
        }

        /// <summary>The context the program was built in.</summary>
        public ClContext Context { get; }

        /// <summary>The build options used.</summary>
        public string Options { get; }

        /// <summary>The compiler's log for the device (often empty on success).</summary>
        public string BuildLog { get; private set; } = string.Empty;

        internal IntPtr Handle => handle.Value;

        /// <summary>Compiles <paramref name="source"/> for the context's device. Throws <see cref="OpenClException"/> (with the build log) on failure.</summary>
        public static ClProgram FromSource(ClContext context, string source, string options = "")
        {
            ArgumentNullException.ThrowIfNull(context);
            ArgumentNullException.ThrowIfNull(source);
            byte[] utf8 = Encoding.UTF8.GetBytes(source);
            int status;
            IntPtr program;
            fixed (byte* text = utf8)
            {
                byte* strings = text;
                nuint length = (nuint)utf8.Length;
                program = ClApi.CreateProgramWithSource(context.Handle, 1, &strings, &length, &status);
            }
            ClApi.Check(status, "clCreateProgramWithSource");
            var result = new ClProgram(context, program, options ?? string.Empty);
            result.Build();
            return result;
        }

        /// <summary>
        /// Creates a program from a device binary previously obtained with <see cref="GetBinary"/> and builds it.
        /// Throws <see cref="OpenClException"/> when the driver rejects the binary.
        /// </summary>
        public static ClProgram FromBinary(ClContext context, ReadOnlySpan<byte> binary, string options = "")
        {
            ArgumentNullException.ThrowIfNull(context);
            if (binary.IsEmpty)
            {
                throw new ArgumentException("A program binary cannot be empty.", nameof(binary));
            }
            IntPtr device = context.Device.Id;
            int binaryStatus;
            int status;
            IntPtr program;
            fixed (byte* bytes = binary)
            {
                byte* binaries = bytes;
                nuint length = (nuint)binary.Length;
                program = ClApi.CreateProgramWithBinary(context.Handle, 1, &device, &length, &binaries, &binaryStatus, &status);
            }
            ClApi.Check(status, "clCreateProgramWithBinary");
            var result = new ClProgram(context, program, options ?? string.Empty);
            if (binaryStatus != 0)
            {
                result.Dispose();
                ClApi.Check(binaryStatus, "clCreateProgramWithBinary (binary status)");
            }
            try
            {
                result.Build();
            }
            catch
            {
                result.Dispose();
                throw;
            }
            return result;
        }

        /// <summary>The device binary of the built program, suitable for <see cref="FromBinary"/> on the same device and driver.</summary>
        public byte[] GetBinary()
        {
            uint deviceCount;
            ClApi.Check(ClApi.GetProgramInfo(Handle, ClInfo.ProgramNumDevices, sizeof(uint), &deviceCount, null), "clGetProgramInfo");
            nuint* sizes = stackalloc nuint[(int)deviceCount];
            ClApi.Check(ClApi.GetProgramInfo(Handle, ClInfo.ProgramBinarySizes, (nuint)(sizeof(nuint) * deviceCount), sizes, null), "clGetProgramInfo");
            // Contexts created here hold exactly one device, so the first binary is ours.
            var binaries = new byte[deviceCount][];
            for (int i = 0; i < deviceCount; i++)
            {
                binaries[i] = new byte[(int)sizes[i]];
            }
            byte** pointers = stackalloc byte*[(int)deviceCount];
            var pins = new GCHandle[deviceCount];
            try
            {
                for (int i = 0; i < deviceCount; i++)
                {
                    pins[i] = GCHandle.Alloc(binaries[i], GCHandleType.Pinned);
                    pointers[i] = (byte*)pins[i].AddrOfPinnedObject();
                }
                ClApi.Check(ClApi.GetProgramInfo(Handle, ClInfo.ProgramBinaries, (nuint)(sizeof(byte*) * deviceCount), pointers, null), "clGetProgramInfo");
            }
            finally
            {
                foreach (GCHandle pin in pins)
                {
                    if (pin.IsAllocated)
                    {
                        pin.Free();
                    }
                }
            }
            return deviceCount == 0 ? Array.Empty<byte>() : binaries[0];
        }

        /// <summary>Creates a new kernel object for <paramref name="name"/>; the caller owns and disposes it.</summary>
        public ClKernel CreateKernel(string name)
        {
            ArgumentNullException.ThrowIfNull(name);
            byte[] ascii = Encoding.ASCII.GetBytes(name + "\0");
            int status;
            IntPtr kernel;
            fixed (byte* text = ascii)
            {
                kernel = ClApi.CreateKernel(Handle, text, &status);
            }
            if (status != 0)
            {
                throw new OpenClException("clCreateKernel", status, "Kernel name: " + name);
            }
            return new ClKernel(this, kernel, name);
        }

        /// <summary>
        /// Returns this program's shared kernel object for <paramref name="name"/>, created once and released with
        /// the program. Kernel arguments are per object, so callers sharing it must not set arguments concurrently.
        /// </summary>
        public ClKernel GetKernel(string name)
        {
            lock (sharedKernels)
            {
                if (!sharedKernels.TryGetValue(name, out ClKernel? kernel))
                {
                    kernel = CreateKernel(name);
                    sharedKernels.Add(name, kernel);
                }
                return kernel;
            }
        }

        /// <summary>Releases the shared kernels and the program.</summary>
        public void Dispose()
        {
            lock (sharedKernels)
            {
                foreach (ClKernel kernel in sharedKernels.Values)
                {
                    kernel.Dispose();
                }
                sharedKernels.Clear();
            }
            handle.Dispose();
        }

        private void Build()
        {
            IntPtr device = Context.Device.Id;
            byte[] options = Encoding.UTF8.GetBytes(Options + "\0");
            int status;
            fixed (byte* text = options)
            {
                status = ClApi.BuildProgram(Handle, 1, &device, text, IntPtr.Zero, IntPtr.Zero);
            }
            BuildLog = ReadBuildLog();
            if (status != 0)
            {
                string detail = status == BuildProgramFailure || BuildLog.Length > 0
                    ? "Build log:" + Environment.NewLine + (BuildLog.Length > 0 ? BuildLog : "(empty)")
                    : string.Empty;
                handle.Dispose();
                throw new OpenClException("clBuildProgram", status, detail);
            }
        }

        private string ReadBuildLog()
        {
            IntPtr device = Context.Device.Id;
            nuint size;
            if (ClApi.GetProgramBuildInfo(Handle, device, ClInfo.ProgramBuildLog, 0, null, &size) != 0 || size == 0)
            {
                return string.Empty;
            }
            byte[] bytes = new byte[(int)size];
            fixed (byte* p = bytes)
            {
                if (ClApi.GetProgramBuildInfo(Handle, device, ClInfo.ProgramBuildLog, size, p, null) != 0)
                {
                    return string.Empty;
                }
            }
            return ClInfo.Decode(bytes);
        }
    }
}
