using System;
using Fused.Ir;

namespace Fused.Search.Mutation
{
    /// <summary>
    /// The search's structural identity of a program: the Dsl's <see cref="StructuralHash"/> (which ignores names and
    /// hyperparameter defaults) with the defaults mixed in, since a mutation may move a default (β2, ε, weight decay)
    /// and that child is a different program.
    /// </summary>
    public static class ProgramIdentity
    {
        public static ulong Structure(RuleProgram program)
        {
            ulong h = StructuralHash.Compute(program);
            foreach (var hyper in program.Hypers)
            {
                h ^= (ulong)BitConverter.DoubleToInt64Bits(hyper.Default);
                h *= 1099511628211UL; // FNV-1a prime
            }
            return h;
        }
    }
}
