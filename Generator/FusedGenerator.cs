using System;
using System.Linq;
using Fused.Generator.Diagnostics;
using Fused.Generator.Model;
using Fused.Ir;
using Microsoft.CodeAnalysis;

namespace Fused.Generator
{
    /// <summary>
    /// The Fused incremental generator: every class marked [Optimizer] is parsed into the Fused IR
    /// (<see cref="RuleParser"/>), simplified and planned, and its kernels, layout and hyperparameter
    /// record are emitted into the same partial class (<see cref="RuleEmitter"/>). Diagnostics travel
    /// in their own output, so moving code re-reports them without re-emitting source.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class FusedGenerator : IIncrementalGenerator
    {
        public const string OptimizerAttributeName = "Fused.OptimizerAttribute";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var parsed = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    OptimizerAttributeName,
                    predicate: static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                    transform: static (ctx, ct) => RuleParser.ParseSafely(ctx, ct))
                .WithTrackingName(TrackingNames.Parse);

            var specs = parsed
                .Where(static r => r.Spec is not null)
                .Select(static (r, _) => r.Spec!)
                .WithTrackingName(TrackingNames.Specs);

            var diagnostics = parsed
                .Select(static (r, _) => r.Diagnostics)
                .Where(static d => d.Count > 0)
                .WithTrackingName(TrackingNames.Diagnostics);

            context.RegisterSourceOutput(specs, static (spc, spec) =>
            {
                try
                {
                    spc.AddSource(spec.HintName, RuleEmitter.Emit(spec));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, null, spec.Class.ClassName, e.Message));
                }
            });

            context.RegisterSourceOutput(diagnostics, static (spc, list) =>
            {
                foreach (var d in list) spc.ReportDiagnostic(d.ToDiagnostic());
            });

            var outsideRuleUses = context.SyntaxProvider
                .CreateSyntaxProvider(
                    predicate: static (node, _) => TensorIntrinsicUse.IsCandidate(node),
                    transform: static (ctx, ct) => TensorIntrinsicUse.Check(ctx, ct))
                .Where(static d => d is not null)
                .WithTrackingName(TrackingNames.OutsideRuleUses);
            context.RegisterSourceOutput(outsideRuleUses, static (spc, d) => spc.ReportDiagnostic(d!.ToDiagnostic()));
        }
    }
}
