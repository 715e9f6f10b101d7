using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.Data.Sqlite;

namespace Fused.Search.Storage
{
    /// <summary>A program in the search's history: where it came from, what it is, how it scored.</summary>
    public sealed record ProgramRecord(long Id, long Generation, long? Parent, string Mutation, string FunctionalHash,
        string StructuralHash, string Ir, double Fitness, bool Equivalent);

    /// <summary>
    /// A steady-state child: its program id (assigned when claimed), parent, mutation and the seed its mutation stream
    /// was made from (so <c>Mutate(parent, new SearchRandom(seed))</c> replays it), hashes and IR, and the worker holding
    /// its lease (stored with the program as the worker that evaluated it).
    /// </summary>
    public sealed record PendingChild(long Id, long? Parent, string Mutation, string Seed, string FunctionalHash, string StructuralHash, string Ir,
        string Owner);

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

        /// <summary>The tables of a database from before the application id was written (steady state's claims and origins came later).</summary>
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
CREATE INDEX IF NOT EXISTS programs_shash ON programs(shash);
CREATE TABLE IF NOT EXISTS claims(
  fhash TEXT PRIMARY KEY, id INTEGER NOT NULL, parent INTEGER, mutation TEXT NOT NULL, seed TEXT NOT NULL,
  shash TEXT NOT NULL, ir TEXT NOT NULL, owner TEXT NOT NULL, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS origins(program INTEGER PRIMARY KEY, seed TEXT NOT NULL, worker TEXT NOT NULL);");
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

        /// <summary>The meta entries whose key starts with <paramref name="prefix"/>, the prefix taken off, in key order.</summary>
        public List<KeyValuePair<string, string>> MetaWithPrefix(string prefix)
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT key, value FROM meta WHERE substr(key, 1, length($p)) = $p ORDER BY key", ("$p", prefix));
                using var reader = cmd.ExecuteReader();
                var list = new List<KeyValuePair<string, string>>();
                while (reader.Read()) list.Add(new KeyValuePair<string, string>(reader.GetString(0).Substring(prefix.Length), reader.GetString(1)));
                return list;
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

        /// <summary>Writes <paramref name="values"/> only if <paramref name="marker"/> is absent, in one immediate transaction; false if it was present (another process initialised first).</summary>
        public bool SetMetaIfAbsent(string marker, IReadOnlyDictionary<string, string> values)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                if (ReadMeta(tx, marker) != null) return false;
                foreach (var kv in values) WriteMeta(tx, kv.Key, kv.Value);
                tx.Commit();
                return true;
            }
        }

        /// <summary>Returns the integer meta value <paramref name="key"/> and stores it plus one, atomically across processes.</summary>
        public long NextCounter(string key)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                long value = long.Parse(ReadMeta(tx, key) ?? "0", CultureInfo.InvariantCulture);
                WriteMeta(tx, key, (value + 1).ToString(CultureInfo.InvariantCulture));
                tx.Commit();
                return value;
            }
        }

        private string? ReadMeta(SqliteTransaction tx, string key)
        {
            using var cmd = Command("SELECT value FROM meta WHERE key = $k", ("$k", key));
            cmd.Transaction = tx;
            return cmd.ExecuteScalar() as string;
        }

        // ---- steady state: children being evaluated, under leases ----

        /// <summary>What happened to a child offered with <see cref="ClaimChild"/>.</summary>
        public enum ChildClaim
        {
            /// <summary>The caller holds the lease and evaluates it.</summary>
            Claimed,
            /// <summary>Its functional hash was already scored: admitted at once with that score (equivalent).</summary>
            Admitted,
            /// <summary>Another worker holds an unexpired lease on the same functional hash: dropped.</summary>
            InFlight,
        }

        /// <summary>
        /// Offers a child in one immediate transaction (so two processes never both evaluate one functional hash): it gets
        /// the next program id (unless it has a reserved one); if its hash is scored it is admitted as equivalent (<paramref name="populationSize"/>: the
        /// oldest retire); if another worker's lease on the hash is live it is dropped; else the caller claims it until
        /// now + <paramref name="lease"/>. Returns the outcome and the child with its id.
        /// </summary>
        public (ChildClaim outcome, PendingChild child) ClaimChild(PendingChild child, TimeSpan lease, int populationSize, Func<string, bool> isStale)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                using (var read = Command("SELECT owner, until FROM claims WHERE fhash = $h", ("$h", child.FunctionalHash)))
                {
                    read.Transaction = tx;
                    using var r = read.ExecuteReader();
                    if (r.Read() && r.GetInt64(1) > Now() && r.GetString(0) != child.Owner && !isStale(r.GetString(0))) return (ChildClaim.InFlight, child);
                }
                long id = child.Id;
                if (id <= 0) // not reserved (the warm start's is)
                {
                    id = long.Parse(ReadMeta(tx, "next_id") ?? "1", CultureInfo.InvariantCulture);
                    WriteMeta(tx, "next_id", (id + 1).ToString(CultureInfo.InvariantCulture));
                    child = child with { Id = id };
                }
                double? known = null;
                using (var read = Command("SELECT fitness FROM evaluations WHERE fhash = $h", ("$h", child.FunctionalHash)))
                {
                    read.Transaction = tx;
                    if (read.ExecuteScalar() is double f) known = f;
                }
                if (known.HasValue)
                {
                    Admit(tx, child, known.Value, equivalent: true, populationSize);
                    tx.Commit();
                    return (ChildClaim.Admitted, child);
                }
                using (var cmd = Command(@"INSERT INTO claims(fhash, id, parent, mutation, seed, shash, ir, owner, until) VALUES($h, $id, $p, $m, $seed, $s, $ir, $o, $u)
ON CONFLICT(fhash) DO UPDATE SET id = excluded.id, parent = excluded.parent, mutation = excluded.mutation, seed = excluded.seed, ir = excluded.ir, owner = excluded.owner, until = excluded.until",
                    ("$h", child.FunctionalHash), ("$id", id), ("$p", (object?)child.Parent ?? DBNull.Value), ("$m", child.Mutation), ("$seed", child.Seed),
                    ("$s", child.StructuralHash), ("$ir", child.Ir), ("$o", child.Owner), ("$u", Now() + (long)lease.TotalMilliseconds)))
                { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
                tx.Commit();
                return (ChildClaim.Claimed, child);
            }
        }

        /// <summary>Takes over one claim whose lease expired (or whose holder <paramref name="isStale"/> declares dead): a killed worker's child is evaluated by another.</summary>
        public PendingChild? TakeAbandonedClaim(string owner, TimeSpan lease, Func<string, bool> isStale)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                PendingChild? found = null;
                using (var read = Command("SELECT fhash, id, parent, mutation, seed, shash, ir, owner, until FROM claims WHERE owner <> $o ORDER BY until", ("$o", owner)))
                {
                    read.Transaction = tx;
                    using var r = read.ExecuteReader();
                    while (r.Read() && found == null)
                        if (r.GetInt64(8) <= Now() || isStale(r.GetString(7)))
                            found = new PendingChild(r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(0), r.GetString(5), r.GetString(6), owner);
                }
                if (found == null) return null;
                using (var cmd = Command("UPDATE claims SET owner = $o, until = $u WHERE fhash = $h", ("$o", owner), ("$u", Now() + (long)lease.TotalMilliseconds), ("$h", found.FunctionalHash)))
                { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
                tx.Commit();
                return found;
            }
        }

        /// <summary>Extends the caller's lease on a child it is evaluating; false if it no longer holds it.</summary>
        public bool RenewChildClaim(string functionalHash, string owner, TimeSpan lease)
        {
            lock (_gate)
            {
                using var cmd = Command("UPDATE claims SET until = $u WHERE fhash = $h AND owner = $o",
                    ("$u", Now() + (long)lease.TotalMilliseconds), ("$h", functionalHash), ("$o", owner));
                return cmd.ExecuteNonQuery() == 1;
            }
        }

        /// <summary>Gives back the leases <paramref name="owner"/> holds (a stopped worker): any worker may retake them at once.</summary>
        public void ReleaseChildClaims(string owner)
        {
            lock (_gate)
            {
                using var cmd = Command("UPDATE claims SET until = 0 WHERE owner = $o", ("$o", owner));
                cmd.ExecuteNonQuery();
            }
        }

        /// <summary>Children under a lease now (held or abandoned).</summary>
        public List<PendingChild> Claims()
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT fhash, id, parent, mutation, seed, shash, ir, owner FROM claims ORDER BY id");
                using var r = cmd.ExecuteReader();
                var list = new List<PendingChild>();
                while (r.Read())
                    list.Add(new PendingChild(r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(0), r.GetString(5), r.GetString(6), r.GetString(7)));
                return list;
            }
        }

        /// <summary>
        /// Ends a claimed child's evaluation in one transaction: stores the evaluation (unless another worker that retook an
        /// expired lease stored it first — then its score is used), admits the program as the youngest member, retires the
        /// oldest beyond <paramref name="populationSize"/>, and drops the claim. Returns the admitted program.
        /// </summary>
        public ProgramRecord CompleteChild(PendingChild child, EvaluationRecord evaluation, int populationSize)
        {
            lock (_gate)
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                double fitness = evaluation.Fitness;
                bool stored;
                using (var read = Command("SELECT fitness FROM evaluations WHERE fhash = $h", ("$h", child.FunctionalHash)))
                {
                    read.Transaction = tx;
                    var existing = read.ExecuteScalar();
                    stored = existing is double;
                    if (existing is double f) fitness = f;
                }
                if (!stored) InsertEvaluation(tx, evaluation);
                var record = Admit(tx, child, fitness, equivalent: stored, populationSize);
                using (var cmd = Command("DELETE FROM claims WHERE fhash = $h", ("$h", child.FunctionalHash))) { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
                tx.Commit();
                return record;
            }
        }

        /// <summary>Inserts the program with its origin, appends it to the population, retires the oldest, updates the counters.</summary>
        private ProgramRecord Admit(SqliteTransaction tx, PendingChild child, double fitness, bool equivalent, int populationSize)
        {
            long count = long.Parse(ReadMeta(tx, "children") ?? "0", CultureInfo.InvariantCulture);
            long generation = count / Math.Max(1, populationSize); // nominal: one generation per population's worth of children
            var record = new ProgramRecord(child.Id, generation, child.Parent, child.Mutation, child.FunctionalHash, child.StructuralHash, child.Ir, fitness, equivalent);
            // One member per functional hash: an equivalent copy of a member would take a slot, win tournaments twice and set
            // the racing bar (run 7's top 5 were five copies of one program). It is kept in the history, not in the population.
            InsertProgram(tx, record, InPopulation(tx, child.FunctionalHash) ? null : AppendPosition(tx));
            using (var cmd = Command("INSERT INTO origins(program, seed, worker) VALUES($p, $s, $w)", ("$p", child.Id), ("$s", child.Seed), ("$w", child.Owner)))
            { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
            using (var cmd = Command("DELETE FROM population WHERE position IN (SELECT position FROM population ORDER BY position LIMIT MAX(0, (SELECT COUNT(*) FROM population) - $n))", ("$n", populationSize)))
            { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
            WriteMeta(tx, "children", (count + 1).ToString(CultureInfo.InvariantCulture));
            WriteMeta(tx, "generation", ((count + 1) / Math.Max(1, populationSize)).ToString(CultureInfo.InvariantCulture));
            if (equivalent) WriteMeta(tx, "equivalent", (long.Parse(ReadMeta(tx, "equivalent") ?? "0", CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture));
            if (fitness > double.Parse(ReadMeta(tx, "best_fitness") ?? "-Infinity", CultureInfo.InvariantCulture))
                WriteMeta(tx, "best_fitness", Format(fitness));
            return record;
        }

        /// <summary>The seed a program was mutated with and the worker that evaluated it (steady state), or null.</summary>
        public (string seed, string worker)? Origin(long program)
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT seed, worker FROM origins WHERE program = $p", ("$p", program));
                using var r = cmd.ExecuteReader();
                return r.Read() ? (r.GetString(0), r.GetString(1)) : null;
            }
        }

        private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

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
            lock (_gate) InsertEvaluation(null, e);
        }

        private void InsertEvaluation(SqliteTransaction? tx, EvaluationRecord e)
        {
            using var cmd = Command(@"INSERT INTO evaluations(fhash, shash, fitness, stages_reached, stage_scores, task_losses, seconds, generation, ir)
VALUES($f, $s, $fit, $st, $ss, $tl, $sec, $g, $ir)",
                ("$f", e.FunctionalHash), ("$s", e.StructuralHash), ("$fit", e.Fitness), ("$st", e.StagesReached),
                ("$ss", e.StageScores), ("$tl", e.TaskLosses), ("$sec", e.Seconds), ("$g", e.Generation), ("$ir", e.Ir));
            cmd.Transaction = tx;
            cmd.ExecuteNonQuery();
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
                foreach (var p in programs) InsertProgram(tx, p, AppendPosition(tx));
                if (removeOldest > 0)
                    using (var cmd = Command("DELETE FROM population WHERE position IN (SELECT position FROM population ORDER BY position LIMIT $n)", ("$n", removeOldest)))
                    { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
                foreach (var kv in meta) WriteMeta(tx, kv.Key, kv.Value);
                tx.Commit();
            }
        }

        private long AppendPosition(SqliteTransaction tx)
        {
            using var cmd = Command("SELECT COALESCE(MAX(position), -1) + 1 FROM population");
            cmd.Transaction = tx;
            return (long)cmd.ExecuteScalar()!;
        }

        private bool InPopulation(SqliteTransaction tx, string functionalHash)
        {
            using var cmd = Command("SELECT EXISTS(SELECT 1 FROM population q JOIN programs p ON p.id = q.program WHERE p.fhash = $h)", ("$h", functionalHash));
            cmd.Transaction = tx;
            return (long)cmd.ExecuteScalar()! != 0;
        }

        /// <summary>Adds a program to the history and, at <paramref name="position"/> (unless null), to the population.</summary>
        private void InsertProgram(SqliteTransaction tx, ProgramRecord p, long? position)
        {
            using (var cmd = Command(@"INSERT INTO programs(id, generation, parent, mutation, fhash, shash, ir, fitness, equivalent)
VALUES($id, $g, $p, $m, $f, $s, $ir, $fit, $eq)",
                ("$id", p.Id), ("$g", p.Generation), ("$p", (object?)p.Parent ?? DBNull.Value), ("$m", p.Mutation),
                ("$f", p.FunctionalHash), ("$s", p.StructuralHash), ("$ir", p.Ir), ("$fit", p.Fitness), ("$eq", p.Equivalent ? 1 : 0)))
            { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
            if (position is { } at)
                using (var cmd = Command("INSERT INTO population(position, program) VALUES($pos, $id)", ("$pos", at), ("$id", p.Id)))
                { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
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
        public ProgramRecord? Best() => TopPrograms(1).FirstOrDefault();

        /// <summary>The <paramref name="count"/> fittest programs ever admitted (fitness, then the earliest).</summary>
        public List<ProgramRecord> TopPrograms(int count)
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT id, generation, parent, mutation, fhash, shash, ir, fitness, equivalent FROM programs ORDER BY fitness DESC, id ASC LIMIT $n", ("$n", count));
                return ReadPrograms(cmd);
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
