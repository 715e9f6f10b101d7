using System.Text;

namespace Fused.Ir.Emit
{
    /// <summary>A small indenting text writer for emitted source (newlines are always \n).</summary>
    public sealed class CodeWriter
    {
        private readonly StringBuilder _sb = new StringBuilder();
        private int _indent;

        public CodeWriter Line(string text = "")
        {
            if (text.Length > 0) _sb.Append(' ', _indent * 4).Append(text);
            _sb.Append('\n');
            return this;
        }

        public CodeWriter Open(string text)
        {
            if (text.Length > 0) Line(text);
            Line("{");
            _indent++;
            return this;
        }

        public CodeWriter Close(string suffix = "")
        {
            _indent--;
            return Line("}" + suffix);
        }

        public override string ToString() => _sb.ToString();
    }
}
