using System.Linq;
using System.Threading;
using Fused.Generator.Diagnostics;
using Fused.Generator.Model;
using Fused.Ir;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fused.Generator
{
    /// <summary>
    /// FUSED016: a whole-tensor intrinsic (Sum, Mean, Norm, RowMean, ...) or a shape scalar (Numel, Rows,
    /// Cols) used outside an [Optimizer] class. There is no tensor there: the call quietly treats its
    /// argument as a one-element tensor, which is almost certainly not what was meant.
    /// </summary>
    internal static class TensorIntrinsicUse
    {
        private const string IntrinsicsType = "Fused.Intrinsics";

        // Which members need a tensor is the IR's knowledge (their lowerings); only the wording is ours.
        public static bool IsCandidate(SyntaxNode node) =>
            node is IdentifierNameSyntax id && IntrinsicLowering.NeedsTensor(id.Identifier.ValueText);

        /// <summary>What the member's one-element stand-in in Fused.Intrinsics does without a tensor.</summary>
        private static string What(string name) => name switch
        {
            "Numel" or "Rows" or "Cols" => "is always 1",
            "Sum" or "Mean" or "RowMean" or "ColMean" or "RowSum" or "ColSum" => "returns its argument",
            "Norm" or "Rms" or "MaxAbs" => "returns the absolute value of its argument",
            "Orthogonalize" => "returns the sign of its argument",
            "Precondition" => "throws (it keeps per-tensor statistics)",
            _ => "has no tensor to work on",
        };

        public static DiagnosticInfo? Check(GeneratorSyntaxContext context, CancellationToken ct)
        {
            var id = (IdentifierNameSyntax)context.Node;
            var symbol = context.SemanticModel.GetSymbolInfo(id, ct).Symbol;
            if (symbol?.ContainingType?.ToDisplayString() != IntrinsicsType) return null;
            foreach (var type in id.Ancestors().OfType<TypeDeclarationSyntax>())
            {
                if (context.SemanticModel.GetDeclaredSymbol(type, ct) is INamedTypeSymbol named &&
                    named.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == FusedGenerator.OptimizerAttributeName))
                    return null; // inside a rule: the rule parser owns it
            }
            return DiagnosticInfo.Create(DiagnosticDescriptors.TensorIntrinsicOutsideRule, LocationInfo.From(id), symbol!.Name, What(symbol.Name));
        }
    }
}
