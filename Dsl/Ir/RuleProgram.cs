using System;
using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>What a buffer is to the rule.</summary>
    public enum BufferRole : byte
    {
        /// <summary>The parameter (ref float, written).</summary>
        Param,
        /// <summary>The gradient (read only).</summary>
        Grad,
        /// <summary>A [State] buffer.</summary>
        State,
    }

    /// <summary>A buffer the rule reads or writes. Buffer 0 is the parameter, 1 the gradient, then states.</summary>
    public sealed record BufferDecl(string Name, BufferRole Role, StateShape Shape = StateShape.Element);

    /// <summary>A hyperparameter and its declared default.</summary>
    public sealed record HyperDecl(string Name, double Default);

    /// <summary>The value a buffer holds after the step.</summary>
    public sealed record Output(int Buffer, Node Value);

    /// <summary>
    /// One statement of the rule as the user wrote it (target and source text) with the value it
    /// defines. Statements only annotate: emitters quote them above the code they produce; semantics
    /// are the outputs alone.
    /// </summary>
    public sealed record Statement(string Target, int Buffer, Node Value, string Source)
    {
        /// <summary>-1 for a local variable.</summary>
        public bool IsLocal => Buffer < 0;
    }

    /// <summary>
    /// One optimizer rule in IR form: its buffers, hyperparameters, and for each written buffer the
    /// DAG computing its new value from the values at entry (Op.Load), the hyperparameters and the
    /// step. Immutable with value equality.
    /// </summary>
    public sealed record RuleProgram(
        string Name,
        EquatableArray<BufferDecl> Buffers,
        EquatableArray<HyperDecl> Hypers,
        EquatableArray<Output> Outputs,
        EquatableArray<Statement> Statements)
    {
        /// <summary>The parameter's buffer number.</summary>
        public const int ParamBuffer = 0;
        /// <summary>The gradient's buffer number.</summary>
        public const int GradBuffer = 1;

        /// <summary>The state buffers' numbers, in declared order.</summary>
        public IEnumerable<int> StateBuffers =>
            Enumerable.Range(0, Buffers.Count).Where(i => Buffers[i].Role == BufferRole.State);

        /// <summary>Number of state buffers.</summary>
        public int StateCount => Buffers.Count(b => b.Role == BufferRole.State);

        /// <summary>The value written to <paramref name="buffer"/>, or null when the rule does not write it.</summary>
        public Node? OutputOf(int buffer)
        {
            foreach (var o in Outputs) if (o.Buffer == buffer) return o.Value;
            return null;
        }

        /// <summary>Every node reachable from the outputs, sources first.</summary>
        public List<Node> Nodes() => Node.TopologicalOrder(Outputs.Select(o => o.Value));

        /// <summary>Whether the rule reads the step counter.</summary>
        public bool UsesStep => Nodes().Any(n => n.Op == Op.Step);

        /// <summary>Same program with other outputs (statements dropped when they no longer apply).</summary>
        public RuleProgram WithOutputs(IEnumerable<Output> outputs, IEnumerable<Statement>? statements = null) =>
            this with { Outputs = outputs.OrderBy(o => o.Buffer).ToEquatableArray(), Statements = (statements ?? Statements).ToEquatableArray() };
    }
}
