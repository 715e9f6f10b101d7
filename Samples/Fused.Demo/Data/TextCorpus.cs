using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Fused.Demo.Data
{
    /// <summary>
    /// A character-level text corpus: the bytes of the text files in a directory (or one file), mapped to a
    /// dense vocabulary of the distinct bytes present, split into training and test text.
    /// </summary>
    public sealed class TextCorpus
    {
        /// <summary>Where Debian's <c>fortunes</c> package puts its plain-text fortune files (about 2.6 MB of English).</summary>
        public const string DebianDirectory = "/usr/share/games/fortunes";

        /// <summary>Environment variable naming another text file or directory of text files.</summary>
        public const string PathVariable = "FUSED_TEXT_CORPUS";

        public const string InstallHint =
            "Install it with `apt-get install fortunes` (plain-text files go to " + DebianDirectory + "), " +
            "or point " + PathVariable + " (or --data) at a text file or a directory of text files.";

        // Every TestEvery-th block of BlockBytes goes to the test text: both halves sample every file of the corpus.
        private const int BlockBytes = 4096;
        private const int TestEvery = 10;

        private TextCorpus(string source, byte[] vocabulary, int[] train, int[] test)
        {
            Source = source;
            Vocabulary = vocabulary;
            Train = train;
            Test = test;
        }

        /// <summary>Where the text came from.</summary>
        public string Source { get; }

        /// <summary>The distinct bytes of the corpus, ascending; token id i stands for byte Vocabulary[i].</summary>
        public byte[] Vocabulary { get; }

        /// <summary>Training text as token ids.</summary>
        public int[] Train { get; }

        /// <summary>Test text as token ids (about a tenth of the corpus).</summary>
        public int[] Test { get; }

        /// <summary>Builds a corpus from raw bytes (tests, or a file already read).</summary>
        public static TextCorpus FromBytes(string source, byte[] text)
        {
            if (text.Length < 2 * BlockBytes * TestEvery)
                throw new InvalidDataException($"{source} holds {text.Length:N0} bytes of text; a language model needs at least {2 * BlockBytes * TestEvery:N0}");
            var vocabulary = text.Distinct().OrderBy(b => b).ToArray();
            var id = new int[256];
            for (int i = 0; i < vocabulary.Length; i++) id[vocabulary[i]] = i;
            var train = new List<int>(text.Length);
            var test = new List<int>(text.Length / TestEvery + BlockBytes);
            for (int start = 0, block = 0; start < text.Length; start += BlockBytes, block++)
            {
                var target = block % TestEvery == TestEvery - 1 ? test : train;
                foreach (byte b in text.AsSpan(start, Math.Min(BlockBytes, text.Length - start))) target.Add(id[b]);
            }

            return new TextCorpus(source, vocabulary, train.ToArray(), test.ToArray());
        }

        /// <summary>
        /// The file or directory to read: the explicit one if given (and only it), else $FUSED_TEXT_CORPUS, else
        /// Debian's fortunes; null when none exists.
        /// </summary>
        public static string? Locate(string? explicitPath = null)
        {
            var candidates = explicitPath is not null
                ? new[] { explicitPath }
                : new[] { Environment.GetEnvironmentVariable(PathVariable), DebianDirectory };
            return candidates.FirstOrDefault(p => !string.IsNullOrWhiteSpace(p) && (File.Exists(p) || Directory.Exists(p) && TextFiles(p!).Any()));
        }

        /// <summary>Loads the corpus from <paramref name="path"/> (or the located one).</summary>
        /// <exception cref="FileNotFoundException">Nothing to read; the message says how to install the corpus.</exception>
        /// <exception cref="InvalidDataException">Too little text.</exception>
        public static TextCorpus Load(string? path = null)
        {
            string? found = Locate(path);
            if (found is null)
            {
                string where = path ?? Environment.GetEnvironmentVariable(PathVariable) ?? DebianDirectory;
                throw new FileNotFoundException($"no text corpus found (looked in {where}). {InstallHint}");
            }

            if (File.Exists(found)) return FromBytes(found, File.ReadAllBytes(found));
            using var all = new MemoryStream();
            foreach (string file in TextFiles(found))
            {
                using var stream = File.OpenRead(file);
                stream.CopyTo(all);
            }

            return FromBytes(found, all.ToArray());
        }

        // The directory's text files in name order; fortune's index files (.dat) and its UTF-8 duplicates (.u8) are not text of their own.
        private static IEnumerable<string> TextFiles(string directory) =>
            Directory.EnumerateFiles(directory)
                .Where(f => !f.EndsWith(".dat", StringComparison.Ordinal) && !f.EndsWith(".u8", StringComparison.Ordinal))
                .OrderBy(f => f, StringComparer.Ordinal);
    }
}
