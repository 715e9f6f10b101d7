using System.Linq;
using Fused.Generator.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Fused.Generator.Tests.Infrastructure.RuleSource;

namespace Fused.Generator.Tests
{
    /// <summary>
    /// One or more tests per diagnostic: the ID and the exact span, marked in the source with [|...|].
    /// Every test asserts the complete list of generator diagnostics, so a stray extra one fails too.
    /// </summary>
    public sealed class DiagnosticTests
    {
        private const string StateParameters = "ref float param, float grad, [State] ref float m, [Hyper(0.9)] float beta";

        /// <summary>
        /// Runs the generator on <paramref name="marked"/> and asserts it reports exactly
        /// <paramref name="expectedIds"/>, the i-th at the i-th marked span.
        /// </summary>
        private static GeneratorRun AssertDiagnostics(string marked, params string[] expectedIds)
        {
            var source = MarkedSource.Parse(marked);
            Assert.Equal(expectedIds.Length, source.Spans.Count);
            var run = GeneratorHarness.Run(source.Text);
            Assert.Null(run.Result.Exception);

            var expected = expectedIds.Select((id, i) => Line(id, "Rule.cs", source.LineSpan(i))).OrderBy(s => s, System.StringComparer.Ordinal);
            var actual = run.Diagnostics.Select(d => Line(d.Id, d.Location.GetLineSpan().Path, d.Location.GetLineSpan().Span)).OrderBy(s => s, System.StringComparer.Ordinal);
            Assert.True(expected.SequenceEqual(actual),
                $"expected:\n  {string.Join("\n  ", expected)}\nactual:\n  {string.Join("\n  ", actual)}\nmessages:\n{GeneratorHarness.Describe(run.Diagnostics)}");
            return run;
        }

        private static string Line(string id, string path, Microsoft.CodeAnalysis.Text.LinePositionSpan span) =>
            $"{id} {path} ({span.Start.Line + 1},{span.Start.Character + 1})-({span.End.Line + 1},{span.End.Character + 1})";

        private static void AssertGeneratesSource(GeneratorRun run) =>
            Assert.Contains(run.Sources, s => s.HintName == "Fused.Tests.TestRule.g.cs");

        private static void AssertGeneratesNothing(GeneratorRun run) => Assert.Empty(run.Sources);

        // ---------------- FUSED001: unsupported statements and expressions ----------------

        [Fact]
        public void FUSED001_if_statement_is_reported_on_the_whole_statement() =>
            AssertGeneratesNothing(AssertDiagnostics(Rule("[|if (grad > 0f) param -= lr * grad;|]"), "FUSED001"));

        [Fact]
        public void FUSED001_for_statement() =>
            AssertDiagnostics(Rule("[|for (int i = 0; i < 2; i++) param -= lr * grad;|]"), "FUSED001");

        [Fact]
        public void FUSED001_return_statement() =>
            AssertDiagnostics(Rule("param -= lr * grad;\n[|return;|]"), "FUSED001");

        [Fact]
        public void FUSED001_array_creation_is_reported_on_the_expression() =>
            AssertDiagnostics(Rule("param -= lr * [|new float[1]|];"), "FUSED001");

        [Fact]
        public void FUSED001_element_access_is_reported_on_the_expression() =>
            AssertDiagnostics(Rule("param -= lr * [|new[] { grad }[0]|];"), "FUSED001");

        [Fact]
        public void FUSED001_expression_statement_that_is_not_an_assignment() =>
            AssertDiagnostics(Rule("[|Sqrt(lr)|];\nparam -= lr * grad;"), "FUSED001");

        [Fact]
        public void FUSED001_local_without_initializer_is_reported_on_its_declarator() =>
            AssertDiagnostics(Rule("float [|x|];\nx = grad;\nparam -= lr * x;"), "FUSED001");

        [Fact]
        public void FUSED001_unsupported_operator_is_reported_on_the_binary_expression() =>
            AssertDiagnostics(Rule("param -= lr * ([|grad % 2f|]);"), "FUSED001");

        [Fact]
        public void Constant_member_access_such_as_Math_PI_is_allowed()
        {
            var run = AssertDiagnostics(Rule("param -= lr * (float)Math.PI * grad;"));
            AssertGeneratesSource(run);
            Assert.True(run.OutputErrors.IsEmpty, GeneratorHarness.Describe(run.OutputErrors));
        }

        // ---------------- FUSED002: calls to non-intrinsics ----------------

        [Fact]
        public void FUSED002_Math_Sqrt_is_reported_on_the_call() =>
            AssertDiagnostics(Rule("param -= lr * (float)[|Math.Sqrt(grad * grad)|];"), "FUSED002");

        [Fact]
        public void FUSED002_MathF_call() =>
            AssertDiagnostics(Rule("param -= lr * [|MathF.Abs(grad)|];"), "FUSED002");

        // ---------------- FUSED003 / FUSED004 / FUSED014: state usage ----------------

        [Fact]
        public void FUSED003_state_read_but_never_written_is_reported_on_the_parameter() =>
            AssertDiagnostics(Rule("param -= lr * (grad + beta * m);", "ref float param, float grad, [State] ref float [|m|], [Hyper(0.9)] float beta, [Hyper(0.01)] float lr"), "FUSED003");

        [Fact]
        public void FUSED004_unused_state_is_a_warning_and_the_rule_is_still_generated()
        {
            var run = AssertDiagnostics(Rule("param -= lr * grad;", "ref float param, float grad, [State] ref float [|unused|], [Hyper(0.01)] float lr"), "FUSED004");
            Assert.Equal(DiagnosticSeverity.Warning, run.Diagnostics.Single().Severity);
            AssertGeneratesSource(run);
            Assert.True(run.OutputErrors.IsEmpty, GeneratorHarness.Describe(run.OutputErrors));
        }

        [Fact]
        public void FUSED014_state_written_but_never_read_is_a_warning_and_the_rule_is_still_generated()
        {
            var run = AssertDiagnostics(Rule("last = grad;\nparam -= lr * grad;", "ref float param, float grad, [State] ref float [|last|], [Hyper(0.01)] float lr"), "FUSED014");
            Assert.Equal(DiagnosticSeverity.Warning, run.Diagnostics.Single().Severity);
            AssertGeneratesSource(run);
            Assert.True(run.OutputErrors.IsEmpty, GeneratorHarness.Describe(run.OutputErrors));
        }

        // ---------------- FUSED005: assignments to read-only inputs ----------------

        [Fact]
        public void FUSED005_assignment_to_the_gradient_is_reported_on_its_target() =>
            AssertDiagnostics(Rule("[|grad|] = grad * 2f;\nparam -= lr * grad;"), "FUSED005");

        [Fact]
        public void FUSED005_compound_assignment_to_a_hyperparameter() =>
            AssertDiagnostics(Rule("[|lr|] *= 0.5f;\nparam -= lr * grad;"), "FUSED005");

        [Fact]
        public void FUSED005_assignment_to_the_step() =>
            AssertDiagnostics(Rule("[|t|] = 1;\nparam -= lr * grad * t;", DefaultParameters + ", [Step] int t"), "FUSED005");

        // ---------------- FUSED006: the parameter is never updated ----------------

        [Fact]
        public void FUSED006_parameter_never_updated_is_reported_on_the_Update_identifier()
        {
            var marked = Rule("var step = lr * grad;").Replace("static void Update(", "static void [|Update|](");
            AssertDiagnostics(marked, "FUSED006");
        }

        // ---------------- FUSED007: hyperparameter without a default ----------------

        [Fact]
        public void FUSED007_hyper_without_default_is_reported_on_the_parameter() =>
            AssertDiagnostics(Rule("param -= lr * grad;", "ref float param, float grad, [Hyper] float [|lr|]"), "FUSED007");

        // ---------------- FUSED008: Sqrt / Log of a maybe-negative value ----------------

        [Fact]
        public void FUSED008_Sqrt_of_the_gradient_is_reported_on_the_call() =>
            AssertDiagnostics(Rule("param -= lr * [|Sqrt(grad)|];"), "FUSED008");

        [Fact]
        public void FUSED008_Log_of_a_momentum_that_can_go_negative() =>
            AssertDiagnostics(Rule("m = beta * m + grad;\nparam -= [|Log(m)|];", StateParameters), "FUSED008");

        [Fact]
        public void FUSED008_Pow_of_a_maybe_negative_base() =>
            AssertDiagnostics(Rule("param -= [|Pow(grad, 3f)|];"), "FUSED008");

        [Fact]
        public void No_FUSED008_for_Sqrt_of_a_provably_non_negative_second_moment()
        {
            var run = AssertDiagnostics(Rule(
                "v = beta * v + (1 - beta) * grad * grad;\nparam -= grad / (Sqrt(v) + 1e-8f);",
                "ref float param, float grad, [State] ref float v, [Hyper(0.999)] float beta"));
            AssertGeneratesSource(run);
        }

        [Fact]
        public void No_FUSED008_for_guarded_arguments() =>
            AssertGeneratesSource(AssertDiagnostics(Rule("param -= lr * (Sqrt(Abs(grad)) + Log(Max(grad, 0f) + 1f));")));

        // ---------------- FUSED009: wrong parameters ----------------

        [Fact]
        public void FUSED009_parameter_of_type_ref_double() =>
            AssertDiagnostics(Rule("param -= lr * grad;", "ref double [|param|], float grad, [Hyper(0.01)] float lr"), "FUSED009");

        [Fact]
        public void FUSED009_state_without_ref() =>
            AssertDiagnostics(Rule("param -= lr * grad;", "ref float param, float grad, [State] float [|s|], [Hyper(0.01)] float lr"), "FUSED009");

        [Fact]
        public void FUSED009_hyper_of_type_int() =>
            AssertDiagnostics(Rule("param -= grad;", "ref float param, float grad, [Hyper(1)] int [|x|]"), "FUSED009");

        [Fact]
        public void FUSED009_unmarked_extra_parameter() =>
            AssertDiagnostics(Rule("param -= lr * grad;", "ref float param, float grad, [Hyper(0.01)] float lr, float [|extra|]"), "FUSED009");

        [Fact]
        public void FUSED009_gradient_passed_by_ref() =>
            AssertDiagnostics(Rule("param -= lr * grad;", "ref float param, ref float [|grad|], [Hyper(0.01)] float lr"), "FUSED009");

        [Fact]
        public void FUSED009_parameter_with_two_roles() =>
            AssertDiagnostics(Rule("param -= lr * grad;", "ref float param, float grad, [Hyper(0.01)][Step] float [|lr|]"), "FUSED009");

        [Fact]
        public void FUSED009_hyper_whose_property_would_clash_with_Hyperparameters_Count() =>
            AssertDiagnostics(Rule("param -= lr * count * grad;", "ref float param, float grad, [Hyper(0.01)] float lr, [Hyper(2)] float [|count|]"), "FUSED009");

        [Fact]
        public void FUSED009_two_hypers_with_the_same_property_name() =>
            AssertDiagnostics(Rule("param -= lr * Lr * grad;", "ref float param, float grad, [Hyper(0.01)] float lr, [Hyper(2)] float [|Lr|]"), "FUSED009");

        [Fact]
        public void FUSED009_two_states_with_the_same_layout_name() =>
            AssertDiagnostics(Rule("m = m + grad;\n_m = _m + grad;\nparam -= lr * (m + _m);", "ref float param, float grad, [State] ref float m, [State] ref float [|_m|], [Hyper(0.01)] float lr"), "FUSED009");

        /// <summary>
        /// Every constant the emitter writes into Layout is reserved: a state whose property name is one of them (a state
        /// named levelCount once failed the user's build with CS0102) is a diagnostic on the state.
        /// </summary>
        [Theory]
        [InlineData("levelCount")]
        [InlineData("tempBufferCount")]
        [InlineData("matrixPassCount")]
        [InlineData("rowStateNames")]
        public void FUSED009_state_named_like_a_layout_constant(string state) =>
            AssertGeneratesNothing(AssertDiagnostics(Rule($"{state} = {state} + grad;\nparam -= lr * {state};",
                $"ref float param, float grad, [State] ref float [|{state}|], [Hyper(0.01)] float lr"), "FUSED009"));

        /// <summary>
        /// The emitter adds members named Rule, Layout, Hyperparameters, IrText, ComputeUniforms, PassN...;
        /// a rule class with one of those names could not hold them (CS0542), so it is a diagnostic.
        /// </summary>
        [Theory]
        [InlineData("Rule")]
        [InlineData("Layout")]
        [InlineData("Pass0")]
        [InlineData("KernelScheduleText")]
        [InlineData("KernelScheduleHash")]
        public void FUSED015_class_named_like_a_generated_member(string className) =>
            AssertDiagnostics($"using Fused;\n[Optimizer]\npublic static partial class [|{className}|]\n{{\n    {ValidUpdate}\n}}\n", "FUSED015");

        /// <summary>Assigning the parameter its own value updates nothing: FUSED006 at the assignment, not FUSED099.</summary>
        [Fact]
        public void FUSED006_parameter_assigned_its_own_value() =>
            AssertDiagnostics(Rule("[|param = param;|]"), "FUSED006");

        /// <summary>A StateShape outside the enum is the user's error (FUSED009 on the parameter), not FUSED099.</summary>
        [Fact]
        public void FUSED009_state_shape_outside_the_enum() =>
            AssertDiagnostics(Rule("m = grad;\nparam -= lr * m;", "ref float param, float grad, [Hyper(0.01)] float lr, [State((StateShape)99)] ref float [|m|]"), "FUSED009");

        /// <summary>FUSED008's suggested guard for Pow keeps the exponent (it used to read Pow(Max(grad, 0f))).</summary>
        [Fact]
        public void FUSED008_suggestion_for_Pow_keeps_the_exponent()
        {
            var run = AssertDiagnostics(Rule("param -= lr * [|Pow(grad, 1.5f)|];"), "FUSED008");
            var message = run.Diagnostics.Single().GetMessage(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains("Pow(Max(grad, 0f), 1.5f) or Pow(Abs(grad), 1.5f)", message);
        }

        /// <summary>Numel, Rows and Cols are properties: Numel() is told so (it used to be "not a Fused intrinsic").</summary>
        [Theory]
        [InlineData("Numel")]
        [InlineData("Rows")]
        [InlineData("Cols")]
        public void FUSED001_shape_property_called_like_a_function(string property)
        {
            var run = AssertDiagnostics(Rule($"param -= lr * grad / [|{property}()|];"), "FUSED001");
            var message = run.Diagnostics.Single().GetMessage(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains($"{property} is a property of Fused.Intrinsics; write {property} without parentheses", message);
        }

        /// <summary>FUSED002 lists the shape properties beside the functions.</summary>
        [Fact]
        public void FUSED002_lists_the_shape_properties()
        {
            var run = AssertDiagnostics(Rule("param -= lr * (float)[|Math.Sqrt(grad)|];"), "FUSED002");
            Assert.Contains("Numel, Rows and Cols", run.Diagnostics.Single().GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        }

        /// <summary>A rejected local is reported once, at its declaration: reading or assigning it later adds nothing.</summary>
        [Theory]
        [InlineData("int")]
        [InlineData("double")]
        public void FUSED001_rejected_local_is_reported_only_at_its_declaration(string type) =>
            AssertDiagnostics(Rule($"{type} [|n = 2|];\nparam -= lr * grad * (float)n;"), "FUSED001");

        /// <summary>So is a local whose initializer was reported.</summary>
        [Fact]
        public void FUSED001_local_with_a_rejected_initializer_is_reported_once() =>
            AssertDiagnostics(Rule("float x = lr * [|new float[1]|];\nparam -= x * grad;"), "FUSED001");

        /// <summary>The hint "use Where or ?: instead of if" is for if statements only, not loops, return or const.</summary>
        [Theory]
        [InlineData("[|if (grad > 0f) param -= lr * grad;|]", true)]
        [InlineData("[|for (int i = 0; i < 2; i++) param -= lr * grad;|]", false)]
        [InlineData("[|while (false) param -= lr * grad;|]", false)]
        [InlineData("param -= lr * grad;\n[|return;|]", false)]
        [InlineData("[|const float k = 2f;|]\nparam -= lr * grad;", false)]
        public void FUSED001_if_hint_only_on_if_statements(string body, bool hinted)
        {
            var run = AssertDiagnostics(Rule(body), "FUSED001");
            var message = run.Diagnostics.Single().GetMessage(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(hinted, message.Contains("instead of if"));
        }

        // ---------------- FUSED019: double arithmetic ----------------

        /// <summary>
        /// Double arithmetic under a cast used to be lowered as float (the cast dropped): ±Inf where C# is finite.
        /// It is reported once, on the innermost double operation.
        /// </summary>
        [Fact]
        public void FUSED019_double_arithmetic_under_a_cast() =>
            AssertDiagnostics(Rule("param -= (float)([|lr * grad * 1e40|] * 1e-40);"), "FUSED019");

        [Fact]
        public void FUSED019_negated_double() =>
            AssertDiagnostics(Rule("param -= lr * (float)[|-(double)grad|];"), "FUSED019");

        [Fact]
        public void Float_constants_folded_from_doubles_are_allowed() =>
            AssertGeneratesSource(AssertDiagnostics(Rule("param -= lr * grad * (float)(1e40 * 1e-40);")));

        /// <summary>`_1` becomes the property `1`, which does not compile: FUSED009 on the parameter.</summary>
        [Theory]
        [InlineData("ref float param, float grad, [Hyper(0.01)] float [|_1|]", "param -= _1 * grad;")]
        [InlineData("ref float param, float grad, [Hyper(0.01)] float lr, [State] ref float [|_1|]", "_1 = grad;\nparam -= lr * _1;")]
        public void FUSED009_name_whose_generated_member_is_not_an_identifier(string parameters, string body) =>
            AssertDiagnostics(Rule(body, parameters), "FUSED009");

        /// <summary>
        /// A flat sum of 25,000 terms nests 25,000 deep to the left; its lowering overflowed the generator's stack
        /// (RuleParser.LowerBinary) and killed the build. It must give kernels or diagnostics with locations.
        /// </summary>
        [Fact]
        public void Flat_sum_of_25000_terms_does_not_overflow_the_stack()
        {
            var sum = string.Join(" + ", Enumerable.Range(0, 25_000).Select(i => i % 2 == 0 ? "grad" : "lr"));
            var run = GeneratorHarness.Run(Rule($"param -= lr * ({sum});"));
            Assert.Null(run.Result.Exception);
            Assert.DoesNotContain(run.Diagnostics, d => d.Id == "FUSED099" || d.Location == Location.None);
            if (!run.Diagnostics.Any()) AssertGeneratesSource(run);
        }

        /// <summary>
        /// Nesting that is not a left chain (right operands, parentheses, calls) recursed in the lowering without a bound:
        /// deep enough, it overflowed the stack. Beyond RuleParser.MaxNesting it is one FUSED001 at the expression.
        /// </summary>
        [Theory]
        [InlineData("grad + ({0})", 2_000)]
        [InlineData("Abs({0})", 2_000)]
        [InlineData("lr * ({0})", 450)]
        public void Deep_nesting_is_reported_once_or_generates(string wrap, int depth)
        {
            string expression = "grad";
            for (int k = 0; k < depth; k++) expression = string.Format(wrap, expression);
            var run = GeneratorHarness.Run(Rule($"param -= lr * ({expression});"));
            Assert.Null(run.Result.Exception);
            if (depth < 500)
            {
                Assert.Empty(run.Diagnostics);
                AssertGeneratesSource(run);
                return;
            }
            var d = Assert.Single(run.Diagnostics);
            Assert.Equal("FUSED001", d.Id);
            Assert.Contains("nest at most 500 levels", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
            Assert.NotEqual(Location.None, d.Location);
        }

        // ---------------- FUSED020: a member of the rule class named like a generated one ----------------

        [Theory]
        [InlineData("static float [|Layout|] = 1f;")]
        [InlineData("class [|Hyperparameters|] { }")]
        [InlineData("static void [|Pass0|]() { }")]
        public void FUSED020_member_named_like_a_generated_member(string member) =>
            AssertDiagnostics($"using Fused;\n[Optimizer]\npublic static partial class TestRule\n{{\n    {ValidUpdate}\n    {member}\n}}\n", "FUSED020");

        // ---------------- FUSED018: [Optimizer] on two partial declarations ----------------

        /// <summary>
        /// Two [Optimizer] declarations of one partial class used to add one hint name twice, which aborts the
        /// generator (CS8785) and drops every rule's output: the second declaration is reported, the rest generates.
        /// </summary>
        [Fact]
        public void FUSED018_second_optimizer_declaration_is_reported_and_other_rules_still_generate()
        {
            var run = AssertDiagnostics(
                "using Fused;\nnamespace Fused.Tests\n{\n" +
                "[Optimizer]\npublic static partial class Twice\n{\n    " + ValidUpdate + "\n}\n" +
                "[Optimizer]\npublic static partial class [|Twice|]\n{\n}\n" +
                "[Optimizer]\npublic static partial class TestRule\n{\n    " + ValidUpdate + "\n}\n}\n", "FUSED018");
            AssertGeneratesSource(run);
            Assert.Contains(run.Sources, s => s.HintName == "Fused.Tests.Twice.g.cs");
        }

        // ---------------- FUSED016: tensor intrinsics outside a rule ----------------

        [Fact]
        public void FUSED016_shape_scalar_outside_a_rule() =>
            AssertDiagnostics("using static Fused.Intrinsics;\npublic static class Helpers\n{\n    public static float Scale(float x) => x / [|Rows|];\n}\n", "FUSED016");

        [Fact]
        public void FUSED016_whole_tensor_mean_outside_a_rule_but_not_linq_sum() =>
            AssertDiagnostics("using System.Linq;\nusing static Fused.Intrinsics;\npublic static class Helpers\n{\n" +
                "    public static float Center(float x) => x - [|Mean|](x);\n    public static int Total(int[] a) => a.Sum();\n}\n", "FUSED016");

        // ---------------- FUSED010 / FUSED011 / FUSED012: class shape ----------------

        private const string ValidUpdate = "static void Update(ref float param, float grad) { param -= 0.1f * grad; }";

        [Fact]
        public void FUSED010_class_that_is_not_partial() =>
            AssertDiagnostics($"using Fused;\n[Optimizer]\npublic static class [|NotPartial|]\n{{\n    {ValidUpdate}\n}}\n", "FUSED010");

        [Fact]
        public void FUSED010_class_that_is_not_static() =>
            AssertDiagnostics($"using Fused;\n[Optimizer]\npublic partial class [|NotStatic|]\n{{\n    {ValidUpdate}\n}}\n", "FUSED010");

        [Fact]
        public void FUSED011_missing_Update_is_reported_on_the_class_identifier() =>
            AssertDiagnostics("using Fused;\n[Optimizer]\npublic static partial class [|Empty|]\n{\n    static void Apply(ref float param, float grad) { param -= grad; }\n}\n", "FUSED011");

        [Fact]
        public void FUSED011_Update_that_returns_a_value_is_reported_on_the_method_identifier() =>
            AssertDiagnostics("using Fused;\n[Optimizer]\npublic static partial class R\n{\n    static float [|Update|](ref float param, float grad) { param -= grad; return param; }\n}\n", "FUSED011");

        [Fact]
        public void FUSED011_Update_with_too_few_parameters() =>
            AssertDiagnostics("using Fused;\n[Optimizer]\npublic static partial class R\n{\n    static void [|Update|](ref float param) { param -= 1f; }\n}\n", "FUSED011");

        [Fact]
        public void FUSED012_nested_rule_class() =>
            AssertDiagnostics($"using Fused;\npublic static partial class Outer\n{{\n    [Optimizer]\n    public static partial class [|Inner|]\n    {{\n        {ValidUpdate}\n    }}\n}}\n", "FUSED012");

        [Fact]
        public void FUSED012_generic_rule_class() =>
            AssertDiagnostics($"using Fused;\n[Optimizer]\npublic static partial class [|Generic|]<T>\n{{\n    {ValidUpdate}\n}}\n", "FUSED012");

        // ---------------- FUSED013: cannot plan ----------------

        [Fact]
        public void FUSED013_row_state_assigned_a_value_per_element_is_reported_on_the_assignment()
        {
            string marked = "using Fused;\n[Optimizer]\npublic static partial class RowState\n{\n" +
                "    static void Update(ref float param, float grad, [State(StateShape.Row)] ref float r)\n" +
                "    {\n        [|r = r + grad * grad;|]\n        param -= grad / (r + 1f);\n    }\n}\n";
            AssertDiagnostics(marked, "FUSED013");
        }

        [Fact]
        public void FUSED013_whole_tensor_mean_of_a_hyperparameter_is_reported_on_the_call()
        {
            var marked = Rule("param -= grad * [|Mean(lr)|];", "ref float param, float grad, [Hyper(0.01)] float lr");
            AssertDiagnostics(marked, "FUSED013");
        }

        [Fact]
        public void FUSED013_row_mean_of_a_row_state_is_reported_on_the_call()
        {
            var marked = Rule("r = [|RowMean(r)|];\nparam -= grad * r;", "ref float param, float grad, [State(StateShape.Row)] ref float r");
            AssertDiagnostics(marked, "FUSED013");
        }

        [Fact]
        public void FUSED013_too_many_state_buffers_is_reported_on_the_Update_identifier()
        {
            var states = string.Join(", ", Enumerable.Range(0, 7).Select(i => $"[State] ref float s{i}"));
            var body = string.Join("\n", Enumerable.Range(0, 7).Select(i => $"s{i} = s{i} + grad;")) + "\nparam -= grad;";
            var marked = Rule(body, "ref float param, float grad, " + states).Replace("static void Update(", "static void [|Update|](");
            AssertDiagnostics(marked, "FUSED013");
        }

        // ---------------- FUSED099: internal errors ----------------

        /// <summary>
        /// FUSED099 exists to turn a generator bug into a diagnostic instead of a crashed build; no
        /// user input should reach it. A rule that is broken in many ways at once must yield only
        /// user-facing diagnostics and no exception.
        /// </summary>
        [Fact]
        public void Deliberately_broken_rule_yields_user_diagnostics_and_no_internal_error()
        {
            string source = Rule("var b = grad > 0f;\nb += 1f;\nparam -= Where(b, grad, lr) + Clamp(grad) + Sqrt(;\n}}}",
                "ref float param, float grad, [Hyper(0.01)] float lr");
            var run = GeneratorHarness.Run(source);
            Assert.Null(run.Result.Exception);
            Assert.DoesNotContain(run.Diagnostics, d => d.Id == "FUSED099");
            Assert.NotEmpty(run.Diagnostics);
        }

        // ---------------- locations follow the code ----------------

        [Fact]
        public void Same_broken_rule_moved_down_the_file_is_reported_at_its_new_line()
        {
            const string body = "param -= lr * [|Sqrt(grad)|];";
            var original = MarkedSource.Parse(Rule(body));
            var moved = MarkedSource.Parse(Rule(body, leadingLines: "// a comment\n// pushes the rule\n\n\n// down five lines\n"));
            Assert.Equal(original.LineSpan().Start.Line + 5, moved.LineSpan().Start.Line);

            // The same driver, so the second run is incremental: the diagnostic must still move.
            var first = GeneratorHarness.Run(GeneratorHarness.Compile(original.Text));
            var compilation = first.Input.ReplaceSyntaxTree(first.Input.SyntaxTrees.Single(),
                GeneratorHarness.Parse(new SourceFile("Rule.cs", moved.Text)));
            var second = GeneratorHarness.Run(compilation, first.Driver);

            Assert.Equal(original.LineSpan(), first.Diagnostics.Single().Location.GetLineSpan().Span);
            Assert.Equal(moved.LineSpan(), second.Diagnostics.Single().Location.GetLineSpan().Span);
            Assert.Equal(moved.Span, second.Diagnostics.Single().Location.SourceSpan);
        }

        [Fact]
        public void Diagnostics_carry_the_path_of_the_file_with_the_rule()
        {
            var source = MarkedSource.Parse(Rule("param -= lr * [|Sqrt(grad)|];"));
            var compilation = GeneratorHarness.Compile(
                new SourceFile("Other.cs", "namespace Fused.Tests { public static class Unrelated { } }"),
                new SourceFile("Rules/Broken.cs", source.Text));
            var d = GeneratorHarness.Run(compilation).Diagnostics.Single();
            Assert.Equal("Rules/Broken.cs", d.Location.GetLineSpan().Path);
            Assert.Equal(source.Span, d.Location.SourceSpan);
        }
    }
}
