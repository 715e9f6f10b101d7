using System;
using System.Collections.Generic;
using Fused.Execution;
using Fused.Runtime.Kernels;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.Engine
{
    /// <summary>
    /// A backend the engine can step a group on when its tensors live on a device: the executor's backend plus the
    /// transfers the engine makes (gradients up every step, parameters down after a step or on request, element states
    /// down for checkpoints and up after a load). Implemented by the OpenCL backend and by device backends in other
    /// assemblies (Fused.Ilgpu), which plug into <see cref="OptimizerBuilder.UseDevice"/> with a <see cref="DeviceBackendFactory"/>.
    /// </summary>
    public interface IDeviceBackend : IScheduleBackend, IDisposable
    {
        /// <summary>The tensors to hold, in the executor's order (element buffers start at zero).</summary>
        void SetTensors(IReadOnlyList<ShapeInfo> shapes);

        /// <summary>Host data into tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> (a schedule buffer index), Numel floats; done when it returns.</summary>
        void Upload(int tensor, int buffer, ReadOnlySpan<float> data);

        /// <summary>Tensor <paramref name="tensor"/>'s element buffer <paramref name="buffer"/> to the host, Numel floats; done when it returns.</summary>
        void Download(int tensor, int buffer, Span<float> data);

        /// <summary>Time spent on the host in matrix passes, transfers included.</summary>
        double HostMatrixSeconds { get; }

        /// <summary>Bytes moved between device and host for matrix passes.</summary>
        long HostMatrixBytes { get; }

        /// <summary>The host matrix passes (Shampoo's statistics live there; the engine journals them), or null without any.</summary>
        Matrix.MatrixPasses? HostMatrix { get; }

        /// <summary>The key tensor <paramref name="tensor"/>'s Shampoo statistics have in <see cref="HostMatrix"/>.</summary>
        long MatrixKey(int tensor);
    }

    /// <summary>Makes the device backend of one group: its rule and the group's matrix-pass settings.</summary>
    public delegate IDeviceBackend DeviceBackendFactory(FusedRule rule, NewtonSchulzOptions? newtonSchulz, ShampooOptions? shampoo);
}
