using Microsoft.CodeAnalysis;

namespace Fused.Generator.Diagnostics
{
    /// <summary>
    /// Every diagnostic the Fused generator reports. IDs are stable; a new one takes the next free
    /// number, a README entry with an example, and a test asserting its ID and location.
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        private const string Category = "Fused";

        public static readonly DiagnosticDescriptor UnsupportedSyntax = new(
            "FUSED001", "Unsupported statement or expression in a rule",
            "'{0}' is not supported in a Fused rule: {1}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor NotAnIntrinsic = new(
            "FUSED002", "Call to a function that is not a Fused intrinsic",
            "'{0}' is not a Fused intrinsic; a rule may call only Fused.Intrinsics ({1}) and read the properties Numel, Rows and Cols (no parentheses)",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor StateNeverWritten = new(
            "FUSED003", "State is read but never written",
            "State '{0}' is read but never written, so it is always zero; assign it in the rule or remove it",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor StateUnused = new(
            "FUSED004", "State is never used",
            "State '{0}' is never read or written; remove it to save {1} bytes per parameter",
            Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor AssignmentToInput = new(
            "FUSED005", "Assignment to a read-only input",
            "'{0}' is the {1} and cannot be assigned; copy it into a local first",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor ParamNeverUpdated = new(
            "FUSED006", "The parameter is never updated",
            "Rule '{0}' never assigns its parameter '{1}'",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor HyperWithoutDefault = new(
            "FUSED007", "Hyperparameter without a default",
            "Hyperparameter '{0}' has no default; write [Hyper(value)]",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor MaybeNegative = new(
            "FUSED008", "Square root or logarithm of a value that may be negative",
            "{0} of '{1}' may see a negative value (NaN); guard it, for example {2} or {3}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor WrongParameter = new(
            "FUSED009", "Wrong parameter in a rule's Update method",
            "Parameter '{0}': {1}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor NotStaticPartial = new(
            "FUSED010", "Rule class must be static partial",
            "Rule class '{0}' must be declared 'static partial' so the generator can add to it",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor MissingUpdate = new(
            "FUSED011", "Rule has no valid Update method",
            "Rule class '{0}' needs exactly one 'static void Update(ref float param, float grad, ...)' method: {1}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor UnsupportedClassShape = new(
            "FUSED012", "Rule class must be a top-level non-generic class",
            "Rule class '{0}' must be a top-level, non-generic class",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor CannotPlan = new(
            "FUSED013", "Rule cannot be compiled into kernels",
            "Rule '{0}' cannot be compiled into kernels: {1}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor StateNeverRead = new(
            "FUSED014", "State is written but never read",
            "State '{0}' is written but never read; it costs {1} bytes per parameter for nothing",
            Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor ClassNameClashes = new(
            "FUSED015", "Rule class name clashes with a generated member",
            "Rule class '{0}' has the name of a member the generator adds to it; rename the class",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor TensorIntrinsicOutsideRule = new(
            "FUSED016", "Whole-tensor or shape intrinsic used outside a rule",
            "'{0}' has no tensor here: only inside an [Optimizer] rule does it see the whole parameter; outside one it {1}",
            Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor NoIlgpuKernels = new(
            "FUSED017", "No ILGPU kernels for this rule",
            "The project references ILGPU, but rule '{0}' gets no ILGPU kernels: {1}. Its C# and OpenCL kernels are unaffected.",
            Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor DuplicateOptimizer = new(
            "FUSED018", "Rule class marked [Optimizer] on more than one partial declaration",
            "Rule class '{0}' is marked [Optimizer] on more than one partial declaration; keep the attribute on one of them",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor DoubleArithmetic = new(
            "FUSED019", "Arithmetic in double precision",
            "'{0}' is computed in double precision in C#, but kernels compute in float and would give different results; write its constants as floats (1e-8f) or cast its operands to float",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor MemberNameClashes = new(
            "FUSED020", "Rule class member clashes with a generated member",
            "'{0}' is the name of a member the generator adds to rule class '{1}'; rename it",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor InternalError = new(
            "FUSED099", "Internal error in the Fused generator",
            "The Fused generator failed on rule '{0}': {1}. Please report this with the rule's source.",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static DiagnosticDescriptor? ById(string id) => id switch
        {
            "FUSED001" => UnsupportedSyntax,
            "FUSED002" => NotAnIntrinsic,
            "FUSED003" => StateNeverWritten,
            "FUSED004" => StateUnused,
            "FUSED005" => AssignmentToInput,
            "FUSED006" => ParamNeverUpdated,
            "FUSED007" => HyperWithoutDefault,
            "FUSED008" => MaybeNegative,
            "FUSED009" => WrongParameter,
            "FUSED010" => NotStaticPartial,
            "FUSED011" => MissingUpdate,
            "FUSED012" => UnsupportedClassShape,
            "FUSED013" => CannotPlan,
            "FUSED014" => StateNeverRead,
            "FUSED015" => ClassNameClashes,
            "FUSED016" => TensorIntrinsicOutsideRule,
            "FUSED017" => NoIlgpuKernels,
            "FUSED018" => DuplicateOptimizer,
            "FUSED019" => DoubleArithmetic,
            "FUSED020" => MemberNameClashes,
            "FUSED099" => InternalError,
            _ => null,
        };
    }
}
