using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Fused.Generator.Diagnostics;
using Fused.Generator.Model;
using Fused.Ir;
using Fused.Ir.Emit;
using Fused.Ir.Passes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fused.Generator
{
    /// <summary>
    /// Roslyn syntax and symbols of one [Optimizer] class → a planned Fused IR program, or diagnostics.
    /// The rule body is lowered statement by statement in SSA style: each name maps to the node holding
    /// its current value; a buffer's final node is its output. Nothing here may throw into the user's
    /// build: anything unexpected becomes FUSED099.
    /// </summary>
    internal sealed class RuleParser
    {
        private const string IntrinsicsType = "Fused.Intrinsics";

        private SemanticModel _model; // the [Optimizer] declaration's tree; then Update's, which may be another file of the partial class
        private readonly CancellationToken _ct;
        private readonly List<DiagnosticInfo> _diagnostics = new();
        private readonly IrBuilder _b = new();
        private readonly Dictionary<ISymbol, Node> _current = new(SymbolEqualityComparer.Default);
        private readonly Dictionary<ISymbol, int> _bufferOf = new(SymbolEqualityComparer.Default);
        private readonly Dictionary<ISymbol, Node> _inputs = new(SymbolEqualityComparer.Default);
        private readonly Dictionary<ISymbol, string> _readOnlyKind = new(SymbolEqualityComparer.Default);
        private readonly List<Statement> _statements = new();
        private readonly List<LocationInfo?> _statementLocations = new();
        // Structural: the planner sees simplified copies. Syntax, made a location only when a diagnostic needs one: the
        // span of a link of a left-nested chain is found by descending to its first token, as deep as the chain.
        private readonly Dictionary<Node, SyntaxNode> _origins = new();
        private readonly List<(Node node, string function, string argument, string withMax, string withAbs, LocationInfo? location)> _guarded = new();
        private readonly HashSet<ISymbol> _rejected = new(SymbolEqualityComparer.Default); // locals whose declaration was reported
        private readonly HashSet<int> _buffersRead = new();
        private readonly HashSet<int> _buffersWritten = new();
        private OperationIndex? _index; // the Update body's types, constants and symbols, once the method is known

        private RuleParser(SemanticModel model, CancellationToken ct)
        {
            _model = model;
            _ct = ct;
        }

        public static ParseResult ParseSafely(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
        {
            var classSyntax = (ClassDeclarationSyntax)ctx.TargetNode;
            try
            {
                if (IsRepeatedDeclaration(classSyntax, (INamedTypeSymbol)ctx.TargetSymbol, ct))
                {
                    var repeated = DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateOptimizer, LocationInfo.From(classSyntax.Identifier.GetLocation()),
                        classSyntax.Identifier.Text);
                    return new ParseResult(null, new[] { repeated }.ToEquatableArray());
                }
                return new RuleParser(ctx.SemanticModel, ct).Parse(classSyntax, (INamedTypeSymbol)ctx.TargetSymbol, ctx.Attributes);
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception e)
            {
                var info = DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, LocationInfo.From(classSyntax.Identifier.GetLocation()),
                    classSyntax.Identifier.Text, e.GetType().Name + ": " + e.Message);
                return new ParseResult(null, new[] { info }.ToEquatableArray());
            }
        }

        /// <summary>
        /// With [Optimizer] on several partial declarations the generator sees the class once per declaration; only
        /// the declaration holding the first application generates (two outputs of one hint name would abort the
        /// generator, CS8785), every other one gets FUSED018.
        /// </summary>
        private static bool IsRepeatedDeclaration(ClassDeclarationSyntax syntax, INamedTypeSymbol type, CancellationToken ct)
        {
            var applications = type.GetAttributes()
                .Where(a => a.AttributeClass?.ToDisplayString() == FusedGenerator.OptimizerAttributeName && a.ApplicationSyntaxReference is not null)
                .Select(a => a.ApplicationSyntaxReference!)
                .ToList();
            if (applications.Count < 2) return false;
            var first = applications[0].GetSyntax(ct).FirstAncestorOrSelf<ClassDeclarationSyntax>();
            return first is not null && !(first.SyntaxTree.FilePath == syntax.SyntaxTree.FilePath && first.Span == syntax.Span);
        }

        private OperationIndex Index => _index ?? throw new InvalidOperationException("expressions are lowered after the Update method is found");

        private ParseResult Fail() => new(null, _diagnostics.ToEquatableArray());

        private void Report(DiagnosticDescriptor d, SyntaxNode? at, params string[] args) =>
            _diagnostics.Add(DiagnosticInfo.Create(d, at is null ? null : LocationInfo.From(at), args));

        private void Report(DiagnosticDescriptor d, Location? at, params string[] args) =>
            _diagnostics.Add(DiagnosticInfo.Create(d, LocationInfo.From(at), args));

        private bool HasErrors => _diagnostics.Any(d => DiagnosticDescriptors.ById(d.Id)?.DefaultSeverity == DiagnosticSeverity.Error);

        private ParseResult Parse(ClassDeclarationSyntax syntax, INamedTypeSymbol type, IReadOnlyList<AttributeData> attributes)
        {
            string className = type.Name;
            bool isPartial = syntax.Modifiers.Any(SyntaxKind.PartialKeyword);
            bool isStatic = syntax.Modifiers.Any(SyntaxKind.StaticKeyword);
            if (!isPartial || !isStatic)
                Report(DiagnosticDescriptors.NotStaticPartial, syntax.Identifier.GetLocation(), className);
            if (type.ContainingType is not null || type.IsGenericType)
                Report(DiagnosticDescriptors.UnsupportedClassShape, syntax.Identifier.GetLocation(), className);
            if (IsGeneratedMemberName(className))
                Report(DiagnosticDescriptors.ClassNameClashes, syntax.Identifier.GetLocation(), className);

            // A member of the user's own named like one the emitter adds (Layout, Rule, Pass0...) would not compile.
            foreach (var member in type.GetMembers())
                if (!member.IsImplicitlyDeclared && IsGeneratedMemberName(member.Name) && member.Locations.FirstOrDefault(l => l.IsInSource) is { } at)
                    Report(DiagnosticDescriptors.MemberNameClashes, at, member.Name, className);

            string ruleName = className;
            foreach (var a in attributes)
                foreach (var named in a.NamedArguments)
                    if (named.Key == "Name" && named.Value.Value is string s && s.Length > 0) ruleName = s;

            var updates = type.GetMembers("Update").OfType<IMethodSymbol>().ToList();
            if (updates.Count != 1)
            {
                Report(DiagnosticDescriptors.MissingUpdate, syntax.Identifier.GetLocation(), className,
                    updates.Count == 0 ? "no method named Update" : "more than one method named Update");
                return Fail();
            }
            var method = updates[0];
            var methodSyntax = method.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct)).OfType<MethodDeclarationSyntax>().FirstOrDefault();
            if (methodSyntax is null || !method.IsStatic || !method.ReturnsVoid || method.IsGenericMethod)
            {
                Report(DiagnosticDescriptors.MissingUpdate, methodSyntax?.Identifier.GetLocation() ?? syntax.Identifier.GetLocation(), className,
                    "Update must be a non-generic 'static void' method");
                return Fail();
            }
            if (methodSyntax.Body is null && methodSyntax.ExpressionBody is null)
            {
                Report(DiagnosticDescriptors.MissingUpdate, methodSyntax.Identifier.GetLocation(), className, "Update has no body");
                return Fail();
            }

            var buffers = new List<BufferDecl>();
            var hypers = new List<HyperDecl>();
            if (!DeclareParameters(method, buffers, hypers)) return Fail();
            if (HasErrors) return Fail();

            // Lower the body, bound in Update's own tree (a partial class may declare it in another file).
            if (methodSyntax.SyntaxTree != _model.SyntaxTree) _model = _model.Compilation.GetSemanticModel(methodSyntax.SyntaxTree);
            _index = new OperationIndex(_model, methodSyntax, _ct);
            if (methodSyntax.Body is not null)
                foreach (var statement in methodSyntax.Body.Statements) LowerStatement(statement);
            else
                LowerExpressionStatement(methodSyntax.ExpressionBody!.Expression, methodSyntax.ExpressionBody);
            if (HasErrors) return Fail();

            // Outputs: the final value of every buffer that was assigned.
            var outputs = new List<Output>();
            foreach (var kv in _bufferOf)
            {
                int buffer = kv.Value;
                if (_buffersWritten.Contains(buffer)) outputs.Add(new Output(buffer, _current[kv.Key]));
            }
            var program = new RuleProgram(ruleName, buffers.ToEquatableArray(), hypers.ToEquatableArray(),
                outputs.OrderBy(o => o.Buffer).ToEquatableArray(), _statements.ToEquatableArray());

            CheckBuffers(program, method);
            CheckGuards(program);
            if (HasErrors) return Fail();

            var verify = Verifier.Check(program);
            if (verify.Count > 0)
            {
                Report(DiagnosticDescriptors.InternalError, syntax.Identifier.GetLocation(), className, string.Join("; ", verify));
                return Fail();
            }
            KernelPlan plan;
            try
            {
                var simplified = Simplifier.Run(program);
                // `param = param;` (or `param = param * 1f;`) simplifies to no update at all.
                if (!simplified.Outputs.Any(o => o.Buffer == RuleProgram.ParamBuffer))
                {
                    int last = _statements.FindLastIndex(st => st.Buffer == RuleProgram.ParamBuffer);
                    _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ParamNeverUpdated,
                        (last >= 0 ? _statementLocations[last] : null) ?? LocationInfo.From(syntax.Identifier.GetLocation()), ruleName, buffers[0].Name));
                    return Fail();
                }
                plan = Planner.Plan(simplified);
            }
            catch (PlanningException e)
            {
                _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.CannotPlan,
                    LocationOf(e) ?? LocationInfo.From(syntax.Identifier.GetLocation()), ruleName, e.Message));
                return Fail();
            }

            string ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();
            string file = Path.GetFileName(syntax.SyntaxTree.FilePath);
            if (string.IsNullOrEmpty(file)) file = className + ".cs";
            string hint = (ns.Length > 0 ? ns + "." : "") + className + ".g.cs";
            var spec = new RuleSpec(new RuleClassInfo(ns, className, file), plan, hint);
            return new ParseResult(spec, _diagnostics.ToEquatableArray());
        }

        /// <summary>
        /// Where a planning problem is: the last assignment of the buffer it is about, else the expression
        /// that first produced the node, else the first statement whose value contains it.
        /// </summary>
        private LocationInfo? LocationOf(PlanningException e)
        {
            if (e.Buffer is int buffer)
                for (int i = _statements.Count - 1; i >= 0; i--)
                    if (_statements[i].Buffer == buffer) return _statementLocations[i];
            if (e.At is null) return null;
            if (_origins.TryGetValue(e.At, out var origin)) return LocationInfo.From(origin);
            for (int i = 0; i < _statements.Count; i++)
                if (Node.TopologicalOrder(new[] { _statements[i].Value }).Any(n => n.Equals(e.At))) return _statementLocations[i];
            return null;
        }

        /// <summary>Members the emitter adds to the rule class; a class of that name could not contain them (CS0542).</summary>
        private static bool IsGeneratedMemberName(string name) =>
            Array.IndexOf(CSharpRuleEmitter.ClassMemberNames, name) >= 0
            || (name.StartsWith("Pass", StringComparison.Ordinal) && name.Length > 4 && char.IsDigit(name[4]));

        // ---------------- parameters ----------------

        private static bool HasAttribute(IParameterSymbol p, string name) =>
            p.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "Fused." + name);

        private static AttributeData? GetAttribute(IParameterSymbol p, string name) =>
            p.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "Fused." + name);

        private bool DeclareParameters(IMethodSymbol method, List<BufferDecl> buffers, List<HyperDecl> hypers)
        {
            var ps = method.Parameters;
            if (ps.Length < 2)
            {
                Report(DiagnosticDescriptors.MissingUpdate, method.Locations.FirstOrDefault(), method.ContainingType.Name,
                    "Update needs at least the parameter (ref float) and its gradient (float)");
                return false;
            }
            var param = ps.FirstOrDefault(p => HasAttribute(p, "ParamAttribute")) ?? ps[0];
            var grad = ps.FirstOrDefault(p => HasAttribute(p, "GradAttribute")) ?? ps.FirstOrDefault(p => !SymbolEqualityComparer.Default.Equals(p, param));
            if (param.RefKind != RefKind.Ref || param.Type.SpecialType != SpecialType.System_Single)
                Report(DiagnosticDescriptors.WrongParameter, param.Locations.FirstOrDefault(), param.Name, "the parameter must be 'ref float'");
            if (grad is null || grad.RefKind is not (RefKind.None or RefKind.In) || grad.Type.SpecialType != SpecialType.System_Single)
                Report(DiagnosticDescriptors.WrongParameter, (grad ?? param).Locations.FirstOrDefault(), (grad ?? param).Name, "the gradient must be 'float' (or 'in float')");
            if (grad is null) return false;

            buffers.Add(new BufferDecl(param.Name, BufferRole.Param));
            buffers.Add(new BufferDecl(grad.Name, BufferRole.Grad));
            Bind(param, 0, _b.Load(0));
            _inputs[grad] = _b.Load(1);
            _current[grad] = _b.Load(1);
            _readOnlyKind[grad] = "gradient";
            _bufferOf[grad] = 1;

            // Hyperparameters become properties of Hyperparameters and states constants of Layout:
            // names that clash there (with each other or a member the emitter writes) would not compile.
            var hyperMembers = new HashSet<string>(CSharpRuleEmitter.HyperparameterMemberNames, StringComparer.Ordinal);
            var layoutMembers = new HashSet<string>(CSharpRuleEmitter.LayoutMemberNames, StringComparer.Ordinal);
            foreach (var p in ps)
            {
                if (SymbolEqualityComparer.Default.Equals(p, param) || SymbolEqualityComparer.Default.Equals(p, grad)) continue;
                var loc = p.Locations.FirstOrDefault();
                var state = GetAttribute(p, "StateAttribute");
                var hyper = GetAttribute(p, "HyperAttribute");
                bool isStep = HasAttribute(p, "StepAttribute");
                int kinds = (state != null ? 1 : 0) + (hyper != null ? 1 : 0) + (isStep ? 1 : 0);
                if (kinds != 1)
                {
                    Report(DiagnosticDescriptors.WrongParameter, loc, p.Name,
                        kinds == 0 ? "mark it [State], [Hyper(default)] or [Step]" : "use only one of [State], [Hyper] and [Step]");
                    continue;
                }
                if (state != null)
                {
                    if (p.RefKind != RefKind.Ref || p.Type.SpecialType != SpecialType.System_Single)
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, "a [State] must be 'ref float'");
                        continue;
                    }
                    if (!IsValidMemberName(CSharpRuleEmitter.PropertyName(p.Name)))
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, $"its generated name Layout.{CSharpRuleEmitter.PropertyName(p.Name)} is not a valid C# identifier; rename it");
                        continue;
                    }
                    if (!layoutMembers.Add(CSharpRuleEmitter.PropertyName(p.Name)))
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, $"its generated name Layout.{CSharpRuleEmitter.PropertyName(p.Name)} is already taken; rename it");
                        continue;
                    }
                    var shape = state.ConstructorArguments.Length == 1 && state.ConstructorArguments[0].Value is int s ? (StateShape)s : StateShape.Element;
                    if (!Enum.IsDefined(typeof(StateShape), shape))
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, $"({(int)shape}) is not a StateShape; use Element, Row, Column or Scalar");
                        continue;
                    }
                    int index = buffers.Count;
                    buffers.Add(new BufferDecl(p.Name, BufferRole.State, shape));
                    Bind(p, index, _b.Load(index));
                }
                else if (hyper != null)
                {
                    if (p.RefKind != RefKind.None || p.Type.SpecialType != SpecialType.System_Single)
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, "a [Hyper] must be 'float'");
                        continue;
                    }
                    if (hyper.ConstructorArguments.Length != 1 || hyper.ConstructorArguments[0].Value is not double d)
                    {
                        Report(DiagnosticDescriptors.HyperWithoutDefault, loc, p.Name);
                        continue;
                    }
                    if (!IsValidMemberName(CSharpRuleEmitter.PropertyName(p.Name)))
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, $"its generated name Hyperparameters.{CSharpRuleEmitter.PropertyName(p.Name)} is not a valid C# identifier; rename it");
                        continue;
                    }
                    if (!hyperMembers.Add(CSharpRuleEmitter.PropertyName(p.Name)))
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, $"its generated name Hyperparameters.{CSharpRuleEmitter.PropertyName(p.Name)} is already taken; rename it");
                        continue;
                    }
                    _inputs[p] = _b.Hyper(hypers.Count);
                    _current[p] = _inputs[p];
                    _readOnlyKind[p] = "hyperparameter";
                    hypers.Add(new HyperDecl(p.Name, d));
                }
                else
                {
                    if (p.RefKind != RefKind.None || p.Type.SpecialType is not (SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Single))
                    {
                        Report(DiagnosticDescriptors.WrongParameter, loc, p.Name, "the [Step] must be 'int', 'long' or 'float'");
                        continue;
                    }
                    _inputs[p] = _b.Step();
                    _current[p] = _inputs[p];
                    _readOnlyKind[p] = "step counter";
                }
            }
            if (buffers.Count > 8)
                Report(DiagnosticDescriptors.CannotPlan, method.Locations.FirstOrDefault(), method.ContainingType.Name, "a rule has at most 6 state buffers");
            return true;
        }

        /// <summary>A generated property name (`_1` becomes `1`) must be an identifier that is not a keyword.</summary>
        private static bool IsValidMemberName(string name) =>
            SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None;

        private void Bind(IParameterSymbol p, int buffer, Node load)
        {
            _bufferOf[p] = buffer;
            _inputs[p] = load;
            _current[p] = load;
        }

        // ---------------- statements ----------------

        private void LowerStatement(StatementSyntax statement)
        {
            _ct.ThrowIfCancellationRequested();
            switch (statement)
            {
                case LocalDeclarationStatementSyntax local when !local.IsConst && local.UsingKeyword == default:
                    foreach (var v in local.Declaration.Variables)
                    {
                        if (v.Initializer is null)
                        {
                            Report(DiagnosticDescriptors.UnsupportedSyntax, v, v.ToString(), "a local must be initialised where it is declared");
                            continue;
                        }
                        if (_model.GetDeclaredSymbol(v, _ct) is not ILocalSymbol symbol) continue;
                        if (symbol.Type.SpecialType is not (SpecialType.System_Single or SpecialType.System_Boolean))
                        {
                            Report(DiagnosticDescriptors.UnsupportedSyntax, v, v.ToString(), "locals must be 'float' or 'bool'");
                            _rejected.Add(symbol);
                            continue;
                        }
                        var value = Lower(v.Initializer.Value);
                        if (value is null)
                        {
                            _rejected.Add(symbol);
                            continue;
                        }
                        _current[symbol] = value;
                        _statements.Add(new Statement(symbol.Name, -1, value, statement.ToString().Trim()));
                        _statementLocations.Add(LocationInfo.From(v));
                    }
                    break;
                case ExpressionStatementSyntax expr:
                    LowerExpressionStatement(expr.Expression, statement);
                    break;
                case EmptyStatementSyntax:
                    break;
                case BlockSyntax block:
                    foreach (var s in block.Statements) LowerStatement(s);
                    break;
                default:
                    Report(DiagnosticDescriptors.UnsupportedSyntax, statement, FirstLine(statement), statement switch
                    {
                        IfStatementSyntax => "a rule body holds only local declarations and assignments (use Where or ?: instead of if)",
                        LocalDeclarationStatementSyntax { IsConst: true } => "const locals are not supported; declare a float local",
                        _ => "a rule body holds only local declarations and assignments",
                    });
                    break;
            }
        }

        private void LowerExpressionStatement(ExpressionSyntax expression, SyntaxNode statement)
        {
            if (expression is not AssignmentExpressionSyntax assignment)
            {
                Report(DiagnosticDescriptors.UnsupportedSyntax, expression, expression.ToString(), "only assignments can stand as statements");
                return;
            }
            var target = _model.GetSymbolInfo(assignment.Left, _ct).Symbol;
            if (assignment.Left is not IdentifierNameSyntax || target is null || !(target is ILocalSymbol || _inputs.ContainsKey(target)))
            {
                Report(DiagnosticDescriptors.UnsupportedSyntax, assignment.Left, assignment.Left.ToString(), "only locals, the parameter and states can be assigned");
                return;
            }
            if (_rejected.Contains(target)) return; // its declaration is already reported
            if (_readOnlyKind.TryGetValue(target, out var kind))
            {
                Report(DiagnosticDescriptors.AssignmentToInput, assignment.Left, target.Name, kind);
                return;
            }
            var right = Lower(assignment.Right);
            if (right is null) return;
            Node value;
            if (assignment.Kind() == SyntaxKind.SimpleAssignmentExpression) value = right;
            else
            {
                var op = assignment.Kind() switch
                {
                    SyntaxKind.AddAssignmentExpression => Op.Add,
                    SyntaxKind.SubtractAssignmentExpression => Op.Sub,
                    SyntaxKind.MultiplyAssignmentExpression => Op.Mul,
                    SyntaxKind.DivideAssignmentExpression => Op.Div,
                    _ => (Op?)null,
                };
                if (op is null)
                {
                    Report(DiagnosticDescriptors.UnsupportedSyntax, assignment, assignment.OperatorToken.Text, "use =, +=, -=, *= or /=");
                    return;
                }
                var currentValue = Read(target, assignment.Left);
                if (currentValue is null) return;
                // Compound arithmetic needs floats on both sides (a bool local would make the builder throw).
                if (!Expect(currentValue, IrType.F32, assignment.Left) || !Expect(right, IrType.F32, assignment.Right)) return;
                value = _b.Make(op.Value, currentValue, right);
            }
            if (!TypeMatches(target, value, assignment)) return;
            _current[target] = value;
            int buffer = _bufferOf.TryGetValue(target, out var bi) ? bi : -1;
            if (buffer >= 0) _buffersWritten.Add(buffer);
            _statements.Add(new Statement(target.Name, buffer, value, statement.ToString().Trim()));
            _statementLocations.Add(LocationInfo.From(statement));
        }

        private bool TypeMatches(ISymbol target, Node value, SyntaxNode at)
        {
            var expected = target is ILocalSymbol l && l.Type.SpecialType == SpecialType.System_Boolean ? IrType.Bool : IrType.F32;
            if (value.Type == expected) return true;
            Report(DiagnosticDescriptors.UnsupportedSyntax, at, at.ToString(), $"'{target.Name}' holds a {expected} but is assigned a {value.Type}");
            return false;
        }

        private Node? Read(ISymbol symbol, SyntaxNode at)
        {
            if (_current.TryGetValue(symbol, out var node))
            {
                if (_bufferOf.TryGetValue(symbol, out var b)) _buffersRead.Add(b);
                return node;
            }
            if (_rejected.Contains(symbol)) return null; // its declaration is already reported
            Report(DiagnosticDescriptors.UnsupportedSyntax, at, at.ToString(), "only the rule's parameters and locals can be read");
            return null;
        }

        // ---------------- expressions ----------------

        /// <summary>Lowers an expression and remembers where each value first appears, to place planning diagnostics.</summary>
        private Node? Lower(ExpressionSyntax e)
        {
            // Left-nested chains (a + b + c ...) are lowered without recursion; other nesting recurses, so it is bounded
            // with a diagnostic rather than left to overflow the compiler's stack.
            while (e is ParenthesizedExpressionSyntax p) e = p.Expression; // (x) is x: parentheses add no level
            if (_nesting >= MaxNesting)
            {
                if (!_reportedNesting)
                    Report(DiagnosticDescriptors.UnsupportedSyntax, e, FirstLine(e),
                        $"expressions nest at most {MaxNesting} levels deep (parentheses, calls, operands on the right); compute parts into locals");
                _reportedNesting = true;
                return null;
            }
            _nesting++;
            try { return Finish(e, LowerCore(e)); }
            finally { _nesting--; }
        }

        /// <summary>How deep expressions may nest outside left-nested chains: far beyond a written rule, far within a 1 MB stack.</summary>
        internal const int MaxNesting = 500;
        private int _nesting;
        private bool _reportedNesting;

        /// <summary>What every lowered expression goes through: the double-arithmetic check and its origin.</summary>
        private Node? Finish(ExpressionSyntax e, Node? node)
        {
            // Double arithmetic (under a cast: (float)(lr * grad * 1e40 * 1e-40)) would be computed in float by the
            // kernels, with other roundings and overflows than C# gives. Checked once the operands lowered (a call
            // that is not an intrinsic keeps its own diagnostic), so it is reported at the innermost double operation.
            if (node is not null && node.Op != Op.Const && e is BinaryExpressionSyntax or PrefixUnaryExpressionSyntax
                && Index.TypeOf(e)?.SpecialType == SpecialType.System_Double)
            {
                Report(DiagnosticDescriptors.DoubleArithmetic, e, FirstLine(e));
                return null;
            }
            if (node is not null && !_origins.ContainsKey(node)) _origins[node] = e;
            return node;
        }

        private Node? LowerCore(ExpressionSyntax e)
        {
            _ct.ThrowIfCancellationRequested();
            // Anything the compiler folds to a constant (literals, 1f / 3, const fields) is a literal.
            var constant = Index.ConstantOf(e);
            if (constant.HasValue && constant.Value is not bool && constant.Value is not string && constant.Value is not null)
            {
                try { return _b.Const(Convert.ToSingle(constant.Value, System.Globalization.CultureInfo.InvariantCulture)); }
                catch (Exception) { /* falls through to the syntax cases, which report it */ }
            }
            switch (e)
            {
                case IdentifierNameSyntax id:
                {
                    var symbol = Index.SymbolOf(id);
                    if (symbol is ILocalSymbol or IParameterSymbol) return Read(symbol, id);
                    if (ShapeScalarOf(symbol) is ShapeScalar shapeScalar) return _b.Shape(shapeScalar);
                    if (symbol is IPropertySymbol or IFieldSymbol)
                    {
                        Report(DiagnosticDescriptors.UnsupportedSyntax, id, id.ToString(), "rules read only their own parameters and locals");
                        return null;
                    }
                    Report(DiagnosticDescriptors.UnsupportedSyntax, id, id.ToString(), "unknown name");
                    return null;
                }
                case BinaryExpressionSyntax bin:
                    return LowerBinary(bin);
                case PrefixUnaryExpressionSyntax un:
                {
                    var operand = Lower(un.Operand);
                    if (operand is null) return null;
                    switch (un.Kind())
                    {
                        case SyntaxKind.UnaryMinusExpression: return Expect(operand, IrType.F32, un.Operand) ? _b.Neg(operand) : null;
                        case SyntaxKind.UnaryPlusExpression: return Expect(operand, IrType.F32, un.Operand) ? operand : null;
                        case SyntaxKind.LogicalNotExpression: return Expect(operand, IrType.Bool, un.Operand) ? _b.Make(Op.Not, operand) : null;
                    }
                    Report(DiagnosticDescriptors.UnsupportedSyntax, un, un.ToString(), "only -x, +x and !x are supported");
                    return null;
                }
                case ConditionalExpressionSyntax c:
                {
                    var cond = Lower(c.Condition);
                    var a = Lower(c.WhenTrue);
                    var b = Lower(c.WhenFalse);
                    if (cond is null || a is null || b is null) return null;
                    if (!Expect(cond, IrType.Bool, c.Condition) || !Expect(a, IrType.F32, c.WhenTrue) || !Expect(b, IrType.F32, c.WhenFalse)) return null;
                    return _b.Where(cond, a, b);
                }
                case CastExpressionSyntax cast:
                {
                    var to = Index.TypeOf(cast);
                    if (to?.SpecialType is SpecialType.System_Single or SpecialType.System_Double)
                        return Lower(cast.Expression);
                    Report(DiagnosticDescriptors.UnsupportedSyntax, cast, cast.ToString(), "only casts to float are supported");
                    return null;
                }
                case InvocationExpressionSyntax call:
                    return LowerCall(call);
                case MemberAccessExpressionSyntax member when ShapeScalarOf(Index.SymbolOf(member)) is ShapeScalar memberShape:
                    return _b.Shape(memberShape);
                case LiteralExpressionSyntax lit:
                    Report(DiagnosticDescriptors.UnsupportedSyntax, lit, lit.ToString(), "only numeric literals are supported");
                    return null;
                default:
                    Report(DiagnosticDescriptors.UnsupportedSyntax, e, FirstLine(e), DescribeUnsupported(e));
                    return null;
            }
        }

        private static ShapeScalar? ShapeScalarOf(ISymbol? symbol)
        {
            if (symbol is not IPropertySymbol property || property.ContainingType?.ToDisplayString() != IntrinsicsType) return null;
            return IntrinsicLowering.ShapeScalarNamed(property.Name);
        }

        private static string DescribeUnsupported(ExpressionSyntax e) => e switch
        {
            MemberAccessExpressionSyntax => "rules cannot read members of other types",
            ObjectCreationExpressionSyntax or ImplicitObjectCreationExpressionSyntax => "rules cannot create objects",
            PostfixUnaryExpressionSyntax or AssignmentExpressionSyntax => "assignments must be statements of their own",
            ElementAccessExpressionSyntax => "rules work on one element; there is no indexing",
            _ => "this kind of expression is not part of the Fused language",
        };

        private bool Expect(Node n, IrType type, SyntaxNode at)
        {
            if (n.Type == type) return true;
            Report(DiagnosticDescriptors.UnsupportedSyntax, at, at.ToString(), $"expected a {(type == IrType.Bool ? "bool" : "float")} here");
            return false;
        }

        private static Op? BinaryOp(SyntaxKind kind) => kind switch
        {
            SyntaxKind.AddExpression => Op.Add,
            SyntaxKind.SubtractExpression => Op.Sub,
            SyntaxKind.MultiplyExpression => Op.Mul,
            SyntaxKind.DivideExpression => Op.Div,
            SyntaxKind.LessThanExpression => Op.Lt,
            SyntaxKind.LessThanOrEqualExpression => Op.Le,
            SyntaxKind.GreaterThanExpression => Op.Gt,
            SyntaxKind.GreaterThanOrEqualExpression => Op.Ge,
            SyntaxKind.EqualsExpression => Op.Eq,
            SyntaxKind.NotEqualsExpression => Op.Ne,
            SyntaxKind.LogicalAndExpression => Op.And,
            SyntaxKind.LogicalOrExpression => Op.Or,
            _ => null,
        };

        /// <summary>Integer division of non-constants would truncate in C# but not in the kernels.</summary>
        private bool IsIntegerDivision(BinaryExpressionSyntax bin) =>
            bin.Kind() == SyntaxKind.DivideExpression
            && Index.TypeOf(bin)?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64;

        /// <summary>What <see cref="LowerCore"/> turns into a literal before looking at the syntax.</summary>
        private bool IsFolded(ExpressionSyntax e)
        {
            var constant = Index.ConstantOf(e);
            return constant.HasValue && constant.Value is not bool && constant.Value is not string && constant.Value is not null;
        }

        /// <summary>
        /// Lowers a binary expression and, without recursion, the chain of binary expressions down its left operands
        /// (a + b + c + ... nests to the left as deep as it is long: a flat sum of 25,000 terms overflowed the stack).
        /// Each link of the chain gets what <see cref="Lower"/> gives any expression.
        /// </summary>
        private Node? LowerBinary(BinaryExpressionSyntax bin)
        {
            if (BinaryOp(bin.Kind()) is null)
            {
                Report(DiagnosticDescriptors.UnsupportedSyntax, bin, bin.OperatorToken.Text, "supported operators are + - * / < <= > >= == != && ||");
                return null;
            }
            if (IsIntegerDivision(bin))
            {
                Report(DiagnosticDescriptors.UnsupportedSyntax, bin, bin.ToString(), "integer division truncates; cast an operand to float");
                return null;
            }
            var chain = new List<BinaryExpressionSyntax> { bin };
            var leaf = bin.Left;
            while (leaf is BinaryExpressionSyntax inner && BinaryOp(inner.Kind()) is not null && !IsIntegerDivision(inner) && !IsFolded(inner))
            {
                _ct.ThrowIfCancellationRequested();
                chain.Add(inner);
                leaf = inner.Left;
            }
            var a = Lower(leaf);
            for (int i = chain.Count - 1; i >= 0; i--)
            {
                _ct.ThrowIfCancellationRequested();
                var link = chain[i];
                var b = Lower(link.Right);
                Node? value = null;
                if (a is not null && b is not null)
                {
                    var op = BinaryOp(link.Kind())!.Value;
                    var sourceType = OpInfo.SourceType(op, 0);
                    if (Expect(a, sourceType, link.Left) && Expect(b, sourceType, link.Right)) value = _b.Make(op, a, b);
                }
                // The outermost link goes back through Lower, which finishes it.
                a = i == 0 ? value : Finish(link, value);
            }
            return a;
        }

        private Node? LowerCall(InvocationExpressionSyntax call)
        {
            var symbol = Index.SymbolOf(call) as IMethodSymbol;
            string name = symbol?.Name ?? call.Expression.ToString();
            // Numel(), Rows(), Cols(): shape scalars are properties, read without parentheses.
            if (symbol is null && _model.GetSymbolInfo(call.Expression, _ct) is var callee
                && ShapeScalarOf(callee.Symbol ?? callee.CandidateSymbols.FirstOrDefault()) is not null)
            {
                string property = call.Expression is MemberAccessExpressionSyntax m ? m.Name.Identifier.Text : call.Expression.ToString();
                Report(DiagnosticDescriptors.UnsupportedSyntax, call, call.ToString(), $"{property} is a property of Fused.Intrinsics; write {property} without parentheses");
                return null;
            }
            if (symbol is null || symbol.ContainingType?.ToDisplayString() != IntrinsicsType)
            {
                // Qualify the name: "Math.Sqrt is not a Fused intrinsic" reads better than "Sqrt is not".
                string shown = symbol?.ContainingType is { } owner ? owner.Name + "." + symbol.Name : call.Expression.ToString();
                Report(DiagnosticDescriptors.NotAnIntrinsic, call, shown, string.Join(", ", IntrinsicLowering.Names));
                return null;
            }
            // Arguments in parameter order: a named argument binds by name (Clamp(hi: 1f, x: g, lo: 0f)).
            var byParameter = new ArgumentSyntax?[symbol.Parameters.Length];
            for (int i = 0; i < call.ArgumentList.Arguments.Count; i++)
            {
                var arg = call.ArgumentList.Arguments[i];
                int index = i;
                if (arg.NameColon is not null)
                {
                    index = -1;
                    for (int k = 0; k < symbol.Parameters.Length; k++)
                        if (symbol.Parameters[k].Name == arg.NameColon.Name.Identifier.ValueText) index = k;
                }
                if (index < 0 || index >= byParameter.Length || byParameter[index] is not null)
                {
                    Report(DiagnosticDescriptors.UnsupportedSyntax, arg, arg.ToString(), "argument does not match a parameter of " + name);
                    return null;
                }
                byParameter[index] = arg;
            }
            if (byParameter.Any(a => a is null))
            {
                Report(DiagnosticDescriptors.UnsupportedSyntax, call, call.ToString(), name + " needs " + byParameter.Length + " argument(s)");
                return null;
            }
            var args = new List<Node>();
            foreach (var arg in byParameter)
            {
                var n = Lower(arg!.Expression);
                if (n is null) return null;
                args.Add(n);
            }
            for (int i = 0; i < args.Count; i++)
            {
                var expected = name == "Where" && i == 0 ? IrType.Bool : IrType.F32;
                if (!Expect(args[i], expected, byParameter[i]!)) return null;
            }
            Node result = IntrinsicLowering.Lower(_b, name, args)
                ?? throw new InvalidOperationException($"intrinsic {name} has no lowering");
            // The nodes an intrinsic expands into (Mean is Sum / Numel) belong to the call.
            foreach (var n in Node.TopologicalOrder(new[] { result }))
                if (!_origins.ContainsKey(n)) _origins[n] = call;
            if (name is "Sqrt" or "Log" or "Rsqrt" || (name == "Pow" && args[0].Op != Op.Const))
            {
                // The suggested guards wrap the first argument and keep the others (Pow's exponent).
                string rest = string.Concat(byParameter.Skip(1).Select(a => ", " + a!.Expression));
                string argument = byParameter[0]!.Expression.ToString();
                _guarded.Add((args[0], name, argument, $"{name}(Max({argument}, 0f){rest})", $"{name}(Abs({argument}){rest})", LocationInfo.From(call)));
            }
            return result;
        }

        // ---------------- checks on the whole rule ----------------

        private void CheckBuffers(RuleProgram program, IMethodSymbol method)
        {
            if (!_buffersWritten.Contains(0))
                Report(DiagnosticDescriptors.ParamNeverUpdated, method.Locations.FirstOrDefault(), program.Name, program.Buffers[0].Name);
            foreach (var kv in _bufferOf)
            {
                int b = kv.Value;
                if (program.Buffers[b].Role != BufferRole.State) continue;
                var loc = kv.Key.Locations.FirstOrDefault();
                bool read = _buffersRead.Contains(b), written = _buffersWritten.Contains(b);
                if (read && !written) Report(DiagnosticDescriptors.StateNeverWritten, loc, kv.Key.Name);
                else if (!read && !written) Report(DiagnosticDescriptors.StateUnused, loc, kv.Key.Name, "4");
                else if (!read && written) Report(DiagnosticDescriptors.StateNeverRead, loc, kv.Key.Name, "4");
            }
        }

        private void CheckGuards(RuleProgram program)
        {
            if (_guarded.Count == 0) return;
            var signs = new SignAnalysis(program);
            foreach (var (node, function, argument, withMax, withAbs, location) in _guarded)
                if (!signs.IsNonNegative(node))
                    _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MaybeNegative, location, function, argument, withMax, withAbs));
        }

        private static string FirstLine(SyntaxNode node)
        {
            var text = node.ToString().Trim();
            int nl = text.IndexOf('\n');
            return nl < 0 ? text : text.Substring(0, nl).TrimEnd('\r') + " ...";
        }
    }
}
