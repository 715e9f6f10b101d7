using System;
using System.IO;
using System.Text;

namespace Fused.Testing
{
    /// <summary>
    /// Text snapshots: <c>{directory}/{name}.verified.cs</c> is the reviewed text. On a mismatch the actual text goes to
    /// <c>{name}.received.cs</c> and the check fails with a line diff; with the environment variable
    /// <c>FUSED_ACCEPT_SNAPSHOTS=1</c> the verified file is written instead. Line endings and a BOM never matter.
    /// </summary>
    public static class Snapshot
    {
        /// <summary>The environment variable that accepts received output as verified: <c>FUSED_ACCEPT_SNAPSHOTS=1</c>.</summary>
        public const string AcceptVariable = "FUSED_ACCEPT_SNAPSHOTS";

        /// <summary>How many differing lines a failure shows.</summary>
        public const int MaxDiffLines = 40;

        /// <summary>Whether <see cref="AcceptVariable"/> is set to 1 in this process.</summary>
        public static bool Accepting => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

        /// <summary>Compares <paramref name="actual"/> with <c>{name}.verified.cs</c> in <paramref name="directory"/>, accepting when <see cref="Accepting"/>.</summary>
        /// <exception cref="FusedAssertionException">No verified file, or it differs.</exception>
        public static void Match(string actual, string name, string directory) => Match(actual, name, directory, Accepting);

        /// <summary>The comparison with the mode explicit: <paramref name="accept"/> overwrites the verified file.</summary>
        /// <exception cref="FusedAssertionException">Not accepting, and no verified file exists or it differs.</exception>
        public static void Match(string actual, string name, string directory, bool accept)
        {
            if (actual == null) throw new ArgumentNullException(nameof(actual));
            string normalized = Normalize(actual);
            string verifiedPath = Path.Combine(directory, name + ".verified.cs");
            string receivedPath = Path.Combine(directory, name + ".received.cs");
            Directory.CreateDirectory(directory);

            if (accept)
            {
                File.WriteAllText(verifiedPath, normalized, new UTF8Encoding(false));
                if (File.Exists(receivedPath)) File.Delete(receivedPath);
                return;
            }
            if (!File.Exists(verifiedPath))
            {
                File.WriteAllText(receivedPath, normalized, new UTF8Encoding(false));
                throw new FusedAssertionException(
                    $"Snapshot '{name}' has no verified file. The output was written to {receivedPath}; " +
                    $"review it and rename it to {Path.GetFileName(verifiedPath)}, or run the tests with {AcceptVariable}=1.");
            }
            string expected = Normalize(File.ReadAllText(verifiedPath));
            if (expected == normalized)
            {
                if (File.Exists(receivedPath)) File.Delete(receivedPath);
                return;
            }
            File.WriteAllText(receivedPath, normalized, new UTF8Encoding(false));
            throw new FusedAssertionException(
                $"Snapshot '{name}' differs from {verifiedPath} (received: {receivedPath}; accept with {AcceptVariable}=1).\n" +
                LineDiff.Render(expected, normalized, MaxDiffLines));
        }

        /// <summary>LF line endings, no BOM, exactly one final newline.</summary>
        public static string Normalize(string text) =>
            text.TrimStart('\uFEFF').Replace("\r\n", "\n").Replace('\r', '\n').TrimEnd('\n') + "\n";
    }
}
