using System;
using System.Linq;
using Fused.Generator.Diagnostics;
using Fused.Generator.Model;
using Fused.Ir;
using Fused.Ir.Emit;
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

        /// <summary>A type whose presence in the compilation means the project references ILGPU.</summary>
        public const string IlgpuIndexType = "ILGPU.Index1D";

        /// <summary>The hint name of a rule's ILGPU file: <c>Ns.Rule.Ilgpu.g.cs</c> beside <c>Ns.Rule.g.cs</c>.</summary>
        public static string IlgpuHintName(string hintName) =>
            (hintName.EndsWith(".g.cs", StringComparison.Ordinal) ? hintName.Substring(0, hintName.Length - ".g.cs".Length) : hintName) + ".Ilgpu.g.cs";

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

            // With ILGPU referenced, each rule also gets its ILGPU kernels, in a file of their own, so a project without
            // ILGPU sees exactly the output it saw before. The detection is a bool: it stays cached across edits.
            var usesIlgpu = context.CompilationProvider
                .Select(static (c, _) => c.GetTypeByMetadataName(IlgpuIndexType) is not null)
                .WithTrackingName(TrackingNames.UsesIlgpu);
            var ilgpuSpecs = specs.Combine(usesIlgpu)
                .Where(static x => x.Right)
                .Select(static (x, _) => x.Left)
                .WithTrackingName(TrackingNames.IlgpuSpecs);
            context.RegisterSourceOutput(ilgpuSpecs, static (spc, spec) =>
            {
                string source;
                try
                {
                    source = IlgpuRuleEmitter.Emit(spec.Class, spec.Plan);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // An op ILGPU cannot render, or a class that cannot hold the nested class: no ILGPU kernels, a warning.
                    spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NoIlgpuKernels, null, spec.Class.ClassName, e.Message));
                    return;
                }
                spc.AddSource(IlgpuHintName(spec.HintName), source);
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
