using System;
using Fused.Execution;
using Fused.Ir;

namespace Fused.Runtime.Tests.Faults
{
    /// <summary>Throws at the <c>n</c>-th call (from 1) of one member, counting over the optimizer's life.</summary>
    internal sealed class FaultyBackend : IScheduleBackend
    {
        private readonly IScheduleBackend _inner;
        private readonly string _member;
        private int _left;

        public FaultyBackend(IScheduleBackend inner, string member, int n)
        {
            _inner = inner;
            _member = member;
            _left = n;
        }

        private void Maybe(string member)
        {
            if (member == _member && --_left == 0) throw new InvalidOperationException($"injected fault in {member}");
        }

        public long WaveElements => _inner.WaveElements;
        public void BeginWave(int first, int end) { Maybe(nameof(BeginWave)); _inner.BeginWave(first, end); }
        public void RunMatrix(MatrixStep matrix, int tensor, ShapeInfo shape, long step) { Maybe(nameof(RunMatrix)); _inner.RunMatrix(matrix, tensor, shape, step); }
        public void RunPass(PassProgram pass, int first, int end, PassArguments args) { Maybe(nameof(RunPass)); _inner.RunPass(pass, first, end, args); }
        public void EndStep() { Maybe(nameof(EndStep)); _inner.EndStep(); }
    }
}
