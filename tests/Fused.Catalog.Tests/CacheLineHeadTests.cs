using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// The dispatching Pass0 runs a scalar head up to the first 64-byte line of the stored buffer, then the vector body,
    /// then the scalar tail. Against the scalar path alone it must agree bit for bit at every head length, every width,
    /// with the head on and off, and touch nothing outside its range.
    /// </summary>
    [Collection(nameof(DispatchCollection))] // it switches KernelDispatch.AlignStores, a process-wide switch
    public sealed class CacheLineHeadTests
    {
        private static readonly int[] Lengths = { 0, 1, 2, 5, 15, 16, 17, 31, 33, 70, 1001 };
        private const int Pad = 5;

        [Fact]
        public void HeadReachesTheNextLineBoundary()
        {
            // Independent of the function: find the element of a pinned array that starts a 64-byte line from its
            // address, then span starts k floats past it must have heads of (16 - k mod 16) mod 16 floats.
            var array = GC.AllocateArray<float>(512, pinned: true);
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            bool saved = KernelDispatch.AlignStores;
            try
            {
                long address = handle.AddrOfPinnedObject().ToInt64();
                int lineStart = 0;
                while ((address + 4L * lineStart) % 64 != 0) lineStart++;
                KernelDispatch.AlignStores = true;
                for (int k = 0; k < 48; k++)
                    foreach (int n in new[] { 0, 3, 16, 100 })
                    {
                        int expected = Math.Min((16 - k % 16) % 16, n);
                        Assert.Equal(expected, KernelDispatch.HeadToCacheLine(array.AsSpan(lineStart + k, n)));
                    }
                KernelDispatch.AlignStores = false;
                Assert.Equal(0, KernelDispatch.HeadToCacheLine(array.AsSpan(lineStart + 3, 100)));
            }
            finally
            {
                KernelDispatch.AlignStores = saved;
                handle.Free();
            }
        }

        public static IEnumerable<object[]> Rules() => Catalog.All.Select(r => new object[] { r.Name });

        [Theory]
        [MemberData(nameof(Rules))]
        public void DispatchWithHeadMatchesScalarBitForBit(string rule)
        {
            var spec = Catalog.Get(rule);
            int savedBits = KernelDispatch.MaxVectorBits;
            bool savedAlign = KernelDispatch.AlignStores;
            var heads = new HashSet<int>();
            try
            {
                foreach (int n in Lengths)
                    for (int offset = 0; offset < 16; offset++)
                    {
                        var random = new Random(TestData.Seed("head", rule, n, offset));
                        var u = spec.Uniforms(spec.Hypers(random.Next(2)), 1 + random.Next(100), n);
                        var input = new float[spec.BufferCount][];
                        for (int b = 0; b < spec.BufferCount; b++) input[b] = SpecialValues.Buffer(random, offset + n + Pad, SimdBitIdentityTests.Flavor.WithNaNAndInf);
                        var scalar = SimdBitIdentityTests.Clone(input);
                        spec.Kernels.Run(KernelPath.Scalar, u, scalar, offset, n);
                        foreach (int bits in new[] { 512, 256, 128 })
                            foreach (bool align in new[] { true, false })
                            {
                                KernelDispatch.MaxVectorBits = bits;
                                KernelDispatch.AlignStores = align;
                                var got = SimdBitIdentityTests.Clone(input);
                                if (align) heads.Add(KernelDispatch.HeadToCacheLine(got[0].AsSpan(offset, n)));
                                spec.Kernels.Run(KernelPath.Dispatch, u, got, offset, n);
                                SimdBitIdentityTests.AssertBitEqual(spec, scalar, got, $"dispatch Vector{bits}, head {(align ? "on" : "off")} (length {n}, offset {offset})");
                            }
                    }
            }
            finally
            {
                KernelDispatch.MaxVectorBits = savedBits;
                KernelDispatch.AlignStores = savedAlign;
            }
            // The offsets sweep a whole line, so heads of many lengths ran (an array may move between calls: not all 16).
            Assert.True(heads.Count >= 8, $"only {heads.Count} distinct head lengths ran: {string.Join(",", heads)}");
        }
    }
}
