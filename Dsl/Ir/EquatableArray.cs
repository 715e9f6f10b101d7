using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;

namespace Fused.Ir
{
    /// <summary>
    /// An immutable array with sequence equality. Plain arrays and ImmutableArray compare by reference,
    /// which silently defeats the generator's incremental cache and value equality of programs.
    /// </summary>
    public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
        where T : IEquatable<T>
    {
        /// <summary>The empty array.</summary>
        public static readonly EquatableArray<T> Empty = new EquatableArray<T>(ImmutableArray<T>.Empty);

        private readonly ImmutableArray<T> _items;

        /// <summary>Wraps <paramref name="items"/>.</summary>
        public EquatableArray(ImmutableArray<T> items) { _items = items; }
        /// <summary>An array of <paramref name="items"/>.</summary>
        public EquatableArray(IEnumerable<T> items) { _items = items.ToImmutableArray(); }

        /// <summary>The items (empty for a default instance).</summary>
        public ImmutableArray<T> AsImmutableArray() => _items.IsDefault ? ImmutableArray<T>.Empty : _items;
        /// <summary>Number of items.</summary>
        public int Count => _items.IsDefault ? 0 : _items.Length;
        /// <summary>Number of items (as <see cref="Count"/>).</summary>
        public int Length => Count;
        /// <summary>The item at <paramref name="index"/>.</summary>
        public T this[int index] => _items[index];

        /// <summary>Item-by-item equality.</summary>
        public bool Equals(EquatableArray<T> other)
        {
            var a = AsImmutableArray();
            var b = other.AsImmutableArray();
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++)
                if (!EqualityComparer<T>.Default.Equals(a[i], b[i])) return false;
            return true;
        }

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        /// <summary>A hash of the items, consistent with item-by-item equality.</summary>
        public override int GetHashCode()
        {
            unchecked
            {
                int h = 17;
                foreach (var item in AsImmutableArray()) h = h * 31 + (item is null ? 0 : item.GetHashCode());
                return h;
            }
        }

        /// <summary>Item-by-item equality.</summary>
        public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);
        /// <summary>Item-by-item inequality.</summary>
        public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);

        /// <summary>Enumerates the items without allocating.</summary>
        public ImmutableArray<T>.Enumerator GetEnumerator() => AsImmutableArray().GetEnumerator();
        IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)AsImmutableArray()).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable)AsImmutableArray()).GetEnumerator();
    }

    /// <summary>Conversions to <see cref="EquatableArray{T}"/>.</summary>
    public static class EquatableArray
    {
        /// <summary>The items as an <see cref="EquatableArray{T}"/>.</summary>
        public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> items) where T : IEquatable<T>
            => new EquatableArray<T>(items);
    }
}
