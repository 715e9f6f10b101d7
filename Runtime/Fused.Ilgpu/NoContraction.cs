using System;
using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;

namespace Fused.Ilgpu
{
    /// <summary>
    /// Keeps a device compiler from fusing a multiply and an add the kernels wrote apart (one rounding instead of two:
    /// other bits than the CPU's). PTX: ILGPU writes float arithmetic as <c>add.f32</c>/<c>sub.f32</c>/<c>mul.f32</c>,
    /// which the assembler may contract into <c>fma</c>; the same instructions with an explicit rounding mode
    /// (<c>add.rn.f32</c>, ...) round the same way and are never contracted. OpenCL C: ILGPU's source carries no
    /// <c>FP_CONTRACT</c> pragma, so contraction is the compiler's choice; the rewrite puts
    /// <c>#pragma OPENCL FP_CONTRACT OFF</c> first. Division and square root are already correctly rounded
    /// (<c>div.rn</c>, <c>sqrt.rn</c>) in PTX.
    /// </summary>
    public static class NoContraction
    {
        /// <summary>The pragma the OpenCL C rewrite puts first.</summary>
        public const string OpenClPragma = "#pragma OPENCL FP_CONTRACT OFF";

        private static readonly Regex Contractible = new Regex(@"\b(add|sub|mul)\.(f32|f64)\b", RegexOptions.CultureInvariant);
        private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

        /// <summary><paramref name="ptx"/> with every contractible float add, subtract and multiply given <c>.rn</c>.</summary>
        public static string ForbidInPtx(string ptx) => Contractible.Replace(ptx, "$1.rn.$2");

        /// <summary>True when <paramref name="ptx"/> has a float add, subtract or multiply the assembler could contract.</summary>
        public static bool HasContractiblePtx(string ptx) => Contractible.IsMatch(ptx);

        /// <summary><paramref name="source"/> (OpenCL C) with contraction turned off for the whole program.</summary>
        public static string ForbidInOpenCl(string source) => OpenClPragma + "\n" + source;

        /// <summary>
        /// <paramref name="kernel"/> (PTX or OpenCL C) rewritten so nothing is contracted; null for other kernels (the CPU
        /// accelerator runs .NET code, which never contracts) or when this ILGPU build hides what the rebuild needs. ILGPU
        /// 1.5 keeps a compiled kernel's entry point (and the PTX kernel's constructor) internal, so this reads them
        /// through reflection.
        /// </summary>
        public static CompiledKernel? Rewrite(CompiledKernel kernel)
        {
            ArgumentNullException.ThrowIfNull(kernel);
            var entryPoint = typeof(CompiledKernel).GetProperty("EntryPoint", Any)?.GetValue(kernel) as EntryPoint;
            if (entryPoint == null) return null;
            switch (kernel)
            {
                case PTXCompiledKernel ptx:
                    var constructor = typeof(PTXCompiledKernel).GetConstructor(Any, null,
                        new[] { typeof(ILGPU.Context), typeof(EntryPoint), typeof(KernelInfo), typeof(string) }, null);
                    return constructor == null ? null
                        : (CompiledKernel)constructor.Invoke(new object?[] { ptx.Context, entryPoint, ptx.Info, ForbidInPtx(ptx.PTXAssembly) });
                case CLCompiledKernel cl when entryPoint is SeparateViewEntryPoint separate:
                    return new CLCompiledKernel(cl.Context, separate, cl.Info, ForbidInOpenCl(cl.Source), cl.CVersion);
                default:
                    return null;
            }
        }
    }
}
