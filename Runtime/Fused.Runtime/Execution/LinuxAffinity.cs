using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Fused.Runtime.Execution
{
    /// <summary>Thin P/Invoke layer over Linux CPU affinity (glibc / musl <c>libc</c>).</summary>
    internal static unsafe class LinuxAffinity
    {
        // cpu_set_t is 1024 bits in glibc; the kernel accepts any multiple of sizeof(long).
        internal const int CpuSetWords = 16;
        internal const int MaxCpus = CpuSetWords * 64;

        private const long SysGettidX64 = 186;
        private const long SysGettidArm64 = 178;

        [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
        private static extern int SchedSetAffinity(int tid, nuint cpuSetSize, ulong* mask);

        [DllImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
        private static extern int SchedGetAffinity(int tid, nuint cpuSetSize, ulong* mask);

        [DllImport("libc", EntryPoint = "gettid")]
        private static extern int GetTid();

        [DllImport("libc", EntryPoint = "syscall")]
        private static extern long Syscall(long number);

        private static int s_gettidExportMissing;

        /// <summary>Kernel thread id of the calling thread (what sched_setaffinity expects).</summary>
        internal static int CurrentThreadId()
        {
            // gettid() exists from glibc 2.30; older libcs only have the raw syscall.
            if (s_gettidExportMissing == 0)
            {
                try
                {
                    return GetTid();
                }
                catch (EntryPointNotFoundException)
                {
                    s_gettidExportMissing = 1;
                }
            }

            long number = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => SysGettidX64,
                Architecture.Arm64 => SysGettidArm64,
                _ => throw new PlatformNotSupportedException(
                    $"gettid syscall number unknown for {RuntimeInformation.ProcessArchitecture}"),
            };
            return (int)Syscall(number);
        }

        /// <summary>CPUs the given thread (0 = calling thread) may run on, ascending.</summary>
        internal static List<int> GetAllowedCpus(int tid, out int errno)
        {
            ulong* mask = stackalloc ulong[CpuSetWords];
            new Span<ulong>(mask, CpuSetWords).Clear();
            var cpus = new List<int>();
            if (SchedGetAffinity(tid, (nuint)(CpuSetWords * sizeof(ulong)), mask) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return cpus;
            }

            errno = 0;
            for (int cpu = 0; cpu < MaxCpus; cpu++)
            {
                if ((mask[cpu >> 6] & (1UL << (cpu & 63))) != 0)
                {
                    cpus.Add(cpu);
                }
            }

            return cpus;
        }

        /// <summary>Restricts the calling thread to exactly one CPU. Returns 0 or the errno.</summary>
        internal static int PinCurrentThread(int cpu)
        {
            if ((uint)cpu >= MaxCpus)
            {
                return 22; // EINVAL
            }

            ulong* mask = stackalloc ulong[CpuSetWords];
            new Span<ulong>(mask, CpuSetWords).Clear();
            mask[cpu >> 6] = 1UL << (cpu & 63);
            return SchedSetAffinity(0, (nuint)(CpuSetWords * sizeof(ulong)), mask) == 0
                ? 0
                : Marshal.GetLastPInvokeError();
        }
    }
}
