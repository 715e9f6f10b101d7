using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using Fused.Generator.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Fused.Generator.Tests
{
    /// <summary>
    /// The pipeline's models must be plain data: a symbol, syntax node, tree, semantic model,
    /// compilation or Location held in a cached value pins a whole compilation in memory and
    /// breaks caching (they compare by reference).
    /// </summary>
    public sealed class ModelWalkTests
    {
        private static readonly Type[] Forbidden =
            { typeof(ISymbol), typeof(Compilation), typeof(SyntaxNode), typeof(SemanticModel), typeof(SyntaxTree), typeof(Location) };

        [Fact]
        public void Tracked_step_outputs_hold_no_compiler_objects()
        {
            // Valid rules (Specs), and rules with diagnostics (whose locations must be plain data too).
            var files = GeneratorHarness.CatalogRules().ToList();
            files.Add(new SourceFile("Broken.cs", RuleSource.Rule("param -= lr * Sqrt(grad);", className: "Broken")));
            files.Add(new SourceFile("Warned.cs", RuleSource.Rule("param -= lr * grad;", "ref float param, float grad, [State] ref float s, [Hyper(0.01)] float lr", className: "Warned")));
            var run = GeneratorHarness.Run(GeneratorHarness.Compile(files.ToArray()));

            int walked = 0;
            foreach (var name in new[] { TrackingNames.Parse, TrackingNames.Specs, TrackingNames.Diagnostics })
            {
                Assert.True(run.Result.TrackedSteps.ContainsKey(name), $"no tracked step '{name}'");
                foreach (var step in run.Result.TrackedSteps[name])
                    foreach (var (value, _) in step.Outputs)
                    {
                        var found = FindForbidden(value, $"{name}");
                        Assert.True(found.Count == 0, string.Join("\n", found));
                        walked++;
                    }
            }
            Assert.True(walked >= files.Count, $"walked only {walked} outputs");
        }

        [Fact]
        public void Walker_finds_a_syntax_tree_buried_in_a_collection()
        {
            // The walker must be able to fail: bury a tree in a record inside a list inside a tuple.
            var tree = GeneratorHarness.Parse(new SourceFile("X.cs", "class X { }"));
            var found = FindForbidden(Tuple.Create(1, new List<object> { "a", new Holder(tree.GetRoot().GetLocation()) }), "root");
            Assert.Single(found);
            Assert.Contains("Location", found[0]);
        }

        private sealed record Holder(object Value);

        /// <summary>
        /// Paths to every forbidden object reachable from <paramref name="root"/> through fields (auto-properties
        /// included, via their backing fields) and collections. Computed properties are not walked: they hold
        /// nothing, and running arbitrary getters over a model graph can recurse without end.
        /// </summary>
        public static List<string> FindForbidden(object? root, string rootName)
        {
            var found = new List<string>();
            var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
            var pending = new Stack<(object Value, string Path)>();
            if (root != null) pending.Push((root, rootName));
            while (pending.Count > 0)
            {
                var (value, path) = pending.Pop();
                var type = value.GetType();
                if (type.IsPrimitive || type.IsEnum || value is string || value is decimal || value is Type) continue;
                if (!type.IsValueType && !seen.Add(value)) continue; // each object once, however many paths reach it
                if (Forbidden.Any(f => f.IsInstanceOfType(value)))
                {
                    found.Add($"{path}: {type.FullName}");
                    continue;
                }
                if (seen.Count > 200_000) throw new InvalidOperationException("model graph too large to walk");

                if (value is IEnumerable items && value is not string)
                {
                    int i = 0;
                    foreach (var item in items)
                    {
                        if (item != null) pending.Push((item, $"{path}[{i}]"));
                        i++;
                    }
                }
                for (var t = type; t != null && t != typeof(object); t = t.BaseType)
                {
                    foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                    {
                        if (f.FieldType.IsPointer) continue;
                        var v = f.GetValue(value);
                        if (v != null) pending.Push((v, $"{path}.{f.Name}"));
                    }
                }
            }
            return found;
        }
    }
}
