using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// The intrinsic functions of <see cref="Intrinsics"/> as IR: one table from name to nodes, so every
    /// front end (the generator's rule parser, tools that build rules) lowers them the same way. Composite
    /// intrinsics expand here (Mean is Sum / Numel, RowMean is RowSum / Cols, Rms is √(Sum(x²) / Numel)).
    /// </summary>
    public static class IntrinsicLowering
    {
        /// <summary>Every intrinsic function name, in the order messages list them.</summary>
        public static IReadOnlyList<string> Names { get; } = new[]
        {
            "Sign", "Abs", "Sqrt", "Rsqrt", "Exp", "Log", "Pow", "Square", "Min", "Max", "Clamp", "Lerp", "Where",
            "Sum", "Mean", "Norm", "Rms", "MaxAbs", "RowMean", "ColMean", "RowSum", "ColSum", "Orthogonalize", "Precondition",
        };

        /// <summary>The nodes of <paramref name="name"/>(<paramref name="args"/>) (arguments in parameter order,
        /// already type-checked), or null when <paramref name="name"/> is not an intrinsic function.</summary>
        public static Node? Lower(IrBuilder b, string name, IReadOnlyList<Node> args) => name switch
        {
            "Sign" => b.Make(Op.Sign, args[0]),
            "Abs" => b.Make(Op.Abs, args[0]),
            "Sqrt" => b.Make(Op.Sqrt, args[0]),
            "Rsqrt" => b.Make(Op.Rsqrt, args[0]),
            "Exp" => b.Make(Op.Exp, args[0]),
            "Log" => b.Make(Op.Log, args[0]),
            "Pow" => b.Make(Op.Pow, args[0], args[1]),
            "Square" => b.Mul(args[0], args[0]),
            "Min" => b.Make(Op.Min, args[0], args[1]),
            "Max" => b.Make(Op.Max, args[0], args[1]),
            "Clamp" => b.Clamp(args[0], args[1], args[2]),
            "Lerp" => b.Lerp(args[0], args[1], args[2]),
            "Where" => b.Where(args[0], args[1], args[2]),
            "Sum" => b.Make(Op.ReduceSum, args[0]),
            "Mean" => b.Div(b.Make(Op.ReduceSum, args[0]), b.Shape(ShapeScalar.Numel)),
            "Norm" => b.Make(Op.Sqrt, b.Make(Op.ReduceSum, b.Mul(args[0], args[0]))),
            "Rms" => b.Make(Op.Sqrt, b.Div(b.Make(Op.ReduceSum, b.Mul(args[0], args[0])), b.Shape(ShapeScalar.Numel))),
            "MaxAbs" => b.Make(Op.ReduceMax, b.Make(Op.Abs, args[0])),
            "RowSum" => b.Make(Op.RowSum, args[0]),
            "ColSum" => b.Make(Op.ColSum, args[0]),
            "RowMean" => b.Div(b.Make(Op.RowSum, args[0]), b.Shape(ShapeScalar.Cols)),
            "ColMean" => b.Div(b.Make(Op.ColSum, args[0]), b.Shape(ShapeScalar.Rows)),
            "Orthogonalize" => b.Make(Op.Orthogonalize, args[0]),
            "Precondition" => b.Make(Op.Precondition, args[0]),
            _ => null,
        };

        /// <summary>
        /// True when the intrinsic function or property needs a whole tensor — its lowering holds a reduction, a
        /// matrix pass or a shape scalar — so that outside a rule it has no meaning. A set lookup (the generator
        /// asks it of every identifier it sees).
        /// </summary>
        public static bool NeedsTensor(string name) => TensorNames.Contains(name);

        private static readonly HashSet<string> TensorNames = new HashSet<string>(
            System.Enum.GetNames(typeof(ShapeScalar)).Concat(Names.Where(name =>
            {
                if (name == "Where") return false; // its first argument is a condition
                var b = new IrBuilder();
                var lowered = Lower(b, name, new[] { b.Load(0), b.Load(1), b.Load(2) })!;
                return Node.TopologicalOrder(new[] { lowered }).Any(n => n.Op == Op.Shape || OpInfo.IsStageBoundary(n.Op));
            })));

        /// <summary>The shape scalar an intrinsic property names (Numel, Rows, Cols), or null.</summary>
        public static ShapeScalar? ShapeScalarNamed(string name) => name switch
        {
            "Numel" => ShapeScalar.Numel,
            "Rows" => ShapeScalar.Rows,
            "Cols" => ShapeScalar.Cols,
            _ => null,
        };
    }
}
