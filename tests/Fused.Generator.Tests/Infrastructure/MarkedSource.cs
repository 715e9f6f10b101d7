using System;
using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace Fused.Generator.Tests.Infrastructure
{
    /// <summary>
    /// Source text with <c>[|...|]</c> markers around the spans where diagnostics are expected. The
    /// markers are stripped; their spans are kept, in the order the markers open.
    /// </summary>
    public sealed class MarkedSource
    {
        private MarkedSource(string text, IReadOnlyList<TextSpan> spans)
        {
            Text = text;
            Spans = spans;
        }

        public string Text { get; }
        public IReadOnlyList<TextSpan> Spans { get; }

        public TextSpan Span => Spans.Count == 1 ? Spans[0] : throw new InvalidOperationException($"expected one marked span, found {Spans.Count}");

        /// <summary>Zero-based line/character span of marked span <paramref name="index"/>.</summary>
        public LinePositionSpan LineSpan(int index = 0) => SourceText.From(Text).Lines.GetLinePositionSpan(Spans[index]);

        public static MarkedSource Parse(string marked)
        {
            var text = new StringBuilder(marked.Length);
            var spans = new List<TextSpan>();
            var open = new Stack<(int Order, int Start)>();
            var ordered = new SortedDictionary<int, TextSpan>();
            int order = 0;
            for (int i = 0; i < marked.Length; i++)
            {
                if (string.CompareOrdinal(marked, i, "[|", 0, 2) == 0)
                {
                    open.Push((order++, text.Length));
                    i++;
                }
                else if (string.CompareOrdinal(marked, i, "|]", 0, 2) == 0)
                {
                    if (open.Count == 0) throw new FormatException($"'|]' without '[|' at offset {i}");
                    var (o, start) = open.Pop();
                    ordered[o] = TextSpan.FromBounds(start, text.Length);
                    i++;
                }
                else text.Append(marked[i]);
            }
            if (open.Count > 0) throw new FormatException("'[|' without '|]'");
            spans.AddRange(ordered.Values);
            return new MarkedSource(text.ToString(), spans);
        }
    }
}
