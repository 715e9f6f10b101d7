using System;
using System.Linq;
using Fused.Ir;

namespace Fused.Execution
{
    /// <summary>
    /// The uniform values of a schedule, evaluated level by level in float64 with <see cref="Semantics.Double"/>
    /// (the one definition of every op), in slot order within a level. Resolved once to flat arrays, so a step
    /// does no lookups: this runs for every tensor at every level, also for the search's tiny tensors.
    /// </summary>
    public sealed class UniformProgram
    {
        private readonly Entry[] _entries;
        private readonly int[] _levelStart;          // entries of level k are [_levelStart[k], _levelStart[k + 1])
        private readonly (int buffer, int slot, float constant)[] _scalarStores;

        private readonly struct Entry
        {
            public readonly int Slot, Index, A, B, C;
            public readonly UniformKind Kind;
            public readonly Op Op;
            public readonly double ConstA, ConstB, ConstC;

            public Entry(UniformInstruction u)
            {
                Slot = u.Slot; Kind = u.Kind; Op = u.Op; Index = u.Index;
                (A, ConstA) = Source(u, 0);
                (B, ConstB) = Source(u, 1);
                (C, ConstC) = Source(u, 2);
            }

            private static (int, double) Source(UniformInstruction u, int i)
            {
                if (i >= u.Sources.Count) return (-1, 0.0);
                var o = u.Sources[i];
                return o.Kind == OperandKind.Slot ? (o.Index, 0.0) : (-1, o.Value);
            }
        }

        /// <summary>The uniform program of <paramref name="schedule"/>.</summary>
        public UniformProgram(KernelSchedule schedule)
        {
            Schedule = schedule;
            var ordered = schedule.Uniforms.OrderBy(u => u.Level).ThenBy(u => u.Slot).ToArray();
            _entries = ordered.Select(u => new Entry(u)).ToArray();
            int levels = Math.Max(1, schedule.LevelCount);
            _levelStart = new int[levels + 1];
            for (int k = 0, e = 0; k <= levels; k++)
            {
                while (e < ordered.Length && ordered[e].Level < k) e++;
                _levelStart[k] = e;
            }
            _scalarStores = schedule.ScalarStores.Select(o => (schedule.ScalarBuffers.AsImmutableArray().IndexOf(o.Buffer),
                o.Value.Kind == OperandKind.Slot ? o.Value.Index : -1, o.Value.Value)).ToArray();
        }

        /// <summary>The schedule whose uniforms this computes.</summary>
        public KernelSchedule Schedule { get; }

        /// <summary>
        /// Computes the slots of <paramref name="level"/>: hyperparameters, the step, shape scalars, scalar states at entry
        /// (<paramref name="scalars"/>, in <see cref="KernelSchedule.ScalarBuffers"/> order) and what is computed from them
        /// and from earlier levels. Reduced slots are left to whoever reduces; per-row slots to the row-wise pass.
        /// </summary>
        public void Evaluate(int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<float> scalars, Span<double> u)
        {
            if ((uint)level >= (uint)(_levelStart.Length - 1)) throw new ArgumentOutOfRangeException(nameof(level), level, $"{Schedule.Name} has {Schedule.LevelCount} level(s)");
            for (int i = _levelStart[level]; i < _levelStart[level + 1]; i++)
            {
                ref readonly var e = ref _entries[i];
                switch (e.Kind)
                {
                    case UniformKind.Hyper: u[e.Slot] = hypers[e.Index]; break;
                    case UniformKind.Step: u[e.Slot] = step; break;
                    case UniformKind.Shape: u[e.Slot] = shape.Get((ShapeScalar)e.Index); break;
                    case UniformKind.ScalarState: u[e.Slot] = scalars[e.Index]; break;
                    case UniformKind.Compute:
                        u[e.Slot] = Semantics.Double(e.Op, e.A >= 0 ? u[e.A] : e.ConstA, e.B >= 0 ? u[e.B] : e.ConstB, e.C >= 0 ? u[e.C] : e.ConstC);
                        break;
                }
            }
        }

        /// <summary>Writes the scalar states' new values once every level has run.</summary>
        public void StoreScalars(ReadOnlySpan<double> u, Span<float> scalars)
        {
            foreach (var (ordinal, slot, constant) in _scalarStores)
                scalars[ordinal] = slot >= 0 ? (float)u[slot] : constant;
        }
    }
}
