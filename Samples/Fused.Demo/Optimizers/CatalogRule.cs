using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Kernels;

namespace Fused.Demo.Optimizers
{
    /// <summary>
    /// One rule of the catalog registry (<see cref="CatalogRules.All"/>) with the cost figures of its schedule
    /// (<see cref="FusedRule.Layout"/>: the numbers the generator wrote into the rule's <c>Layout</c> constants).
    /// </summary>
    public sealed record CatalogRule(FusedRule Rule)
    {
        public string Name => Rule.Name;

        public int StateBufferCount => Rule.Layout.StateBufferCount;
        public int ElementStateBufferCount => Rule.Layout.ElementStateBufferCount;
        public int StateBytesPerParameter => Rule.Layout.StateBytesPerParameter;
        public int BytesMovedPerParameter => Rule.Layout.BytesMovedPerParameter;
        public int PassCount => Rule.Layout.PassCount;
        public string StateBufferNames => string.Join(",", Rule.Layout.StateBufferNames);

        /// <summary>Index of the hyperparameter called <paramref name="name"/>, or −1.</summary>
        public int HyperIndex(string name)
        {
            for (int i = 0; i < Rule.Hyperparameters.Count; i++)
                if (string.Equals(Rule.Hyperparameters[i].Name, name, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }

        /// <summary>Every rule of the catalog registry, in its order (the seeds' story).</summary>
        public static IReadOnlyList<CatalogRule> All { get; } = CatalogRules.All.Select(r => new CatalogRule(r)).ToArray();

        /// <summary>The rule named <paramref name="name"/> (case-insensitive).</summary>
        public static CatalogRule Named(string name)
            => All.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException($"no catalog rule named '{name}'; the catalog has {string.Join(", ", All.Select(r => r.Name))}");
    }
}
