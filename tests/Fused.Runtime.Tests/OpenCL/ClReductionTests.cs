using System;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    [Collection(OpenClCollection.Name)]
    public sealed class ClReductionTests
    {
        private readonly OpenClFixture fixture;
        private readonly ITestOutputHelper output;

        public ClReductionTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            this.fixture = fixture;
            this.output = output;
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(7)]
        [InlineData(1023)]
        [InlineData(100003)]
        [InlineData(1000003)]
        public void SumIsAccurateAndBitIdenticalAcrossRuns(int n)
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            float[] data = Reference.RandomFloats(n, seed: 77, low: -1f, high: 3f);
            double expected = 0, magnitude = 0;
            foreach (float value in data)
            {
                expected += value;
                magnitude += Math.Abs(value);
            }

            using var reduction = new ClReduction(fixture.Context);
            using ClBuffer buffer = fixture.Context.CreateBuffer<float>(data);
            double first = reduction.Sum(fixture.Queue, buffer, n);
            output.WriteLine("n=" + n + " groups=" + reduction.GroupCount(n) + " sum=" + first.ToString("R") + " reference=" + expected.ToString("R"));
            // Each partial accumulates at most n / groups + local terms in float.
            double perItem = Math.Ceiling((double)n / (reduction.GroupCount(n) * reduction.LocalSize)) + reduction.LocalSize;
            Assert.True(Math.Abs(first - expected) <= perItem * Math.Pow(2, -23) * magnitude + 1e-30,
                "sum " + first + " vs reference " + expected);
            for (int run = 0; run < 5; run++)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(first), BitConverter.DoubleToInt64Bits(reduction.Sum(fixture.Queue, buffer, n)));
            }
        }

        [Fact]
        public void SumsASubrange()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            float[] data = { 100f, 1f, 2f, 3f, 100f };
            using var reduction = new ClReduction(fixture.Context);
            using ClBuffer buffer = fixture.Context.CreateBuffer<float>(data);
            Assert.Equal(6.0, reduction.Sum(fixture.Queue, buffer, 3, offset: 1));
        }
    }
}
