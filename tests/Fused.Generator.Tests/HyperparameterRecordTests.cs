using Fused.Generator.Tests.Infrastructure;
using Xunit;

namespace Fused.Generator.Tests
{
    /// <summary>The generated Hyperparameters record implements IRuleHyperparameters for any set of hyperparameter names.</summary>
    public sealed class HyperparameterRecordTests
    {
        [Theory]
        [InlineData("")]                                                             // no hyperparameters: an empty list
        [InlineData(", [Hyper(0.1)] float ruleName, [Hyper(0.2)] float values")]    // names of the interface's members
        public void The_record_implements_the_interface_and_compiles(string hypers)
        {
            string source = $$"""
                using Fused;
                namespace User
                {
                    [Optimizer]
                    public static partial class R
                    {
                        static void Update(ref float param, float grad{{hypers}}) { param -= 0.5f * grad; }
                    }
                    public static class Use
                    {
                        public static IRuleHyperparameters Typed() => new R.Hyperparameters();
                    }
                }
                """;
            var run = GeneratorHarness.Run(source);
            Assert.Empty(run.Diagnostics);
            Assert.True(run.OutputErrors.IsEmpty, GeneratorHarness.Describe(run.OutputErrors));
            Assert.Contains("global::Fused.IRuleHyperparameters.RuleName => \"R\"", run.Source("User.R.g.cs"));
        }
    }
}
