using System;
using System.Runtime.InteropServices;

namespace Fused.Distributed.Mpi
{
    /// <summary>
    /// P/Invoke over Open MPI's <c>libmpi.so.40</c> (Open MPI 3.x–4.x ABI). Open MPI's handles are pointers to
    /// exported globals (MPI_COMM_WORLD is <c>&amp;ompi_mpi_comm_world</c>), so they come from
    /// <see cref="NativeLibrary.GetExport"/>; MPI.NET's integer handles are MS-MPI's and do not apply.
    /// </summary>
    internal static unsafe class MpiNative
    {
        private const string Lib = "libmpi.so.40";
        private const int RtldNow = 2, RtldGlobal = 0x100;

        public const int MaxErrorString = 256;
        public static readonly nint InPlace = 1; // MPI_IN_PLACE in Open MPI's mpi.h

        public static nint CommWorld, MpiFloat, MpiDouble, MpiByte, MpiLong, OpSum, OpMax, ErrorsReturn;

        private static bool _loaded;

        /// <summary>
        /// Loads libmpi with RTLD_GLOBAL (Open MPI's plugins resolve libmpi's symbols through the global scope) and reads
        /// the predefined handles. A missing library is a <see cref="MpiException"/> saying what to install.
        /// </summary>
        public static void Load()
        {
            if (_loaded) return;
            nint handle = dlopen(Lib, RtldNow | RtldGlobal);
            if (handle == 0)
                throw new MpiException($"cannot load {Lib} (Open MPI): {Marshal.PtrToStringUTF8(dlerror()) ?? "not found"}; install it with 'apt-get install openmpi-bin'");
            nint lib = NativeLibrary.Load(Lib);
            nint Export(string name) => NativeLibrary.TryGetExport(lib, name, out nint address) ? address
                : throw new MpiException($"{Lib} has no symbol '{name}': Fused.Distributed needs Open MPI (3.x or 4.x), not another MPI");
            CommWorld = Export("ompi_mpi_comm_world");
            MpiFloat = Export("ompi_mpi_float");
            MpiDouble = Export("ompi_mpi_double");
            MpiByte = Export("ompi_mpi_byte");
            MpiLong = Export("ompi_mpi_long");
            OpSum = Export("ompi_mpi_op_sum");
            OpMax = Export("ompi_mpi_op_max");
            ErrorsReturn = Export("ompi_mpi_errors_return");
            _loaded = true;
        }

        [DllImport("libc", EntryPoint = "dlopen")] private static extern nint dlopen(string file, int mode);
        [DllImport("libc", EntryPoint = "dlerror")] private static extern nint dlerror();

        [DllImport(Lib)] public static extern int MPI_Init(nint argc, nint argv);
        [DllImport(Lib)] public static extern int MPI_Initialized(int* flag);
        [DllImport(Lib)] public static extern int MPI_Finalized(int* flag);
        [DllImport(Lib)] public static extern int MPI_Finalize();
        [DllImport(Lib)] public static extern int MPI_Abort(nint comm, int errorCode);
        [DllImport(Lib)] public static extern int MPI_Comm_rank(nint comm, int* rank);
        [DllImport(Lib)] public static extern int MPI_Comm_size(nint comm, int* size);
        [DllImport(Lib)] public static extern int MPI_Comm_set_errhandler(nint comm, nint handler);
        [DllImport(Lib)] public static extern int MPI_Error_string(int code, byte* text, int* length);

        [DllImport(Lib)] public static extern int MPI_Ibarrier(nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Ibcast(void* buffer, int count, nint type, int root, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Iallreduce(void* send, void* receive, int count, nint type, nint op, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Ireduce_scatter_block(void* send, void* receive, int count, nint type, nint op, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Iallgather(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Iallgatherv(void* send, int sendCount, nint sendType, void* receive, int* receiveCounts, int* displacements, nint receiveType, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Ialltoallv(void* send, int* sendCounts, int* sendDisplacements, nint sendType,
            void* receive, int* receiveCounts, int* receiveDisplacements, nint receiveType, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Isend(void* buffer, int count, nint type, int destination, int tag, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Irecv(void* buffer, int count, nint type, int source, int tag, nint comm, nint* request);
        [DllImport(Lib)] public static extern int MPI_Testall(int count, nint* requests, int* flag, nint statuses);

        /// <summary>Throws a <see cref="MpiException"/> naming <paramref name="call"/> and MPI's text for <paramref name="code"/> unless it is MPI_SUCCESS.</summary>
        public static void Check(int code, string call)
        {
            if (code == 0) return;
            byte* text = stackalloc byte[MaxErrorString];
            int length = 0;
            string what = MPI_Error_string(code, text, &length) == 0 ? System.Text.Encoding.UTF8.GetString(text, length) : "unknown error";
            throw new MpiException($"{call} failed: {what} (MPI error {code})");
        }
    }

    /// <summary>A call waited for the other ranks longer than <see cref="MpiCollectives.Timeout"/> (the message names the call; the job is then aborted).</summary>
    public sealed class MpiTimeoutException : Exception
    {
        public MpiTimeoutException(string message) : base(message) { }
    }

    /// <summary>An MPI call failed (the message names the call), or MPI could not be loaded or used.</summary>
    public sealed class MpiException : Exception
    {
        public MpiException(string message) : base(message) { }
    }
}
