using System.Collections.Generic;
using System.Linq;

namespace Fused.Ir.Emit
{
    /// <summary>
    /// The element states of a plan as the bfloat16 kernel variant sees them: which kernel buffers are ushort spans, each
    /// one's index among the element states (kernel order, the index of its rounding stream). The bytes they save are
    /// RuleLayout's.
    /// </summary>
    internal sealed class BFloat16States
    {
        private readonly Dictionary<int, int> _stateIndex;
        private BFloat16States(Dictionary<int, int> stateIndex) { _stateIndex = stateIndex; }

        /// <summary>The plan's element states, or null when it has none (no variant is emitted).</summary>
        public static BFloat16States? Of(KernelPlan plan)
        {
            var p = plan.Program;
            var states = plan.ElementBuffers.Where(b => b < p.Buffers.Count && p.Buffers[b].Role == BufferRole.State && p.Buffers[b].Shape == StateShape.Element).ToList();
            return states.Count == 0 ? null : new BFloat16States(states.Select((b, k) => (b, k)).ToDictionary(x => x.b, x => x.k));
        }

        public bool Contains(int buffer) => _stateIndex.ContainsKey(buffer);

        public int StateIndex(int buffer) => _stateIndex[buffer];
    }
}
