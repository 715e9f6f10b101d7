using System.Collections.Generic;

namespace Fused.Ir
{
    /// <summary>
    /// How many values a node has per step: one per call (Uniform — hyperparameters, the step, shape
    /// scalars, reduction results and anything computed only from those), one per row or column of a
    /// matrix parameter, or one per element. Uniform nodes are hoisted out of the kernels and computed
    /// once per call in float64.
    /// </summary>
    public enum Domain : byte
    {
        /// <summary>The same for every element of the tensor.</summary>
        Uniform = 0,
        /// <summary>One value per row.</summary>
        Row = 1,
        /// <summary>One value per column.</summary>
        Column = 2,
        /// <summary>One value per element.</summary>
        Element = 3,
    }

    /// <summary>Which <see cref="Domain"/> each node of a program lives in.</summary>
    public static class DomainAnalysis
    {
        /// <summary>The domain of every node reachable from the program's outputs.</summary>
        public static Dictionary<Node, Domain> Compute(RuleProgram program)
        {
            var result = new Dictionary<Node, Domain>(NodeIdentityComparer.Instance);
            foreach (var n in program.Nodes()) result[n] = Of(n, program, result);
            return result;
        }

        private static Domain Of(Node n, RuleProgram program, Dictionary<Node, Domain> known)
        {
            switch (n.Op)
            {
                case Op.Const: case Op.Hyper: case Op.Step: case Op.Shape:
                    return Domain.Uniform;
                case Op.Load:
                    return program.Buffers[n.Index].Shape switch
                    {
                        StateShape.Row => Domain.Row,
                        StateShape.Column => Domain.Column,
                        StateShape.Scalar => Domain.Uniform,
                        _ => Domain.Element,
                    };
                case Op.ReduceSum: case Op.ReduceMax:
                    return Domain.Uniform;
                case Op.RowSum:
                    return Domain.Row;
                case Op.ColSum:
                    return Domain.Column;
                case Op.Orthogonalize:
                case Op.Precondition:
                    return Domain.Element;
            }
            var d = Domain.Uniform;
            foreach (var s in n.Sources) d = Join(d, known[s]);
            return d;
        }

        /// <summary>Row and Column broadcast together to Element.</summary>
        public static Domain Join(Domain a, Domain b)
        {
            if (a == b) return a;
            if (a == Domain.Uniform) return b;
            if (b == Domain.Uniform) return a;
            return Domain.Element;
        }
    }
}
