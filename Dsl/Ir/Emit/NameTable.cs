using System.Collections.Generic;

namespace Fused.Ir.Emit
{
    /// <summary>Hands out unique C# identifiers in one scope, suffixing a name already taken.</summary>
    public sealed class NameTable
    {
        private static readonly HashSet<string> Keywords = new HashSet<string>
        {
            "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
            "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
            "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
            "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
            "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
            "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
            "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while", "var",
        };

        private readonly HashSet<string> _taken = new HashSet<string>();

        // Per wanted name, the suffix below which every candidate is taken: claiming "tmp" n times is linear, not
        // quadratic (names are never released, so the answer is the same as searching from 2).
        private readonly Dictionary<string, int> _nextSuffix = new Dictionary<string, int>();

        /// <summary>A table in which the <paramref name="reserved"/> names are already taken.</summary>
        public NameTable(params string[] reserved)
        {
            foreach (var r in reserved) _taken.Add(r);
        }

        /// <summary>A nested scope: everything taken here stays taken there (C# forbids shadowing an outer local).</summary>
        public NameTable Scope()
        {
            var inner = new NameTable();
            inner._taken.UnionWith(_taken);
            foreach (var kv in _nextSuffix) inner._nextSuffix[kv.Key] = kv.Value;
            return inner;
        }

        /// <summary><paramref name="wanted"/> if free, else it with the first free numeric suffix; the name returned is taken from then on.</summary>
        public string Claim(string wanted)
        {
            var name = Keywords.Contains(wanted) ? wanted + "_" : wanted;
            if (_taken.Add(name)) return name;
            _nextSuffix.TryGetValue(name, out int k);
            for (k = System.Math.Max(k, 2); ; k++)
            {
                string candidate = name + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (!_taken.Add(candidate)) continue;
                _nextSuffix[name] = k + 1;
                return candidate;
            }
        }
    }
}
