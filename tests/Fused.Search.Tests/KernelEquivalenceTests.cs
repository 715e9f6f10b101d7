using System;
using System.Linq;
using Fused.Execution;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using Fused.Search.Evaluation;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>InterpretedRule and TensorStepper against the generator's compiled kernels of every catalog rule.</summary>
    public class KernelEquivalenceTests
    {
        [Theory]
        [InlineData(1)]
        [InlineData(37)]
        [InlineData(2500)] // several reduction blocks, a partial last block
        [InlineData(40000)] // split across two threads
        public void InterpretedRule_matches_generated_kernels_bit_for_bit(int n)
        {
            using var pool = new WorkerPool(2, pinThreads: false);
            int checkedRules = 0;
            foreach (var generated in TestSupport.CatalogRules())
            {
                if (generated.Program.Buffers.Any(b => b.Shape is StateShape.Row or StateShape.Column)) continue;
                var interpreted = new InterpretedRule(generated.Program);
                var a = TestSupport.RandomBuffers(generated.Program, n, 42);
                var b = TestSupport.Clone(a);
                var shape = ShapeInfo.Vector(n);
                var hypers = generated.DefaultHyperparameters();
                using var runA = new CpuRuleRunner(generated, pool);
                using var runB = new CpuRuleRunner(interpreted, pool);
                var rng = new SearchRandom(7);
                for (int t = 1; t <= 5; t++)
                {
                    for (int i = 0; i < n; i++) a[1][i] = b[1][i] = (float)rng.NextGaussian();
                    runA.Step(hypers, t, shape, a);
                    runB.Step(hypers, t, shape, b);
                }
                for (int k = 0; k < a.Length; k++)
                    for (int i = 0; i < a[k].Length; i++)
                        Assert.True(TestSupport.SameBits(a[k][i], b[k][i]), $"{generated.Name} buffer {k} element {i}: {a[k][i]} vs {b[k][i]}");
                checkedRules++;
            }
            Assert.True(checkedRules >= 10, $"only {checkedRules} catalog rules checked");
        }

        [Fact]
        public void TensorStepper_matches_CpuRuleRunner_on_generated_rules()
        {
            using var pool = new WorkerPool(1);
            foreach (var rule in TestSupport.CatalogRules())
            {
                if (rule.Program.Buffers.Any(b => b.Shape is StateShape.Row or StateShape.Column)) continue;
                int n = 1500;
                var a = TestSupport.RandomBuffers(rule.Program, n, 3);
                var b = TestSupport.Clone(a);
                using var runner = new CpuRuleRunner(rule, pool);
                var stepper = new TensorStepper(rule.Schedule, rule);
                var hypers = rule.DefaultHyperparameters();
                for (int t = 1; t <= 3; t++)
                {
                    runner.Step(hypers, t, ShapeInfo.Vector(n), a);
                    stepper.Step(hypers, t, ShapeInfo.Vector(n), b);
                }
                for (int k = 0; k < a.Length; k++)
                    Assert.True(a[k].Zip(b[k]).All(x => TestSupport.SameBits(x.First, x.Second)), $"{rule.Name} buffer {k}");
            }
        }

        [Fact]
        public void InterpretedRule_matches_the_reference_interpreter_on_mutated_programs()
        {
            foreach (var p in TestSupport.MutatedPrograms(150, 11))
            {
                const int n = 40;
                var expected = TestSupport.InterpreterTrajectory(p, n, 4, 5);
                var rule = new InterpretedRule(p);
                var buffers = TestSupport.RandomBuffers(p, n, 5);
                var rng = new SearchRandom(5 ^ 0x5555);
                // The CPU backend (units over the pool, pointer tables) against the interpreter's array backend.
                using var pool = new WorkerPool(2);
                using var stepper = new CpuRuleRunner(rule, pool);
                var hypers = rule.DefaultHyperparameters();
                for (int t = 1; t <= 4; t++)
                {
                    for (int i = 0; i < n; i++) buffers[1][i] = (float)rng.NextGaussian();
                    stepper.Step(hypers, t, ShapeInfo.Vector(n), buffers);
                    for (int i = 0; i < n; i++)
                        Assert.True(TestSupport.SameBits(expected[t - 1][i], buffers[0][i]), $"step {t} element {i} of\n{IrText.Write(p)}");
                }
            }
        }
    }
}
