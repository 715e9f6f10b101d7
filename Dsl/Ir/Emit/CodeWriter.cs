using System.Text;

namespace Fused.Ir.Emit
{
    /// <summary>A small indenting text writer for emitted source (newlines are always \n).</summary>
    public sealed class CodeWriter
    {
        private readonly StringBuilder _sb = new StringBuilder();
        private int _indent;

        /// <summary>Appends one line at the current indentation (an empty line when <paramref name="text"/> is empty).</summary>
        public CodeWriter Line(string text = "")
        {
            if (text.Length > 0) _sb.Append(' ', _indent * 4).Append(text);
            _sb.Append('\n');
            return this;
        }

        /// <summary>Appends <paramref name="text"/> and an opening brace, then indents.</summary>
        public CodeWriter Open(string text)
        {
            if (text.Length > 0) Line(text);
            Line("{");
            _indent++;
            return this;
        }

        /// <summary>Unindents and appends a closing brace followed by <paramref name="suffix"/>.</summary>
        public CodeWriter Close(string suffix = "")
        {
            _indent--;
            return Line("}" + suffix);
        }

        /// <summary>The text written so far.</summary>
        public override string ToString() => _sb.ToString();
    }
}
