namespace Fused.Runtime.OpenCL
{
    /// <summary>CL_EVENT_COMMAND_EXECUTION_STATUS values; negative values are error codes.</summary>
    public enum ClCommandStatus
    {
        /// <summary>CL_COMPLETE.</summary>
        Complete = 0,
        /// <summary>CL_RUNNING.</summary>
        Running = 1,
        /// <summary>CL_SUBMITTED.</summary>
        Submitted = 2,
        /// <summary>CL_QUEUED.</summary>
        Queued = 3,
    }
}
