using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Fused.Runtime.Kernels;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Fused.Ilgpu.Tests.Device
{
    /// <summary>
    /// ILGPU's device compilers without a device: a kernel method to the OpenCL C and PTX the CUDA and OpenCL
    /// accelerators would load (rewritten by <see cref="NoContraction"/>, as <see cref="IlgpuBackend"/> loads them).
    /// A fresh <see cref="Context"/> per compile: after one failed compile a context is unusable.
    /// </summary>
    public static class DevicelessCompiler
    {
        /// <summary>ILGPU's OpenCL C for <paramref name="kernel"/> (OpenCL C 2.0 with fp64 and the generic address space: what ILGPU's OpenCL accelerator requires of a device), as compiled and as rewritten.</summary>
        public static (CLCompiledKernel Compiled, CLCompiledKernel Rewritten) OpenClC(MethodInfo kernel, bool grouped = false)
        {
            using var context = Context.Create(b => b.CPU());
            using var backend = new CLBackend(context, new CLCapabilityContext(false, true, true, false, false), CLDeviceVendor.Other, CLCVersion.CL20);
            var compiled = (CLCompiledKernel)backend.Compile(Entry(kernel, grouped), KernelSpecialization.Empty);
            return (compiled, (CLCompiledKernel)NoContraction.Rewrite(compiled)!);
        }

        /// <summary>ILGPU's PTX for <paramref name="kernel"/> (SM 7.0, no libdevice), as compiled and as rewritten.</summary>
        public static (PTXCompiledKernel Compiled, PTXCompiledKernel Rewritten) Ptx(MethodInfo kernel, bool grouped = false)
        {
            using var context = Context.Create(b => b.CPU());
            using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_70), CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null);
            var compiled = (PTXCompiledKernel)backend.Compile(Entry(kernel, grouped), KernelSpecialization.Empty);
            return (compiled, (PTXCompiledKernel)NoContraction.Rewrite(compiled)!);
        }

        /// <summary><paramref name="kernel"/>'s entry point: explicitly grouped (<paramref name="grouped"/>: shared memory, barriers) or implicitly.</summary>
        private static EntryPointDescription Entry(MethodInfo kernel, bool grouped) =>
            grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel) : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);

        /// <summary>The matrix-pass kernels (<see cref="MatrixKernels"/>) with whether each is explicitly grouped.</summary>
        public static IEnumerable<(MethodInfo Kernel, bool Grouped)> MatrixPassKernels => new[] { nameof(MatrixKernels.Gemm), nameof(MatrixKernels.Axpby), nameof(MatrixKernels.Scale), nameof(MatrixKernels.Square) }
            .Select(name => (typeof(MatrixKernels).GetMethod(name)!, name == nameof(MatrixKernels.Gemm)));

        /// <summary>Every kernel <see cref="IlgpuBackend"/> loads for <paramref name="rule"/>: its passes, then the reduction kernels.</summary>
        public static IEnumerable<MethodInfo> KernelsOf(FusedRule rule)
        {
            var kernels = IlgpuKernels.Of(rule);
            return Enumerable.Range(0, rule.Schedule.PassCount).Select(kernels.Pass).Concat(ReductionKernels);
        }

        /// <summary>The reduction kernels every rule shares (<see cref="BlockReduce"/>).</summary>
        public static IEnumerable<MethodInfo> ReductionKernels => new[] { nameof(BlockReduce.Lanes), nameof(BlockReduce.FoldLanes), nameof(BlockReduce.ColumnSums) }
            .Select(name => typeof(BlockReduce).GetMethod(name)!);

        private static readonly Regex Numbered = new Regex(@"\b(type|L|_\w*?)_(\d+)(?!\d)", RegexOptions.CultureInvariant);

        /// <summary>
        /// <paramref name="text"/> with ILGPU's per-process numbering (OpenCL C's <c>type_N</c> and <c>L_N</c>, PTX's
        /// parameter names <c>_name_N</c>: they shift with whatever the process compiled before) renumbered per kind in
        /// order of first appearance, so a snapshot depends only on the kernel.
        /// </summary>
        public static string Normalize(string text)
        {
            var renamed = new Dictionary<string, string>();
            var counts = new Dictionary<string, int>();
            return Numbered.Replace(text, m =>
            {
                if (renamed.TryGetValue(m.Value, out var name)) return name;
                string kind = m.Groups[1].Value;
                counts.TryGetValue(kind, out int n);
                counts[kind] = n + 1;
                return renamed[m.Value] = kind + "_" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
        }
    }
}
