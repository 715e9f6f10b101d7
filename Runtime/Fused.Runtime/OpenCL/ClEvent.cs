using System;
using System.Buffers;
using Fused.Runtime.OpenCL.Native;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Completion event of one enqueued command. For non-blocking transfers it also keeps the host memory
    /// pinned until the event is waited on or disposed, so dispose it only after the command completed
    /// (Wait, or a later Finish on its queue).
    /// </summary>
    public sealed unsafe class ClEvent : IDisposable
    {
        private readonly ClObjectHandle handle;
        private MemoryHandle pin;
        private bool pinned;

        internal ClEvent(IntPtr evt, MemoryHandle pin = default, bool pinned = false)
        {
            handle = new ClObjectHandle(evt, ClApi.ReleaseEvent);
            this.pin = pin;
            this.pinned = pinned;
        }

        internal IntPtr Handle => handle.Value;

        /// <summary>Current execution status; throws <see cref="OpenClException"/> if the command failed.</summary>
        public ClCommandStatus Status
        {
            get
            {
                int status;
                ClApi.Check(ClApi.GetEventInfo(Handle, ClInfo.EventCommandExecutionStatus, sizeof(int), &status, null), "clGetEventInfo");
                if (status < 0)
                {
                    throw new OpenClException("command execution", status);
                }
                return (ClCommandStatus)status;
            }
        }

        /// <summary>True once the command completed.</summary>
        public bool IsComplete => Status == ClCommandStatus.Complete;

        /// <summary>Device timestamp (ns) when the command was queued. Requires a profiling queue.</summary>
        public long QueuedNanoseconds => Profiling(ClInfo.ProfilingCommandQueued);

        /// <summary>Device timestamp (ns) when the command was submitted. Requires a profiling queue.</summary>
        public long SubmitNanoseconds => Profiling(ClInfo.ProfilingCommandSubmit);

        /// <summary>Device timestamp (ns) when execution started. Requires a profiling queue.</summary>
        public long StartNanoseconds => Profiling(ClInfo.ProfilingCommandStart);

        /// <summary>Device timestamp (ns) when execution ended. Requires a profiling queue.</summary>
        public long EndNanoseconds => Profiling(ClInfo.ProfilingCommandEnd);

        /// <summary>Execution time on the device (end − start). Requires a profiling queue and a completed command.</summary>
        public TimeSpan Duration => TimeSpan.FromTicks((EndNanoseconds - StartNanoseconds) / 100);

        /// <summary>Blocks until the command completes, then releases any host pin it held.</summary>
        public void Wait()
        {
            IntPtr evt = Handle;
            ClApi.Check(ClApi.WaitForEvents(1, &evt), "clWaitForEvents");
            Unpin();
        }

        /// <summary>Blocks until all <paramref name="events"/> complete.</summary>
        public static void WaitAll(ReadOnlySpan<ClEvent> events)
        {
            if (events.IsEmpty)
            {
                return;
            }
            IntPtr* handles = stackalloc IntPtr[events.Length];
            for (int i = 0; i < events.Length; i++)
            {
                handles[i] = events[i].Handle;
            }
            ClApi.Check(ClApi.WaitForEvents((uint)events.Length, handles), "clWaitForEvents");
            foreach (ClEvent evt in events)
            {
                evt.Unpin();
            }
        }

        /// <summary>Releases the event (and the host pin, if still held).</summary>
        public void Dispose()
        {
            Unpin();
            handle.Dispose();
        }

        private long Profiling(uint param)
        {
            ulong value;
            ClApi.Check(ClApi.GetEventProfilingInfo(Handle, param, sizeof(ulong), &value, null), "clGetEventProfilingInfo");
            return (long)value;
        }

        private void Unpin()
        {
            if (pinned)
            {
                pinned = false;
                pin.Dispose();
            }
        }
    }
}
