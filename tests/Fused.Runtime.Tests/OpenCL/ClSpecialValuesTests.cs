using System;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    /// <summary>
    /// The ops whose vector spelling differs from the scalar one (Sign, Min, Max, Where, And, Or, Not, comparisons,
    /// a uniform boolean mixed with per-element ones) on NaN, ±0 and ±∞, against the float32 interpreter, bit for bit
    /// (a NaN only has to be a NaN): scalar kernels and vector kernels of every width, with a tail.
    /// </summary>
    [Collection(OpenClCollection.Name)]
    public sealed class ClSpecialValuesTests
    {
        // a = param, b = grad; every state is one op's result (the step never reads them).
        private const string Text = @"rule Specials
buffer param Param Element
buffer grad Grad Element
buffer sign State Element
buffer min State Element
buffer max State Element
buffer where State Element
buffer logic State Element
buffer uniformWhere State Element
buffer mixed State Element
hyper h 0.5
%0 = Load 0
%1 = Load 1
%2 = Sign %0
%3 = Min %0 %1
%4 = Max %0 %1
%5 = Le %0 %1
%6 = Where %5 %1 %0
%7 = Lt %0 %1
%8 = Not %7
%9 = Eq %0 %0
%10 = And %8 %9
%11 = Ne %1 %1
%12 = Or %10 %11
%13 = Const 3F800000
%14 = Const 80000000
%15 = Where %12 %13 %14
%16 = Hyper 0
%17 = Const 00000000
%18 = Gt %16 %17
%19 = Where %18 %0 %1
%20 = And %18 %7
%21 = Not %18
%22 = Or %21 %20
%23 = Ge %0 %1
%24 = Gt %0 %1
%25 = And %23 %24
%26 = Or %22 %25
%27 = Where %26 %14 %0
%28 = Neg %0
%29 = Abs %1
%30 = Min %28 %29
%31 = Max %30 %17
%32 = Sub %0 %31
out 0 %32
out 2 %2
out 3 %3
out 4 %4
out 5 %6
out 6 %15
out 7 %19
out 8 %27
";

        private static readonly float[] Specials = { float.NaN, float.NegativeInfinity, -2.5f, -1f, -0f, 0f, 1e-3f, 1f, 3f, float.PositiveInfinity };

        private readonly OpenClFixture _fixture;
        private readonly ITestOutputHelper _output;

        public ClSpecialValuesTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
        }

        [Theory]
        [InlineData(ClKernelShape.Scalar, 0)]
        [InlineData(ClKernelShape.Vector, 4)]
        [InlineData(ClKernelShape.Vector, 8)]
        [InlineData(ClKernelShape.Vector, 16)]
        public void Selects_signs_and_masks_agree_with_the_interpreter_bit_for_bit(ClKernelShape kernels, int width)
        {
            if (OpenClTestEnvironment.RequireDevice(_output) is null) return;
            var rule = new InterpretedRule(IrText.Parse(Text));
            var program = rule.Program;
            // Every (a, b) pair of special values, and 3 more elements so every width has a tail.
            int n = Specials.Length * Specials.Length + 3;
            var shape = ShapeInfo.Vector(n);
            var buffers = program.Buffers.Select(_ => new float[n]).ToArray();
            for (int i = 0; i < n; i++)
            {
                buffers[0][i] = Specials[i % Specials.Length];
                buffers[1][i] = Specials[i / Specials.Length % Specials.Length];
            }
            foreach (float h in new[] { 0.5f, -0.5f })
            {
                var expected = buffers.Select(b => (float[])b.Clone()).ToArray();
                new Interpreter(Planner.Plan(program)).Step(new[] { h }, 1, shape, expected);

                using var runner = new ClRuleRunner(rule, _fixture.Queue, kernels: kernels, vectorWidth: width);
                using var tensor = runner.Allocate(shape);
                for (int b = 0; b < buffers.Length; b++) tensor.Upload(program.Buffers[b].Name, buffers[b]);
                runner.Step(new[] { h }, 1, tensor);
                for (int b = 0; b < buffers.Length; b++)
                {
                    var actual = new float[n];
                    tensor.Download(program.Buffers[b].Name, actual);
                    for (int i = 0; i < n; i++)
                    {
                        float e = expected[b][i], a = actual[i];
                        bool same = float.IsNaN(e) ? float.IsNaN(a) : BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(a);
                        Assert.True(same, $"{runner.Kernels.Description}, h = {h}: {program.Buffers[b].Name}[{i}] for a = {buffers[0][i]:R}, b = {buffers[1][i]:R}: expected {e:R}, got {a:R}");
                    }
                }
            }
        }
    }
}
