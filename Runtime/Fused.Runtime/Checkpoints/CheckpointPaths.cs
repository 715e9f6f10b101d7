using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Fused.Runtime.Checkpoints
{
    /// <summary>
    /// Where a checkpoint is read from and written to: the target checked before anything blocks or is written (empty,
    /// a directory, a FIFO, a device or a socket is a <see cref="CheckpointException"/> at once), symbolic links resolved
    /// to the file they point to (so <c>latest → ckpt-N</c> stays a link and ckpt-N is replaced), and the temporary files
    /// of atomic writes: <c>.fused-{16 hex of the target's name}-{8 random hex}.tmp</c> beside the target — 36 bytes
    /// whatever the target's name, so any name the file system allows can be written — cleaned up when a save or load of
    /// the same target finds them left behind by a killed writer.
    /// </summary>
    internal static class CheckpointPaths
    {
        private const string Prefix = ".fused-";
        private const string Suffix = ".tmp";

        /// <summary>The file a save of <paramref name="path"/> replaces (symbolic links followed), checked.</summary>
        public static string ResolveTarget(string path)
        {
            string fullPath = FullPath(path);
            try
            {
                if (new FileInfo(fullPath).LinkTarget != null)
                    fullPath = File.ResolveLinkTarget(fullPath, returnFinalTarget: true)!.FullName;
            }
            catch (IOException e)
            {
                throw new CheckpointException(path, $"checkpoint '{path}' is a symbolic link that cannot be followed: {e.Message}", e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new CheckpointException(path, $"checkpoint '{path}' is a symbolic link that cannot be followed: {e.Message}", e);
            }
            RequireRegularOrAbsent(path, fullPath);
            return fullPath;
        }

        /// <summary>Checks a file to load: it must exist and be a regular file (a FIFO would block until a writer came).</summary>
        public static string CheckSource(string path)
        {
            string fullPath = FullPath(path);
            RequireRegularOrAbsent(path, fullPath);
            return fullPath;
        }

        /// <summary>A fresh temporary name for writing <paramref name="target"/> (a full path).</summary>
        public static string NewTemporary(string target)
            => Path.Combine(Path.GetDirectoryName(target) ?? ".", $"{Prefix}{TargetKey(target)}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}{Suffix}");

        /// <summary>
        /// Removes temporaries of writes of <paramref name="target"/> that no live writer holds: this naming, and the
        /// <c>.{name}.{32 hex}.tmp</c> names of earlier versions. Never anything else; a writer in progress keeps its file
        /// (writers hold an exclusive lock on it). Best effort: failures are ignored.
        /// </summary>
        public static void RemoveStaleTemporaries(string target)
        {
            string directory = Path.GetDirectoryName(target) ?? ".";
            string name = Path.GetFileName(target);
            string key = TargetKey(target);
            try
            {
                foreach (string file in Directory.EnumerateFiles(directory, ".*" + Suffix))
                {
                    string candidate = Path.GetFileName(file);
                    if (!IsOurs(candidate, name, key)) continue;
                    try
                    {
                        using var held = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                        File.Delete(file);
                    }
                    catch (IOException) { }
                    catch (UnauthorizedAccessException) { }
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        internal static bool IsOurs(string candidate, string targetName, string key)
        {
            if (candidate.Length == Prefix.Length + 16 + 1 + 8 + Suffix.Length
                && candidate.StartsWith(Prefix + key + "-", StringComparison.Ordinal) && candidate.EndsWith(Suffix, StringComparison.Ordinal))
                return IsHex(candidate.AsSpan(Prefix.Length + 17, 8));
            // Earlier versions: "." + name + "." + 32 hex + ".tmp".
            string old = "." + targetName + ".";
            return candidate.Length == old.Length + 32 + Suffix.Length && candidate.StartsWith(old, StringComparison.Ordinal)
                && candidate.EndsWith(Suffix, StringComparison.Ordinal) && IsHex(candidate.AsSpan(old.Length, 32));
        }

        /// <summary>16 hex digits of SHA-256 of the target's file name (UTF-8): temporaries of different targets never match.</summary>
        internal static string TargetKey(string target)
            => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFileName(target))), 0, 8);

        private static bool IsHex(ReadOnlySpan<char> text)
        {
            foreach (char c in text)
                if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
            return true;
        }

        private static string FullPath(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            if (path.Length == 0 || string.IsNullOrWhiteSpace(path))
                throw new CheckpointException(path, "checkpoint path is empty");
            string fullPath;
            try
            {
                fullPath = Path.GetFullPath(path);
            }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
            {
                throw new CheckpointException(path, $"checkpoint path '{path}' is not valid: {e.Message}", e);
            }
            if (Directory.Exists(fullPath) || Path.EndsInDirectorySeparator(path))
                throw new CheckpointException(path, $"checkpoint '{path}' is a directory, not a file");
            return fullPath;
        }

        private static void RequireRegularOrAbsent(string path, string fullPath)
        {
            string? kind = FileKind(fullPath);
            if (kind != null && kind != "file")
                throw new CheckpointException(path, $"checkpoint '{path}' is a {kind}, not a regular file");
        }

        // ---- the file's type, without opening it (opening a FIFO blocks) ----

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        private static extern unsafe int Statx(int directoryFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);

        private const int AtFdCwd = -100;
        private const uint StatxType = 1;

        /// <summary>"file", "directory", "FIFO", "character device", "block device", "socket"; null when absent or unknown.</summary>
        private static unsafe string? FileKind(string fullPath)
        {
            if (!OperatingSystem.IsLinux()) return null;
            byte* buffer = stackalloc byte[256];
            try
            {
                if (Statx(AtFdCwd, fullPath, 0, StatxType, buffer) != 0) return null;
            }
            catch (DllNotFoundException) { return null; }
            catch (EntryPointNotFoundException) { return null; }
            int mode = *(ushort*)(buffer + 28) & 0xF000; // stx_mode & S_IFMT
            return mode switch
            {
                0x8000 => "file",
                0x4000 => "directory",
                0x1000 => "FIFO",
                0x2000 => "character device",
                0x6000 => "block device",
                0xC000 => "socket",
                _ => null,
            };
        }
    }
}
