using System;
using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;

namespace Fused.Ilgpu
{
    /// <summary>
    /// Keeps CUDA from fusing a multiply and an add the kernels wrote apart. ILGPU writes float arithmetic as
    /// <c>add.f32</c>/<c>sub.f32</c>/<c>mul.f32</c>, which PTX lets the assembler contract into <c>fma</c> (one rounding
    /// instead of two: other bits than the CPU's). The same instructions with an explicit rounding mode
    /// (<c>add.rn.f32</c>, ...) round the same way and are never contracted. So the backend compiles each kernel to PTX,
    /// rewrites those instructions, and loads the rewritten PTX. Division and square root are already <c>.rn</c>.
    /// </summary>
    public static class PtxRounding
    {
        private static readonly Regex Contractible = new Regex(@"\b(add|sub|mul)\.(f32|f64)\b", RegexOptions.CultureInvariant);

        /// <summary><paramref name="ptx"/> with every contractible float add, subtract and multiply given <c>.rn</c>.</summary>
        public static string ForbidContraction(string ptx) => Contractible.Replace(ptx, "$1.rn.$2");

        /// <summary>True when <paramref name="ptx"/> has a float add, subtract or multiply the assembler could contract.</summary>
        public static bool HasContractible(string ptx) => Contractible.IsMatch(ptx);

        /// <summary>
        /// <paramref name="kernel"/> with its PTX rewritten by <see cref="ForbidContraction"/>. ILGPU 1.5 keeps the
        /// constructor of a compiled PTX kernel internal, so this rebuilds one through reflection; null when this ILGPU
        /// build has no such constructor (the caller then says the kernels are not contraction-free).
        /// </summary>
        public static PTXCompiledKernel? Rewrite(PTXCompiledKernel kernel)
        {
            ArgumentNullException.ThrowIfNull(kernel);
            const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
            var entryPoint = typeof(CompiledKernel).GetProperty("EntryPoint", Any)?.GetValue(kernel) as EntryPoint;
            var constructor = typeof(PTXCompiledKernel).GetConstructor(Any, null,
                new[] { typeof(ILGPU.Context), typeof(EntryPoint), typeof(KernelInfo), typeof(string) }, null);
            if (entryPoint == null || constructor == null) return null;
            return (PTXCompiledKernel)constructor.Invoke(new object?[] { kernel.Context, entryPoint, kernel.Info, ForbidContraction(kernel.PTXAssembly) });
        }
    }
}
