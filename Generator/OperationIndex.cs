using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Fused.Generator
{
    /// <summary>
    /// Types, constants and symbols of a rule body's expressions, read from one <see cref="IOperation"/> tree of the
    /// body. A <see cref="SemanticModel"/> query first walks up from its node to the enclosing member, so asking it
    /// about every link of a 10,000-term sum (nested 10,000 deep) costs time quadratic in the rule's size; the index
    /// answers each in O(1). What the tree does not hold (parts of code that does not bind) goes to the model.
    /// </summary>
    internal sealed class OperationIndex
    {
        private readonly SemanticModel _model;
        private readonly CancellationToken _ct;
        private readonly Dictionary<SyntaxNode, IOperation> _bySyntax = new();

        public OperationIndex(SemanticModel model, SyntaxNode? body, CancellationToken ct)
        {
            _model = model;
            _ct = ct;
            if (body is null) return;
            IOperation? root;
            try { root = model.GetOperation(body, ct); }
            catch (System.InsufficientExecutionStackException) { return; } // nesting the compiler itself rejects (CS8078): the model answers
            if (root is not null) Add(root);
        }

        // Iterative: the tree is as deep as the rule's expressions.
        private void Add(IOperation root)
        {
            var stack = new Stack<IOperation>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var op = stack.Pop();
                _ct.ThrowIfCancellationRequested();
                // An implicit conversion shares its operand's syntax; the model describes that syntax by the operand.
                bool implicitConversion = op is IConversionOperation { IsImplicit: true };
                if (!implicitConversion && op is not IInvalidOperation && op.Syntax is ExpressionSyntax && !_bySyntax.ContainsKey(op.Syntax))
                    _bySyntax[op.Syntax] = op;
                foreach (var child in op.ChildOperations) stack.Push(child);
            }
        }

        private IOperation? Find(ExpressionSyntax e)
        {
            // C# has no operation for parentheses: (x) has the type, constant and symbol of x.
            while (e is ParenthesizedExpressionSyntax p) e = p.Expression;
            return _bySyntax.TryGetValue(e, out var op) && op.Type is not IErrorTypeSymbol ? op : null;
        }

        /// <summary>What <c>GetTypeInfo(e).Type</c> gives.</summary>
        public ITypeSymbol? TypeOf(ExpressionSyntax e) => Find(e) is { } op ? op.Type : _model.GetTypeInfo(e, _ct).Type;

        /// <summary>What <c>GetConstantValue(e)</c> gives.</summary>
        public Optional<object?> ConstantOf(ExpressionSyntax e) => Find(e) is { } op ? op.ConstantValue : _model.GetConstantValue(e, _ct);

        /// <summary>What <c>GetSymbolInfo(e).Symbol</c> gives for names, member reads and calls.</summary>
        public ISymbol? SymbolOf(ExpressionSyntax e) => Find(e) switch
        {
            ILocalReferenceOperation local => local.Local,
            IParameterReferenceOperation parameter => parameter.Parameter,
            IPropertyReferenceOperation property => property.Property,
            IFieldReferenceOperation field => field.Field,
            IInvocationOperation call => call.TargetMethod,
            _ => _model.GetSymbolInfo(e, _ct).Symbol,
        };
    }
}
