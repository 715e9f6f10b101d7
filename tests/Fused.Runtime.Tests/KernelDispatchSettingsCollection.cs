using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Runtime.Tests
{
    /// <summary>
    /// The tests that flip <see cref="KernelDispatch"/>'s process-wide switches (vector width, bf16 in the kernel) run in
    /// this collection, alone: a width flipped by one test while another steps would make the other's run a mix of widths.
    /// </summary>
    [CollectionDefinition(nameof(KernelDispatchSettingsCollection), DisableParallelization = true)]
    public sealed class KernelDispatchSettingsCollection { }
}
