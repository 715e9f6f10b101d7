using System.Text;

namespace Fused.Ir
{
    /// <summary>
    /// A 64-bit hash of what a program computes, ignoring names, defaults and statements: two programs
    /// that simplify to the same DAG (a + b written as b + a, a dead local, a renamed variable) hash
    /// equal. Run <see cref="Passes.Simplifier"/> first. FNV-1a over the nameless IR text, stable
    /// across processes and machines (the search stores it).
    /// </summary>
    public static class StructuralHash
    {
        /// <summary>A hash of <paramref name="program"/>'s structure, equal for equal programs.</summary>
        public static ulong Compute(RuleProgram program)
        {
            var text = IrText.Write(program, includeNames: false);
            ulong h = 14695981039346656037UL;
            foreach (byte b in Encoding.UTF8.GetBytes(text))
            {
                h ^= b;
                h *= 1099511628211UL;
            }
            return h;
        }
    }
}
