using System;
using Fused.Runtime.Engine;
using ILGPU.Runtime;

namespace Fused.Ilgpu
{
    /// <summary>The engine on ILGPU: <c>new OptimizerBuilder()...UseIlgpu(accelerator).Build()</c>.</summary>
    public static class IlgpuEngine
    {
        /// <summary>
        /// Steps every group through an <see cref="IlgpuBackend"/> on <paramref name="accelerator"/> (not disposed by the
        /// optimizer): parameters and float32 element states on the device; gradients uploaded every step after the
        /// global-norm passes; parameters back every step or on request (<paramref name="parameters"/>); states back for
        /// checkpoints and <c>ReadState</c>, up after <c>Load</c>. Every rule needs the ILGPU kernels its project's
        /// generator emitted (a rule built at run time is refused when the optimizer is built).
        /// </summary>
        public static OptimizerBuilder UseIlgpu(this OptimizerBuilder builder, Accelerator accelerator, ParameterDownload parameters = ParameterDownload.EveryStep)
        {
            ArgumentNullException.ThrowIfNull(builder);
            ArgumentNullException.ThrowIfNull(accelerator);
            return builder.UseDevice("ILGPU: " + accelerator.Name, (rule, newtonSchulz, shampoo) => new IlgpuBackend(rule, accelerator, newtonSchulz, shampoo), parameters);
        }
    }
}
