using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Fused.Ir.Emit;
using Fused.Runtime.OpenCL;
using ILGPU;

namespace Fused.Ilgpu.Tests.Device
{
    /// <summary>One argument of an <see cref="IlgpuClKernel"/> launch, in the C# kernel's parameter order (the index excluded).</summary>
    public readonly struct IlgpuClArgument
    {
        private IlgpuClArgument(ClBuffer? buffer, long length, int value, float[]? floats)
        {
            Buffer = buffer;
            Length = length;
            Value = value;
            Floats = floats;
        }

        public ClBuffer? Buffer { get; }
        public long Length { get; }
        public int Value { get; }
        public float[]? Floats { get; }

        /// <summary>An <c>ArrayView</c> parameter: the whole buffer, <paramref name="length"/> elements.</summary>
        public static IlgpuClArgument View(ClBuffer buffer, long length) => new IlgpuClArgument(buffer, length, 0, null);

        /// <summary>An <c>int</c> parameter.</summary>
        public static IlgpuClArgument Int(int value) => new IlgpuClArgument(null, 0, value, null);

        /// <summary>A struct of floats by value (a rule's <c>Uniforms</c>): its fields in order.</summary>
        public static IlgpuClArgument FloatStruct(float[] fields) => new IlgpuClArgument(null, 0, 0, fields);
    }

    /// <summary>
    /// An ILGPU kernel's OpenCL C (device-less, <see cref="DevicelessCompiler.OpenClC"/>: contraction off; generic
    /// pointers global ones, <see cref="WithGlobalPointers"/>) built by Fused's own OpenCL layer and launched with the arguments bound as ILGPU's OpenCL accelerator binds them
    /// (ILGPU 1.5's <c>CLArgumentMapper</c> and <c>CLKernelFunctionGenerator</c>): first one <c>global T*</c> per view
    /// parameter, then the launch extent (<c>int</c>), then every parameter in order — a view as
    /// <c>struct { int offset; long length; }</c> (offset in elements into its pointer), an <c>int</c> as itself, a
    /// struct by value. The header of the generated kernel is parsed and checked against that layout, so a change of
    /// ILGPU's ABI fails here with a message instead of computing garbage.
    /// </summary>
    public sealed class IlgpuClKernel
    {
        /// <summary>Build options: division and square root correctly rounded (as C# computes them, and as Fused's own OpenCL C is built).</summary>
        public const string BuildOptions = OpenClRuleEmitter.BuildOptions;

        private const string GenericPointer = "typedef __generic ", GlobalPointer = "typedef __global ";

        /// <summary>
        /// ILGPU's OpenCL C with its generic pointer types made global ones. ILGPU types every view pointer
        /// <c>__generic</c> (OpenCL C 2.0); PoCL 3.1 has no generic address space (<c>'__generic' type qualifier</c> is
        /// an error there at any <c>-cl-std</c>). These kernels only address global buffers, so the pointers are global
        /// ones; were any a private or local pointer, the build would fail ("changes address space of pointer"), not
        /// compute something else. Nothing else in the source changes.
        /// </summary>
        public static string WithGlobalPointers(string source) => source.Replace(GenericPointer, GlobalPointer, StringComparison.Ordinal);

        private const int LocalSize = 32;
        private enum Kind { Pointer, Int, View, Struct }

        private readonly ClKernel _kernel;
        private readonly Kind[] _parameters;   // after the pointers and the extent, in order
        private readonly int _pointers;

        private IlgpuClKernel(ClKernel kernel, string source, Kind[] parameters, int pointers)
        {
            _kernel = kernel;
            Source = source;
            _parameters = parameters;
            _pointers = pointers;
        }

        /// <summary>The OpenCL C built: ILGPU's, with <see cref="NoContraction.OpenClPragma"/> first and <see cref="WithGlobalPointers"/>.</summary>
        public string Source { get; }

        /// <summary>Launches so far (every <see cref="Launch"/> is one).</summary>
        public long Launches { get; private set; }

        /// <summary><paramref name="method"/> (an implicitly grouped ILGPU kernel) compiled to OpenCL C and built in <paramref name="context"/>'s program cache.</summary>
        public static IlgpuClKernel Build(ClContext context, MethodInfo method)
        {
            var cl = DevicelessCompiler.OpenClC(method).Rewritten;
            string source = WithGlobalPointers(cl.Source);
            var program = context.Programs.Get(source, BuildOptions);
            var (parameters, pointers) = Signature(source, cl.Name, method);
            return new IlgpuClKernel(program.GetKernel(cl.Name), source, parameters, pointers);
        }

        /// <summary>Runs the kernel for indices 0 .. <paramref name="extent"/> - 1 (in groups of 32: the kernel returns past the extent).</summary>
        public void Launch(ClQueue queue, int extent, params IlgpuClArgument[] arguments)
        {
            if (arguments.Length != _parameters.Length)
                throw new ArgumentException($"{_kernel.Name} takes {_parameters.Length} argument(s), got {arguments.Length}", nameof(arguments));
            int pointer = 0, at = _pointers;
            _kernel.SetArg(at++, extent);
            for (int k = 0; k < arguments.Length; k++)
            {
                var a = arguments[k];
                switch (_parameters[k])
                {
                    case Kind.View:
                        _kernel.SetArg(pointer++, a.Buffer ?? throw new ArgumentException($"{_kernel.Name}: argument {k} is a view", nameof(arguments)));
                        _kernel.SetValue(at++, new ViewArgument(0, a.Length));
                        break;
                    case Kind.Int:
                        _kernel.SetArg(at++, a.Value);
                        break;
                    case Kind.Struct:
                        _kernel.SetBytes(at++, MemoryMarshal.AsBytes<float>(a.Floats ?? throw new ArgumentException($"{_kernel.Name}: argument {k} is a struct", nameof(arguments))));
                        break;
                }
            }
            long global = (extent + LocalSize - 1) / LocalSize * LocalSize;
            if (global > 0) queue.Launch(_kernel, global, LocalSize);
            Launches++;
        }

        /// <summary>ILGPU's kernel-side view: <c>struct { int field_0; long field_1; }</c> (offset, length).</summary>
        [StructLayout(LayoutKind.Sequential)]
        private readonly struct ViewArgument
        {
            public readonly int Offset;
            public readonly long Length;

            public ViewArgument(int offset, long length)
            {
                Offset = offset;
                Length = length;
            }
        }

        private static readonly Regex ViewStruct = new Regex(@"struct (type_\d+_kernel)\s*\{\s*int field_0;\s*long field_1;\s*\};", RegexOptions.CultureInvariant);

        /// <summary>The kernel's parameters after its pointers and extent, checked against the C# method's parameters.</summary>
        private static (Kind[] Parameters, int Pointers) Signature(string source, string name, MethodInfo method)
        {
            int start = source.IndexOf("kernel void " + name + "(", StringComparison.Ordinal);
            if (start < 0) throw new InvalidOperationException($"no kernel {name} in ILGPU's OpenCL C");
            int open = source.IndexOf('(', start), close = source.IndexOf(')', open);
            var declared = source.Substring(open + 1, close - open - 1).Split(',').Select(p => p.Trim()).ToArray();
            var viewStructs = new HashSet<string>(ViewStruct.Matches(source).Select(m => m.Groups[1].Value));
            int pointers = declared.TakeWhile(p => p.StartsWith("global ", StringComparison.Ordinal) && p.Contains('*')).Count();
            var expected = method.GetParameters().Skip(1).Select(p =>
                p.ParameterType.IsGenericType && p.ParameterType.GetGenericTypeDefinition() == typeof(ArrayView<>) ? Kind.View
                : p.ParameterType == typeof(int) ? Kind.Int
                : p.ParameterType.IsValueType && p.ParameterType.GetFields().All(f => f.FieldType == typeof(float)) ? Kind.Struct
                : throw new NotSupportedException($"{method.Name}: parameter {p.Name} of type {p.ParameterType.Name} has no binding here")).ToArray();
            var actual = declared.Skip(pointers + 1).Select(p =>
                p.StartsWith("int ", StringComparison.Ordinal) ? Kind.Int
                : p.StartsWith("struct ", StringComparison.Ordinal) && viewStructs.Contains(p.Split(' ')[1]) ? Kind.View
                : p.StartsWith("struct ", StringComparison.Ordinal) ? Kind.Struct
                : Kind.Pointer).ToArray();
            bool extent = declared.Length > pointers && declared[pointers].StartsWith("int ", StringComparison.Ordinal);
            if (!extent || !actual.SequenceEqual(expected) || pointers != expected.Count(k => k == Kind.View))
                throw new InvalidOperationException($"{name}: ILGPU's OpenCL C declares ({string.Join(", ", declared)}), not the binding this assumes for {method.Name}");
            return (actual, pointers);
        }
    }
}
