using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Builds each (source, build options) once per context and keeps device binaries on disk so later
    /// processes skip the compiler. Thread-safe. Disk entries are keyed by SHA-256 of the source, options,
    /// device name and version, driver version and platform version; they are written atomically and
    /// validated (magic, key, length, payload hash, driver acceptance) when loaded. Any invalid entry falls
    /// back to a source build and is replaced.
    /// </summary>
    public sealed class ProgramCache : IDisposable
    {
        /// <summary>Environment variable overriding the cache directory; "off" disables the disk cache.</summary>
        public const string DirectoryVariable = "FUSED_OPENCL_CACHE";

        private const string FileExtension = ".clbin";
        private const int FormatVersion = 1;
        private static readonly byte[] Magic = Encoding.ASCII.GetBytes("FUSEDCLB");
        private const int HeaderBytes = 8 + 4 + 32 + 8 + 32;

        private readonly ConcurrentDictionary<string, Lazy<Entry>> programs = new ConcurrentDictionary<string, Lazy<Entry>>(StringComparer.Ordinal);
        private long builtCount;
        private long diskLoadCount;
        private long memoryHitCount;
        private long diskRejectedCount;
        private long diskWriteFailureCount;
        private bool disposed;

        /// <summary>Creates a cache for <paramref name="context"/>.</summary>
        /// <param name="context">The context programs are built in.</param>
        /// <param name="diskDirectory">Where binaries are stored; null uses <see cref="DefaultDirectory"/>.</param>
        public ProgramCache(ClContext context, string? diskDirectory = null)
            : this(context, diskDirectory ?? DefaultDirectory, useDisk: true)
        {
        }

        private ProgramCache(ClContext context, string? diskDirectory, bool useDisk)
        {
            ArgumentNullException.ThrowIfNull(context);
            Context = context;
            DiskDirectory = useDisk ? diskDirectory : null;
        }

        /// <summary>A cache that never touches the disk.</summary>
        public static ProgramCache MemoryOnly(ClContext context) => new ProgramCache(context, null, useDisk: false);

        /// <summary>
        /// The default disk directory: <c>$FUSED_OPENCL_CACHE</c> if set (null when it is "off", "none" or "0"),
        /// else <c>$XDG_CACHE_HOME/fused/opencl</c>, else <c>~/.cache/fused/opencl</c>.
        /// </summary>
        public static string? DefaultDirectory
        {
            get
            {
                string? overridden = Environment.GetEnvironmentVariable(DirectoryVariable);
                if (!string.IsNullOrWhiteSpace(overridden))
                {
                    string value = overridden.Trim();
                    bool disabled = value.Equals("off", StringComparison.OrdinalIgnoreCase)
                        || value.Equals("none", StringComparison.OrdinalIgnoreCase)
                        || value == "0";
                    return disabled ? null : value;
                }
                string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                string root = !string.IsNullOrWhiteSpace(xdg)
                    ? xdg
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
                return Path.Combine(root, "fused", "opencl");
            }
        }

        /// <summary>The context programs are built for.</summary>
        public ClContext Context { get; }

        /// <summary>The on-disk binary directory, or null when the disk cache is off.</summary>
        public string? DiskDirectory { get; }

        /// <summary>Programs compiled from source by this cache.</summary>
        public long BuiltCount => Interlocked.Read(ref builtCount);

        /// <summary>Programs loaded from disk by this cache.</summary>
        public long DiskLoadCount => Interlocked.Read(ref diskLoadCount);

        /// <summary>Requests served from memory.</summary>
        public long MemoryHitCount => Interlocked.Read(ref memoryHitCount);

        /// <summary>Disk entries that were present but invalid (corrupt, truncated, stale or rejected by the driver).</summary>
        public long DiskRejectedCount => Interlocked.Read(ref diskRejectedCount);

        /// <summary>Binaries that could not be written (e.g. read-only directory); the program still works.</summary>
        public long DiskWriteFailureCount => Interlocked.Read(ref diskWriteFailureCount);

        /// <summary>The reason the most recent disk entry was rejected, for diagnostics.</summary>
        public string? LastDiskRejection { get; private set; }

        /// <summary>Returns the built program for (<paramref name="source"/>, <paramref name="options"/>).</summary>
        public ClProgram Get(string source, string options = "") => GetOrBuild(source, options).Program;

        /// <summary>
        /// Returns the program for (<paramref name="source"/>, <paramref name="options"/>), building it at most once
        /// per cache, and reports where it came from. Build errors throw <see cref="OpenClException"/> with the log
        /// and are not cached (a later call retries).
        /// </summary>
        public CachedProgram GetOrBuild(string source, string options = "")
        {
            ArgumentNullException.ThrowIfNull(source);
            options ??= string.Empty;
            ObjectDisposedException.ThrowIf(disposed, this);
            long start = Stopwatch.GetTimestamp();
            string key = ComputeKey(source, options);
            var created = new Lazy<Entry>(() => Load(source, options, key), LazyThreadSafetyMode.ExecutionAndPublication);
            Lazy<Entry> lazy = programs.GetOrAdd(key, created);
            Entry entry;
            try
            {
                entry = lazy.Value;
            }
            catch
            {
                programs.TryRemove(new KeyValuePair<string, Lazy<Entry>>(key, lazy));
                throw;
            }

            // The first caller to see an entry reports how it was obtained; everyone after got it from memory.
            ProgramOrigin origin = Interlocked.Exchange(ref entry.Claimed, 1) == 0 ? entry.Origin : ProgramOrigin.Memory;
            if (origin == ProgramOrigin.Memory)
            {
                Interlocked.Increment(ref memoryHitCount);
            }
            return new CachedProgram(entry.Program, origin, key, Stopwatch.GetElapsedTime(start));
        }

        /// <summary>The file a binary for (<paramref name="source"/>, <paramref name="options"/>) is stored in, or null without a disk cache.</summary>
        public string? DiskPath(string source, string options = "")
        {
            return DiskDirectory == null ? null : Path.Combine(DiskDirectory, ComputeKey(source, options ?? string.Empty) + FileExtension);
        }

        /// <summary>Hex SHA-256 identifying (source, options) on this context's device, driver and platform.</summary>
        public string ComputeKey(string source, string options)
        {
            OpenClDevice device = Context.Device;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            // Length-prefixed fields so that no two different field tuples hash the same byte stream.
            foreach (string field in new[]
            {
                "fused-opencl-program-v" + FormatVersion, source, options, device.Name, device.Vendor, device.Version,
                device.DriverVersion, device.Platform.Name, device.Platform.Version,
            })
            {
                byte[] bytes = Encoding.UTF8.GetBytes(field);
                hash.AppendData(BitConverter.GetBytes((long)bytes.Length));
                hash.AppendData(bytes);
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        /// <summary>Releases every program this cache built or loaded.</summary>
        public void Dispose()
        {
            disposed = true;
            foreach (Lazy<Entry> lazy in programs.Values)
            {
                if (lazy.IsValueCreated)
                {
                    lazy.Value.Program.Dispose();
                }
            }
            programs.Clear();
        }

        private Entry Load(string source, string options, string key)
        {
            string? path = DiskDirectory == null ? null : Path.Combine(DiskDirectory, key + FileExtension);
            if (path != null && File.Exists(path))
            {
                ClProgram? fromDisk = TryLoadFromDisk(path, key, options);
                if (fromDisk != null)
                {
                    Interlocked.Increment(ref diskLoadCount);
                    return new Entry(fromDisk, ProgramOrigin.Disk);
                }
            }

            ClProgram built = ClProgram.FromSource(Context, source, options);
            Interlocked.Increment(ref builtCount);
            if (path != null)
            {
                TryStore(path, key, built);
            }
            return new Entry(built, ProgramOrigin.Built);
        }

        private ClProgram? TryLoadFromDisk(string path, string key, string options)
        {
            byte[] file;
            try
            {
                file = File.ReadAllBytes(path);
            }
            catch (IOException failure)
            {
                return Reject(path, "unreadable: " + failure.Message);
            }
            catch (UnauthorizedAccessException failure)
            {
                return Reject(path, "unreadable: " + failure.Message);
            }

            if (file.Length < HeaderBytes)
            {
                return Reject(path, "truncated header (" + file.Length + " bytes)");
            }
            ReadOnlySpan<byte> span = file;
            if (!span.Slice(0, 8).SequenceEqual(Magic))
            {
                return Reject(path, "bad magic");
            }
            if (BitConverter.ToInt32(file, 8) != FormatVersion)
            {
                return Reject(path, "unknown format version");
            }
            if (!span.Slice(12, 32).SequenceEqual(Convert.FromHexString(key)))
            {
                return Reject(path, "key mismatch");
            }
            long payloadLength = BitConverter.ToInt64(file, 44);
            if (payloadLength <= 0 || payloadLength != file.Length - HeaderBytes)
            {
                return Reject(path, "payload length " + payloadLength + " does not match file size " + file.Length);
            }
            ReadOnlySpan<byte> payload = span.Slice(HeaderBytes);
            if (!SHA256.HashData(payload).AsSpan().SequenceEqual(span.Slice(52, 32)))
            {
                return Reject(path, "payload hash mismatch");
            }

            try
            {
                return ClProgram.FromBinary(Context, payload, options);
            }
            catch (OpenClException rejected)
            {
                return Reject(path, "driver rejected the binary: " + rejected.Message);
            }
        }

        private ClProgram? Reject(string path, string reason)
        {
            Interlocked.Increment(ref diskRejectedCount);
            LastDiskRejection = path + ": " + reason;
            return null;
        }

        private void TryStore(string path, string key, ClProgram program)
        {
            string? temporary = null;
            try
            {
                byte[] payload = program.GetBinary();
                if (payload.Length == 0)
                {
                    return;
                }
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                temporary = path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N") + ".tmp";
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    stream.Write(Magic);
                    stream.Write(BitConverter.GetBytes(FormatVersion));
                    stream.Write(Convert.FromHexString(key));
                    stream.Write(BitConverter.GetBytes((long)payload.Length));
                    stream.Write(SHA256.HashData(payload));
                    stream.Write(payload);
                    stream.Flush(flushToDisk: true);
                }
                // Rename is atomic within a directory: readers see the old file or the complete new one.
                File.Move(temporary, path, overwrite: true);
                temporary = null;
            }
            catch (Exception failure) when (failure is IOException || failure is UnauthorizedAccessException || failure is OpenClException)
            {
                Interlocked.Increment(ref diskWriteFailureCount);
            }
            finally
            {
                if (temporary != null)
                {
                    try
                    {
                        File.Delete(temporary);
                    }
                    catch (IOException)
                    {
                    }
                    catch (UnauthorizedAccessException)
                    {
                    }
                }
            }
        }

        private sealed class Entry
        {
            public int Claimed;

            public Entry(ClProgram program, ProgramOrigin origin)
            {
                Program = program;
                Origin = origin;
            }

            public ClProgram Program { get; }

            public ProgramOrigin Origin { get; }
        }
    }
}
