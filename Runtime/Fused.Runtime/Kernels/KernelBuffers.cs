using System;

namespace Fused.Runtime.Kernels
{
    /// <summary>
    /// The buffers of one kernel call, indexed like the rule's buffers (parameter, gradient, states),
    /// each already sliced to the range being processed. A ref struct, so passing it allocates nothing.
    /// </summary>
    public ref struct KernelBuffers
    {
        public const int MaxBuffers = 8;

        private Span<float> _b0, _b1, _b2, _b3, _b4, _b5, _b6, _b7;

        public int Count { get; private set; }

        public void Add(Span<float> buffer)
        {
            switch (Count)
            {
                case 0: _b0 = buffer; break;
                case 1: _b1 = buffer; break;
                case 2: _b2 = buffer; break;
                case 3: _b3 = buffer; break;
                case 4: _b4 = buffer; break;
                case 5: _b5 = buffer; break;
                case 6: _b6 = buffer; break;
                case 7: _b7 = buffer; break;
                default: throw new InvalidOperationException($"a rule has at most {MaxBuffers} buffers");
            }
            Count++;
        }

        public readonly Span<float> this[int index] => index switch
        {
            0 => _b0, 1 => _b1, 2 => _b2, 3 => _b3, 4 => _b4, 5 => _b5, 6 => _b6, 7 => _b7,
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };
    }
}
