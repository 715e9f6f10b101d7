using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir
{
    /// <summary>
    /// Checks that a program is well formed: buffer roles in place, outputs valid, every node
    /// well typed and in range. Everything built by the generator or the search must pass; a failure
    /// is a bug in the builder, reported as a list of messages.
    /// </summary>
    public static class Verifier
    {
        /// <summary>Every inconsistency of <paramref name="p"/>, one message each (empty when it is sound).</summary>
        public static IReadOnlyList<string> Check(RuleProgram p)
        {
            var errors = new List<string>();
            if (p.Buffers.Count < 2 || p.Buffers[0].Role != BufferRole.Param || p.Buffers[1].Role != BufferRole.Grad)
                errors.Add("buffer 0 must be the parameter and buffer 1 the gradient");
            for (int i = 2; i < p.Buffers.Count; i++)
                if (p.Buffers[i].Role != BufferRole.State) errors.Add($"buffer {i} ({p.Buffers[i].Name}) must be a state");
            foreach (var dup in p.Buffers.Select(b => b.Name).Concat(p.Hypers.Select(h => h.Name)).GroupBy(n => n).Where(g => g.Count() > 1))
                errors.Add($"name '{dup.Key}' is declared more than once");

            var written = new HashSet<int>();
            foreach (var o in p.Outputs)
            {
                if (o.Buffer < 0 || o.Buffer >= p.Buffers.Count) { errors.Add($"output to unknown buffer {o.Buffer}"); continue; }
                if (p.Buffers[o.Buffer].Role == BufferRole.Grad) errors.Add("the gradient is read-only");
                if (!written.Add(o.Buffer)) errors.Add($"buffer {p.Buffers[o.Buffer].Name} has two outputs");
                if (o.Value.Type != IrType.F32) errors.Add($"output {p.Buffers[o.Buffer].Name} is not a float");
            }
            if (!written.Contains(RuleProgram.ParamBuffer)) errors.Add("the parameter is never updated");

            foreach (var n in p.Nodes())
            {
                if (n.Sources.Length != OpInfo.Arity(n.Op)) errors.Add($"{n.Op} has {n.Sources.Length} sources");
                if (n.Type != OpInfo.ResultType(n.Op)) errors.Add($"{n.Op} has type {n.Type}");
                for (int i = 0; i < n.Sources.Length && i < OpInfo.Arity(n.Op); i++)
                    if (n.Sources[i].Type != OpInfo.SourceType(n.Op, i)) errors.Add($"{n.Op} source {i} has type {n.Sources[i].Type}");
                switch (n.Op)
                {
                    case Op.Hyper when n.Index < 0 || n.Index >= p.Hypers.Count:
                        errors.Add($"hyperparameter index {n.Index} out of range"); break;
                    case Op.Load when n.Index < 0 || n.Index >= p.Buffers.Count:
                        errors.Add($"buffer index {n.Index} out of range"); break;
                    case Op.Shape when n.Index < 0 || n.Index > (int)ShapeScalar.Cols:
                        errors.Add($"shape scalar {n.Index} out of range"); break;
                }
            }
            return errors;
        }

        /// <summary>Throws <see cref="IrException"/> listing every inconsistency of <paramref name="p"/>.</summary>
        public static void ThrowIfInvalid(RuleProgram p)
        {
            var errors = Check(p);
            if (errors.Count > 0) throw new IrException($"invalid program '{p.Name}': " + string.Join("; ", errors));
        }
    }
}
