using System;
using System.Globalization;
using System.Linq;
using Fused.Ir.Emit;

namespace Fused.Runtime.OpenCL
{
    /// <summary>Which of each pass's two emitted kernels a <see cref="ClBackend"/> launches.</summary>
    public enum ClKernelShape
    {
        /// <summary>Decide from <see cref="ClKernelChoice.Variable"/>, else from the device: vector kernels on CPU devices, scalar ones elsewhere.</summary>
        Auto = 0,
        /// <summary>One element per work-item (<c>fused_passK</c>): what GPUs want.</summary>
        Scalar,
        /// <summary>
        /// <c>FUSED_VW</c> consecutive elements per work-item through vloadN/vstoreN (<c>fused_passK_vec</c>), the scalar
        /// kernel on the last n % width elements: what CPU OpenCL devices want (PoCL turns the bounds check of a
        /// one-element work-item into masked loads and stores, 3x slower than the vector kernel on AVX2).
        /// </summary>
        Vector,
    }

    /// <summary>
    /// The kernel shape and vector width a runner uses on one device, and why (<see cref="Description"/>).
    /// An explicit <see cref="ClKernelShape"/> wins; with <see cref="ClKernelShape.Auto"/> the environment variable
    /// <see cref="Variable"/> (<c>scalar</c>, <c>vector</c>, <c>vector4</c>, <c>vector8</c>, <c>vector16</c> or <c>auto</c>)
    /// decides, then the device type. The width is the explicit one, else the device's preferred float vector
    /// width (at least 4, at most 16).
    /// </summary>
    public sealed record ClKernelChoice(ClKernelShape Shape, int VectorWidth, string Description)
    {
        /// <summary>Environment variable choosing the kernels when the code leaves it to <see cref="ClKernelShape.Auto"/>.</summary>
        public const string Variable = "FUSED_OPENCL_KERNELS";

        /// <summary>True when the vector kernels run (with the scalar kernel on the tail).</summary>
        public bool IsVector => Shape == ClKernelShape.Vector;

        /// <summary>Elements one work-item of the main launch computes: the vector width, or 1.</summary>
        public int ElementsPerWorkItem => IsVector ? VectorWidth : 1;

        /// <summary>Resolves <paramref name="shape"/> and <paramref name="vectorWidth"/> (0: the device's) for <paramref name="device"/>.</summary>
        public static ClKernelChoice Resolve(OpenClDevice device, ClKernelShape shape = ClKernelShape.Auto, int vectorWidth = 0)
        {
            ArgumentNullException.ThrowIfNull(device);
            if (vectorWidth != 0 && !OpenClRuleEmitter.VectorWidths.Contains(vectorWidth))
                throw new ArgumentOutOfRangeException(nameof(vectorWidth), vectorWidth, "the vector kernels are 2, 4, 8 or 16 floats wide (0: the device's preferred width)");
            string why;
            if (shape != ClKernelShape.Auto)
            {
                why = "chosen by the caller";
            }
            else
            {
                string? requested = Environment.GetEnvironmentVariable(Variable);
                if (!string.IsNullOrWhiteSpace(requested) && !requested.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase))
                {
                    (shape, int width) = Parse(requested.Trim());
                    if (vectorWidth == 0) vectorWidth = width;
                    why = Variable + "=" + requested.Trim();
                }
                else
                {
                    bool cpu = (device.Type & OpenClDeviceType.Cpu) != 0;
                    shape = cpu ? ClKernelShape.Vector : ClKernelShape.Scalar;
                    why = cpu ? "CPU device" : device.Type + " device";
                }
            }
            if (shape == ClKernelShape.Scalar)
                return new ClKernelChoice(shape, 1, "scalar kernels, one element per work-item (" + why + ")");
            string widthWhy = "";
            if (vectorWidth == 0)
            {
                int preferred = device.PreferredVectorWidthFloat;
                vectorWidth = preferred >= 16 ? 16 : preferred >= 8 ? 8 : 4;
                widthWhy = ", preferred float vector width " + preferred.ToString(CultureInfo.InvariantCulture);
            }
            string w = vectorWidth.ToString(CultureInfo.InvariantCulture);
            return new ClKernelChoice(shape, vectorWidth, "vector kernels, float" + w + " per work-item, scalar kernel on the last n % " + w + " (" + why + widthWhy + ")");
        }

        private static (ClKernelShape Shape, int Width) Parse(string value)
        {
            string v = value.ToLowerInvariant();
            if (v == "scalar") return (ClKernelShape.Scalar, 0);
            if (v == "vector") return (ClKernelShape.Vector, 0);
            if (v.StartsWith("vector", StringComparison.Ordinal)
                && int.TryParse(v.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int width)
                && OpenClRuleEmitter.VectorWidths.Contains(width))
                return (ClKernelShape.Vector, width);
            throw new ArgumentException(Variable + "='" + value + "' is not one of: auto, scalar, vector, "
                + string.Join(", ", OpenClRuleEmitter.VectorWidths.Select(x => "vector" + x.ToString(CultureInfo.InvariantCulture))));
        }
    }
}
