using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Microsoft.Data.Sqlite;

namespace Fused.Search.Storage
{
    /// <summary>A program in the search's history: where it came from, what it is, how it scored.</summary>
    public sealed record ProgramRecord(long Id, long Generation, long? Parent, string Mutation, string FunctionalHash,
        string StructuralHash, string Ir, double Fitness, bool Equivalent);

    /// <summary>One finished evaluation, keyed by the functional hash (equivalent programs share it).</summary>
    public sealed record EvaluationRecord(string FunctionalHash, string StructuralHash, double Fitness, int StagesReached,
        string StageScores, string TaskLosses, double Seconds, long Generation, string Ir);

    /// <summary>
    /// The search's state in SQLite (WAL): evaluations (committed one by one as they finish), every
    /// program ever admitted with its lineage, the population in age order, and meta values (RNG
    /// state, generation counter, options). A generation's population change, RNG state and counters
    /// are one transaction, so a killed search resumes at a generation boundary with every finished
    /// evaluation kept. Thread-safe (one connection behind a lock).
    /// </summary>
    public sealed class SearchDatabase : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly object _gate = new object();

        static SearchDatabase() => SQLitePCL.Batteries_V2.Init();

        /// <summary>PRAGMA application_id of a Fused search database ("FUSD").</summary>
        public const int ApplicationId = 0x46555344;

        /// <summary>PRAGMA user_version: the layout of the tables below.</summary>
        public const int SchemaVersion = 1;

        private static readonly string[] Tables = { "evaluations", "meta", "population", "programs" };

        /// <summary>
        /// Opens the search database at <paramref name="path"/>, creating it when the file is absent or empty. An
        /// existing file must be a database this class created (its application_id, or — from before the id was
        /// written — exactly our tables) at <see cref="SchemaVersion"/>, and pass SQLite's quick check; anything else
        /// (another application's database, a text file, a directory, a truncated copy, an unwritable file) is a
        /// <see cref="SearchDatabaseException"/> with one line saying why, and the file is not modified.
        /// </summary>
        public SearchDatabase(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            Path = path;
            if (path.Length == 0) throw new SearchDatabaseException(path, "the database path is empty");
            if (Directory.Exists(path)) throw new SearchDatabaseException(path, "it is a directory, not a database file");
            bool existing = File.Exists(path) && new FileInfo(path).Length > 0;
            _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            try
            {
                _connection.Open();
                if (existing) CheckExisting(path);
                else
                {
                    // Stamped before anything else is written: a file carrying our id is ours from its first page.
                    Execute($"PRAGMA application_id={ApplicationId};");
                    Execute($"PRAGMA user_version={SchemaVersion};");
                }
                Execute("PRAGMA journal_mode=WAL;");
                Execute("PRAGMA synchronous=NORMAL;"); // WAL + NORMAL survives a killed process (not a power cut)
                Execute("PRAGMA busy_timeout=5000;");
                Execute(@"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations(
  fhash TEXT PRIMARY KEY, shash TEXT NOT NULL, fitness REAL NOT NULL, stages_reached INTEGER NOT NULL,
  stage_scores TEXT NOT NULL, task_losses TEXT NOT NULL, seconds REAL NOT NULL, generation INTEGER NOT NULL, ir TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS programs(
  id INTEGER PRIMARY KEY, generation INTEGER NOT NULL, parent INTEGER, mutation TEXT NOT NULL,
  fhash TEXT NOT NULL, shash TEXT NOT NULL, ir TEXT NOT NULL, fitness REAL NOT NULL, equivalent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS population(position INTEGER PRIMARY KEY, program INTEGER NOT NULL REFERENCES programs(id));
CREATE INDEX IF NOT EXISTS programs_shash ON programs(shash);");
            }
            catch (SqliteException e)
            {
                _connection.Dispose();
                throw new SearchDatabaseException(path, e.SqliteErrorCode switch
                {
                    26 => "it is not an SQLite database", // SQLITE_NOTADB
                    11 => "the database is corrupt or truncated", // SQLITE_CORRUPT
                    8 => "the file is read-only", // SQLITE_READONLY
                    14 => "it cannot be opened (missing directory or no permission)", // SQLITE_CANTOPEN
                    _ => e.Message.TrimEnd('.'),
                }, e);
            }
            catch (SearchDatabaseException)
            {
                _connection.Dispose();
                throw;
            }
        }

        /// <summary>Reads only: refuses a database that is not ours, at another schema, or damaged.</summary>
        private void CheckExisting(string path)
        {
            long id = Scalar("PRAGMA application_id;");
            long version = Scalar("PRAGMA user_version;");
            var tables = new List<string>();
            using (var cmd = Command("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"))
            using (var r = cmd.ExecuteReader())
                while (r.Read()) tables.Add(r.GetString(0));
            bool ours = id == ApplicationId || (id == 0 && version == 0 && tables.Count == Tables.Length && tables.TrueForAll(t => Array.IndexOf(Tables, t) >= 0));
            if (!ours)
                throw new SearchDatabaseException(path, id == 0
                    ? $"it is another application's SQLite database (tables: {(tables.Count == 0 ? "none" : string.Join(", ", tables))}); pass a new file to --db"
                    : $"it is another application's SQLite database (application_id 0x{id:X8}); pass a new file to --db");
            if (id == ApplicationId && version != SchemaVersion)
                throw new SearchDatabaseException(path, $"it was written with search database schema {version}; this build reads schema {SchemaVersion}");
            string check = Scalar<string>("PRAGMA quick_check;") ?? "";
            if (check != "ok") throw new SearchDatabaseException(path, $"the database is damaged: {check}");
            if (id == 0)
            {
                // A search database from before the id was written: ours (exactly our tables), stamp it.
                Execute($"PRAGMA application_id={ApplicationId};");
                Execute($"PRAGMA user_version={SchemaVersion};");
            }
        }

        private long Scalar(string sql) => Convert.ToInt64(Scalar<object>(sql), CultureInfo.InvariantCulture);

        private T? Scalar<T>(string sql) where T : class
        {
            using var cmd = Command(sql);
            return cmd.ExecuteScalar() as T;
        }

        public string Path { get; }

        public void Dispose()
        {
            lock (_gate) _connection.Dispose();
        }

        // ---- meta ----

        public string? GetMeta(string key)
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT value FROM meta WHERE key = $k", ("$k", key));
                return cmd.ExecuteScalar() as string;
            }
        }

        public void SetMeta(IReadOnlyDictionary<string, string> values)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction();
                foreach (var kv in values) WriteMeta(tx, kv.Key, kv.Value);
                tx.Commit();
            }
        }

        private void WriteMeta(SqliteTransaction tx, string key, string value)
        {
            using var cmd = Command("INSERT INTO meta(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$k", key), ("$v", value));
            cmd.Transaction = tx;
            cmd.ExecuteNonQuery();
        }

        // ---- the claim: one running search per database ----

        /// <summary>
        /// Claims the database for the search <paramref name="owner"/> until now + <paramref name="lease"/>, in one
        /// immediate transaction (two processes cannot both win). Refused — returning the holder's description —
        /// while another owner's lease is unexpired and <paramref name="isStale"/> does not declare it dead (a killed
        /// process on this host). Renewing is claiming again.
        /// </summary>
        public string? TryClaim(string owner, TimeSpan lease, Func<string, bool> isStale)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                using (var read = Command("SELECT value FROM meta WHERE key = 'claim'"))
                {
                    read.Transaction = tx;
                    if (read.ExecuteScalar() is string held)
                    {
                        int bar = held.LastIndexOf('|');
                        string holder = held.Substring(0, bar);
                        long until = long.Parse(held.Substring(bar + 1), CultureInfo.InvariantCulture);
                        if (holder != owner && until > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() && !isStale(holder))
                            return $"{holder}, lease until {DateTimeOffset.FromUnixTimeMilliseconds(until).UtcDateTime:HH:mm:ss} UTC";
                    }
                }
                WriteMeta(tx, "claim", owner + "|" + (DateTimeOffset.UtcNow + lease).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
                tx.Commit();
                return null;
            }
        }

        /// <summary>Gives the claim up, if <paramref name="owner"/> holds it.</summary>
        public void ReleaseClaim(string owner)
        {
            lock (_gate)
            {
                using var cmd = Command("DELETE FROM meta WHERE key = 'claim' AND value LIKE $o", ("$o", owner.Replace("%", "_") + "|%"));
                cmd.ExecuteNonQuery();
            }
        }

        // ---- evaluations ----

        public EvaluationRecord? GetEvaluation(string functionalHash)
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT fhash, shash, fitness, stages_reached, stage_scores, task_losses, seconds, generation, ir FROM evaluations WHERE fhash = $h", ("$h", functionalHash));
                using var r = cmd.ExecuteReader();
                return r.Read() ? ReadEvaluation(r) : null;
            }
        }

        /// <summary>Commits one evaluation. A second evaluation of the same hash is a bug and throws.</summary>
        public void InsertEvaluation(EvaluationRecord e)
        {
            lock (_gate)
            {
                using var cmd = Command(@"INSERT INTO evaluations(fhash, shash, fitness, stages_reached, stage_scores, task_losses, seconds, generation, ir)
VALUES($f, $s, $fit, $st, $ss, $tl, $sec, $g, $ir)",
                    ("$f", e.FunctionalHash), ("$s", e.StructuralHash), ("$fit", e.Fitness), ("$st", e.StagesReached),
                    ("$ss", e.StageScores), ("$tl", e.TaskLosses), ("$sec", e.Seconds), ("$g", e.Generation), ("$ir", e.Ir));
                cmd.ExecuteNonQuery();
            }
        }

        /// <summary>Replaces an evaluation's fitness and stage scores (a would-be best confirmed on fresh seeds).</summary>
        public void UpdateEvaluation(EvaluationRecord e)
        {
            lock (_gate)
            {
                using var cmd = Command("UPDATE evaluations SET fitness = $f, stage_scores = $s WHERE fhash = $h",
                    ("$f", e.Fitness), ("$s", e.StageScores), ("$h", e.FunctionalHash));
                if (cmd.ExecuteNonQuery() != 1) throw new InvalidOperationException("no evaluation " + e.FunctionalHash);
            }
        }

        public List<EvaluationRecord> Evaluations()
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT fhash, shash, fitness, stages_reached, stage_scores, task_losses, seconds, generation, ir FROM evaluations ORDER BY fhash");
                using var r = cmd.ExecuteReader();
                var list = new List<EvaluationRecord>();
                while (r.Read()) list.Add(ReadEvaluation(r));
                return list;
            }
        }

        public long EvaluationCount()
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT COUNT(*) FROM evaluations");
                return (long)cmd.ExecuteScalar()!;
            }
        }

        private static EvaluationRecord ReadEvaluation(SqliteDataReader r) => new EvaluationRecord(
            r.GetString(0), r.GetString(1), r.GetDouble(2), r.GetInt32(3), r.GetString(4), r.GetString(5), r.GetDouble(6), r.GetInt64(7), r.GetString(8));

        // ---- programs and population ----

        /// <summary>
        /// Ends a generation atomically: adds its programs (appended to the population as the youngest),
        /// removes the <paramref name="removeOldest"/> oldest members, and writes the meta values.
        /// </summary>
        public void CommitGeneration(IReadOnlyList<ProgramRecord> programs, int removeOldest, IReadOnlyDictionary<string, string> meta)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction();
                long position;
                using (var cmd = Command("SELECT COALESCE(MAX(position), -1) FROM population")) { cmd.Transaction = tx; position = (long)cmd.ExecuteScalar()!; }
                foreach (var p in programs)
                {
                    using (var cmd = Command(@"INSERT INTO programs(id, generation, parent, mutation, fhash, shash, ir, fitness, equivalent)
VALUES($id, $g, $p, $m, $f, $s, $ir, $fit, $eq)",
                        ("$id", p.Id), ("$g", p.Generation), ("$p", (object?)p.Parent ?? DBNull.Value), ("$m", p.Mutation),
                        ("$f", p.FunctionalHash), ("$s", p.StructuralHash), ("$ir", p.Ir), ("$fit", p.Fitness), ("$eq", p.Equivalent ? 1 : 0)))
                    { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
                    using (var cmd = Command("INSERT INTO population(position, program) VALUES($pos, $id)", ("$pos", ++position), ("$id", p.Id)))
                    { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
                }
                if (removeOldest > 0)
                    using (var cmd = Command("DELETE FROM population WHERE position IN (SELECT position FROM population ORDER BY position LIMIT $n)", ("$n", removeOldest)))
                    { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
                foreach (var kv in meta) WriteMeta(tx, kv.Key, kv.Value);
                tx.Commit();
            }
        }

        /// <summary>The population, oldest first.</summary>
        public List<ProgramRecord> Population()
        {
            lock (_gate)
            {
                using var cmd = Command(@"SELECT p.id, p.generation, p.parent, p.mutation, p.fhash, p.shash, p.ir, p.fitness, p.equivalent
FROM population q JOIN programs p ON p.id = q.program ORDER BY q.position");
                return ReadPrograms(cmd);
            }
        }

        public ProgramRecord? GetProgram(long id)
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT id, generation, parent, mutation, fhash, shash, ir, fitness, equivalent FROM programs WHERE id = $id", ("$id", id));
                var list = ReadPrograms(cmd);
                return list.Count > 0 ? list[0] : null;
            }
        }

        public long ProgramCount()
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT COUNT(*) FROM programs");
                return (long)cmd.ExecuteScalar()!;
            }
        }

        /// <summary>The program with the highest fitness ever admitted (earliest on ties).</summary>
        public ProgramRecord? Best()
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT id, generation, parent, mutation, fhash, shash, ir, fitness, equivalent FROM programs ORDER BY fitness DESC, id ASC LIMIT 1");
                var list = ReadPrograms(cmd);
                return list.Count > 0 ? list[0] : null;
            }
        }

        /// <summary>The program and its ancestors, the program first.</summary>
        public List<ProgramRecord> Lineage(long id)
        {
            var chain = new List<ProgramRecord>();
            long? next = id;
            while (next.HasValue && chain.Count < 100000)
            {
                var p = GetProgram(next.Value);
                if (p == null) break;
                chain.Add(p);
                next = p.Parent;
            }
            return chain;
        }

        private static List<ProgramRecord> ReadPrograms(SqliteCommand cmd)
        {
            using var r = cmd.ExecuteReader();
            var list = new List<ProgramRecord>();
            while (r.Read())
                list.Add(new ProgramRecord(r.GetInt64(0), r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.GetString(3),
                    r.GetString(4), r.GetString(5), r.GetString(6), r.GetDouble(7), r.GetInt64(8) != 0));
            return list;
        }

        // ---- plumbing ----

        private void Execute(string sql)
        {
            using var cmd = Command(sql);
            cmd.ExecuteNonQuery();
        }

        private SqliteCommand Command(string sql, params (string name, object value)[] parameters)
        {
            var cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
            return cmd;
        }

        public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>The search database cannot be used: the message says which file and why, in one line.</summary>
    public sealed class SearchDatabaseException : Exception
    {
        public SearchDatabaseException(string path, string reason, Exception? inner = null)
            : base($"search database '{path}': {reason}", inner)
        {
            FilePath = path;
        }

        public string FilePath { get; }
    }
}
