using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Fused.Generator.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Fused.Generator.Tests.Infrastructure.RuleSource;

namespace Fused.Generator.Tests
{
    /// <summary>The pipeline's caching: unchanged inputs must not re-run or re-emit anything.</summary>
    public sealed class IncrementalTests
    {
        private static readonly string[] ModelSteps = { TrackingNames.Parse, TrackingNames.Specs };

        private static SourceFile RuleA => new("RuleA.cs", Rule("param -= lr * grad;", className: "RuleA"));
        private static SourceFile RuleB => new("RuleB.cs", Rule("m = 0.9f * m + grad;\nparam -= lr * Sign(m);", "ref float param, float grad, [State] ref float m, [Hyper(0.01)] float lr", className: "RuleB"));

        /// <summary>Every output reason of the named steps, with the rule each output is about.</summary>
        private static List<(string Step, string Rule, IncrementalStepRunReason Reason)> Reasons(GeneratorRun run, params string[] steps)
        {
            var result = new List<(string, string, IncrementalStepRunReason)>();
            foreach (var step in steps)
            {
                Assert.True(run.Result.TrackedSteps.ContainsKey(step), $"no tracked step '{step}'; have: {string.Join(", ", run.Result.TrackedSteps.Keys)}");
                foreach (var runStep in run.Result.TrackedSteps[step])
                    foreach (var (value, reason) in runStep.Outputs)
                        result.Add((step, RuleNameOf(value), reason));
            }
            return result;
        }

        // ParseResult.Spec.Class.ClassName, or RuleSpec.Class.ClassName (the model types are internal).
        private static string RuleNameOf(object value)
        {
            object? spec = Property(value, "Spec") ?? value;
            return Property(Property(spec, "Class"), "ClassName") as string ?? "?";
        }

        private static object? Property(object? o, string name) =>
            o?.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(o);

        private static bool IsCachedOrUnchanged(IncrementalStepRunReason r) => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged;

        private static void AssertAllCachedOrUnchanged(GeneratorRun run)
        {
            var reasons = Reasons(run, ModelSteps);
            Assert.NotEmpty(reasons);
            Assert.True(reasons.All(r => IsCachedOrUnchanged(r.Reason)), string.Join("\n", reasons));
            // The source outputs too: nothing was re-emitted.
            var outputs = run.Result.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.True(outputs.All(o => IsCachedOrUnchanged(o.Reason)), string.Join("\n", outputs.Select(o => o.Reason)));
        }

        private static void AssertSameSources(GeneratorRun first, GeneratorRun second) =>
            Assert.Equal(first.Sources, second.Sources);

        [Fact]
        public void Second_run_on_the_same_compilation_is_all_cached()
        {
            var compilation = GeneratorHarness.Compile(RuleA, RuleB);
            var first = GeneratorHarness.Run(compilation);
            Assert.True(Reasons(first, ModelSteps).All(r => r.Reason == IncrementalStepRunReason.New));
            var second = GeneratorHarness.Run(compilation, first.Driver);
            AssertAllCachedOrUnchanged(second);
            AssertSameSources(first, second);
        }

        [Fact]
        public void Adding_an_unrelated_file_leaves_every_rule_cached()
        {
            var compilation = GeneratorHarness.Compile(RuleA, RuleB);
            var first = GeneratorHarness.Run(compilation);
            var edited = compilation.AddSyntaxTrees(GeneratorHarness.Parse(new SourceFile("Other.cs",
                "namespace Fused.Tests { public static class Helpers { public static float Twice(float x) => 2 * x; } }")));
            var second = GeneratorHarness.Run(edited, first.Driver);
            AssertAllCachedOrUnchanged(second);
            AssertSameSources(first, second);
        }

        [Fact]
        public void Editing_a_comment_in_a_rule_file_reparses_it_but_changes_nothing_downstream()
        {
            var compilation = GeneratorHarness.Compile(RuleA, RuleB);
            var first = GeneratorHarness.Run(compilation);
            var oldTree = compilation.SyntaxTrees.First(t => t.FilePath == "RuleA.cs");
            // The comment shifts the rule down two lines: the spec holds no locations, so it is equal.
            var newTree = GeneratorHarness.Parse(new SourceFile("RuleA.cs", "// Edited comment,\n// two lines long.\n" + RuleA.Text));
            var second = GeneratorHarness.Run(compilation.ReplaceSyntaxTree(oldTree, newTree), first.Driver);
            AssertAllCachedOrUnchanged(second);
            AssertSameSources(first, second);
        }

        [Fact]
        public void Editing_one_of_two_rules_modifies_only_that_rule()
        {
            var compilation = GeneratorHarness.Compile(RuleA, RuleB);
            var first = GeneratorHarness.Run(compilation);
            var oldTree = compilation.SyntaxTrees.First(t => t.FilePath == "RuleA.cs");
            var newTree = GeneratorHarness.Parse(new SourceFile("RuleA.cs", Rule("param -= 2f * lr * grad;", className: "RuleA")));
            var second = GeneratorHarness.Run(compilation.ReplaceSyntaxTree(oldTree, newTree), first.Driver);

            var reasons = Reasons(second, ModelSteps);
            foreach (var step in ModelSteps)
            {
                Assert.Contains(reasons, r => r.Step == step && r.Rule == "RuleA" && r.Reason == IncrementalStepRunReason.Modified);
                Assert.Contains(reasons, r => r.Step == step && r.Rule == "RuleB");
            }
            Assert.True(reasons.Where(r => r.Rule == "RuleB").All(r => IsCachedOrUnchanged(r.Reason)), string.Join("\n", reasons));
            Assert.True(reasons.Where(r => r.Rule == "RuleA").All(r => r.Reason == IncrementalStepRunReason.Modified), string.Join("\n", reasons));

            Assert.Equal(first.Source("Fused.Tests.RuleB.g.cs"), second.Source("Fused.Tests.RuleB.g.cs"));
            Assert.NotEqual(first.Source("Fused.Tests.RuleA.g.cs"), second.Source("Fused.Tests.RuleA.g.cs"));
        }

        [Fact]
        public void Parse_results_of_the_same_rule_in_two_compilations_are_equal()
        {
            // Equality across compilations is what the cache relies on; a reference-equal field would break it.
            var a = Reasons(GeneratorHarness.Run(GeneratorHarness.Compile(RuleB)), TrackingNames.Parse);
            var runA = GeneratorHarness.Run(GeneratorHarness.Compile(RuleB));
            var runB = GeneratorHarness.Run(GeneratorHarness.Compile(RuleB));
            var valueA = runA.Result.TrackedSteps[TrackingNames.Parse].SelectMany(s => s.Outputs).Single().Value;
            var valueB = runB.Result.TrackedSteps[TrackingNames.Parse].SelectMany(s => s.Outputs).Single().Value;
            Assert.NotSame(valueA, valueB);
            Assert.Equal(valueA, valueB);
            Assert.Equal(valueA.GetHashCode(), valueB.GetHashCode());
            Assert.Single(a);
        }

        [Fact]
        public void Diagnostics_step_is_cached_when_nothing_changes()
        {
            var broken = new SourceFile("Broken.cs", Rule("param -= lr * Sqrt(grad);", className: "Broken"));
            var compilation = GeneratorHarness.Compile(broken, RuleA);
            var first = GeneratorHarness.Run(compilation);
            var second = GeneratorHarness.Run(compilation, first.Driver);
            var reasons = second.Result.TrackedSteps[TrackingNames.Diagnostics].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(IsCachedOrUnchanged(r), r.ToString()));
            Assert.Equal(GeneratorHarness.Describe(first.Diagnostics), GeneratorHarness.Describe(second.Diagnostics));
        }
    }
}
