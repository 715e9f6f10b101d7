using System;
using System.Reflection;
using Fused.Runtime.Kernels;

namespace Fused.Ilgpu
{
    /// <summary>
    /// A rule's generated ILGPU kernels: the nested <c>Ilgpu</c> class the generator emits into the rule class when the
    /// project that declares the rule references ILGPU (its <c>PassK</c> kernels, <c>Uniforms</c> struct and <c>Pack</c>).
    /// </summary>
    public sealed class IlgpuKernels
    {
        private readonly MethodInfo?[] _passes;
        private readonly MethodInfo _pack;

        private IlgpuKernels(Type type, MethodInfo?[] passes, MethodInfo pack, int[] rowWise)
        {
            Type = type;
            _passes = passes;
            _pack = pack;
            RowWisePasses = rowWise;
        }

        /// <summary>The generated class.</summary>
        public Type Type { get; }

        /// <summary>Passes without a kernel (row-wise passes).</summary>
        public int[] RowWisePasses { get; }

        /// <summary>Pass <paramref name="pass"/>'s kernel method, or null for a row-wise pass.</summary>
        public MethodInfo? Pass(int pass) => _passes[pass];

        /// <summary>One tensor's uniforms as the kernels' <c>Uniforms</c> struct (boxed, for a launch's arguments).</summary>
        public object Pack(float[] uniforms, int offset) => _pack.Invoke(null, new object[] { uniforms, offset })!;

        /// <summary>The kernels of <paramref name="rule"/>, found next to its generated descriptor.</summary>
        /// <exception cref="NotSupportedException">The rule was built at run time, or its project does not reference ILGPU.</exception>
        public static IlgpuKernels Of(FusedRule rule)
        {
            ArgumentNullException.ThrowIfNull(rule);
            if (rule is InterpretedRule)
                throw new NotSupportedException($"rule '{rule.Name}' was built at run time: it has no generated ILGPU kernels (run it on the CPU or OpenCL backend)");
            var owner = rule.GetType().DeclaringType;
            var type = owner?.GetNestedType("Ilgpu", BindingFlags.Public);
            if (type == null)
                throw new NotSupportedException($"rule '{rule.Name}' has no ILGPU kernels: reference the ILGPU package in the project that declares {owner?.FullName ?? rule.GetType().FullName} so the Fused generator emits them");
            var schedule = rule.Schedule;
            int passCount = (int)type.GetField("PassCount")!.GetValue(null)!;
            int uniformCount = (int)type.GetField("UniformCount")!.GetValue(null)!;
            if (passCount != schedule.PassCount || uniformCount != schedule.UniformCount)
                throw new InvalidOperationException($"the ILGPU kernels of '{rule.Name}' have {passCount} pass(es) and {uniformCount} uniform(s), its schedule {schedule.PassCount} and {schedule.UniformCount}: rebuild the project that declares the rule");
            string rowWiseText = (string)type.GetField("RowWisePasses")!.GetValue(null)!;
            var rowWise = rowWiseText.Length == 0 ? Array.Empty<int>() : Array.ConvertAll(rowWiseText.Split(','), int.Parse);
            var passes = new MethodInfo?[passCount];
            for (int k = 0; k < passCount; k++)
                passes[k] = Array.IndexOf(rowWise, k) >= 0 ? null
                    : type.GetMethod("Pass" + k.ToString(System.Globalization.CultureInfo.InvariantCulture), BindingFlags.Public | BindingFlags.Static)
                      ?? throw new InvalidOperationException($"the ILGPU kernels of '{rule.Name}' lack Pass{k}");
            var pack = type.GetMethod("Pack", BindingFlags.Public | BindingFlags.Static) ?? throw new InvalidOperationException($"the ILGPU kernels of '{rule.Name}' lack Pack");
            return new IlgpuKernels(type, passes, pack, rowWise);
        }
    }
}
