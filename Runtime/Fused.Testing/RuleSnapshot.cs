using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace Fused.Testing
{
    /// <summary>
    /// Snapshot tests of a rule's generated source: runs the Fused generator on the rule's file and compares its output with
    /// <c>_snapshots/{Rule}.verified.cs</c> beside the calling test file (see <see cref="Snapshot"/> for received files,
    /// the diff and <c>FUSED_ACCEPT_SNAPSHOTS=1</c>).
    /// </summary>
    public static class RuleSnapshot
    {
        /// <summary>The folder beside the test file that holds the snapshots.</summary>
        public const string FolderName = "_snapshots";

        /// <summary>
        /// Generates the rule declared in <paramref name="ruleFile"/> (relative paths are relative to the calling test
        /// file's folder) and checks its source against the snapshot named after the rule class.
        /// </summary>
        /// <param name="ruleFile">The rule's .cs file.</param>
        /// <param name="rule">The rule class when the file declares several; null when it declares one.</param>
        /// <param name="references">References to compile against; <see cref="RuleGeneration.DefaultReferences"/> when null.</param>
        /// <param name="testFile">Filled in by the compiler: the calling test's source file.</param>
        /// <exception cref="FusedAssertionException">Generator errors, no verified snapshot yet, or a difference (with a diff).</exception>
        public static void Verify(string ruleFile, string? rule = null, IEnumerable<MetadataReference>? references = null,
            [CallerFilePath] string testFile = "")
        {
            string testDir = Path.GetDirectoryName(testFile) ?? ".";
            string path = Path.IsPathRooted(ruleFile) ? ruleFile : Path.GetFullPath(Path.Combine(testDir, ruleFile));
            if (!File.Exists(path)) throw new FusedAssertionException($"rule file {path} does not exist");
            VerifyIn(Path.Combine(testDir, FolderName), new[] { (path, File.ReadAllText(path)) }, rule, references, Snapshot.Accepting);
        }

        /// <summary>As <see cref="Verify"/>, with the rule's source text given instead of its file.</summary>
        /// <param name="source">The rule's C# source.</param>
        /// <param name="rule">The rule class when the source declares several; null when it declares one.</param>
        /// <param name="references">References to compile against; <see cref="RuleGeneration.DefaultReferences"/> when null.</param>
        /// <param name="testFile">Filled in by the compiler: the calling test's source file.</param>
        /// <exception cref="FusedAssertionException">Generator errors, no verified snapshot yet, or a difference (with a diff).</exception>
        public static void VerifySource(string source, string? rule = null, IEnumerable<MetadataReference>? references = null,
            [CallerFilePath] string testFile = "")
        {
            string testDir = Path.GetDirectoryName(testFile) ?? ".";
            VerifyIn(Path.Combine(testDir, FolderName), new[] { ("Rule.cs", source) }, rule, references, Snapshot.Accepting);
        }

        /// <summary>The check with the snapshot folder and mode explicit (for tools, and to test the helper itself).</summary>
        /// <param name="snapshotDirectory">Where <c>{Rule}.verified.cs</c> lives.</param>
        /// <param name="files">The sources, as (path, text).</param>
        /// <param name="rule">The rule class when the sources declare several; null when they declare one.</param>
        /// <param name="references">References to compile against; <see cref="RuleGeneration.DefaultReferences"/> when null.</param>
        /// <param name="accept">Write the verified file instead of comparing.</param>
        /// <exception cref="FusedAssertionException">Generator errors, no verified snapshot yet, or a difference (with a diff).</exception>
        public static void VerifyIn(string snapshotDirectory, IEnumerable<(string Path, string Text)> files, string? rule,
            IEnumerable<MetadataReference>? references, bool accept)
        {
            var generation = RuleGeneration.Run(files.ToList(), references);
            var (name, text) = rule == null ? generation.Single() : (rule.Substring(rule.LastIndexOf('.') + 1), generation.SourceOf(rule));
            Snapshot.Match(text, name, snapshotDirectory, accept);
        }
    }
}
