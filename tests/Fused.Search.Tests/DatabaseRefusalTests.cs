using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fused.Search.Storage;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Fused.Search.Tests
{
    /// <summary>Issue 17, item 8: the search refuses a database it did not create and never modifies it; every bad --db is one line.</summary>
    public sealed class DatabaseRefusalTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-db-refusal-" + Guid.NewGuid().ToString("N"));

        public DatabaseRefusalTests()
        {
            Directory.CreateDirectory(_dir);
            SQLitePCL.Batteries_V2.Init();
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string PathOf(string name) => Path.Combine(_dir, name);

        private static void Sql(string path, string sql)
        {
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }

        private static long Pragma(string path, string name)
        {
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"PRAGMA {name};";
            return Convert.ToInt64(cmd.ExecuteScalar());
        }

        /// <summary>Opens <paramref name="path"/> as a search database, expecting a refusal that leaves the directory byte for byte as it was.</summary>
        private string Refused(string path)
        {
            var before = Directory.GetFileSystemEntries(_dir).Where(File.Exists).ToDictionary(f => f, File.ReadAllBytes);
            var e = Assert.Throws<SearchDatabaseException>(() => new SearchDatabase(path).Dispose());
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains(path, e.Message);
            var after = Directory.GetFileSystemEntries(_dir).Where(File.Exists).ToDictionary(f => f, File.ReadAllBytes);
            Assert.Equal(before.Keys.OrderBy(k => k), after.Keys.OrderBy(k => k));
            foreach (var (f, bytes) in before) Assert.True(bytes.SequenceEqual(after[f]), $"{f} was modified");
            return e.Message;
        }

        [Fact]
        public void Another_applications_database_is_refused_and_untouched()
        {
            string path = PathOf("app.db");
            Sql(path, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users(name) VALUES('ada');");
            Assert.Contains("another application", Refused(path));

            string stamped = PathOf("stamped.db");
            Sql(stamped, "PRAGMA application_id=1234; CREATE TABLE meta(key TEXT);");
            Assert.Contains("application_id", Refused(stamped));

            string emptyTables = PathOf("empty.db");
            Sql(emptyTables, "PRAGMA user_version=3;");
            Refused(emptyTables);
        }

        [Fact]
        public void Files_that_are_not_databases_are_refused()
        {
            string text = PathOf("notes.txt");
            File.WriteAllText(text, "not a database\n");
            Assert.Contains("not an SQLite database", Refused(text));

            string random = PathOf("random.bin");
            var bytes = new byte[8192];
            new Random(5).NextBytes(bytes);
            File.WriteAllBytes(random, bytes);
            Refused(random);

            Assert.Contains("directory", Refused(_dir));
            Assert.Contains("cannot be opened", Refused(Path.Combine(_dir, "missing", "x.db")));
        }

        [Fact]
        public void A_database_of_another_schema_or_a_truncated_copy_is_refused()
        {
            string path = PathOf("ours.db");
            using (var db = new SearchDatabase(path))
                db.SetMeta(Enumerable.Range(0, 2000).ToDictionary(i => $"key{i}", i => new string('x', 200)));
            Assert.Equal(SearchDatabase.ApplicationId, Pragma(path, "application_id"));

            string older = PathOf("older.db");
            File.Copy(path, older);
            Sql(older, "PRAGMA user_version=0;");
            Assert.Contains("schema 0", Refused(older));

            string truncated = PathOf("truncated.db");
            var all = File.ReadAllBytes(path);
            File.WriteAllBytes(truncated, all.Take(all.Length / 2).ToArray());
            Refused(truncated);
        }

        [Fact]
        public void Our_database_reopens_and_one_from_before_the_id_is_adopted()
        {
            string path = PathOf("ours.db");
            using (var db = new SearchDatabase(path)) db.SetMeta(new Dictionary<string, string> { ["k"] = "v" });
            using (var db = new SearchDatabase(path)) Assert.Equal("v", db.GetMeta("k"));

            string legacy = PathOf("legacy.db");
            File.Copy(path, legacy);
            // A database from before the id had only the four original tables (the steady state's claims and origins came later).
            Sql(legacy, "DROP TABLE claims; DROP TABLE origins; PRAGMA application_id=0; PRAGMA user_version=0;");
            using (var db = new SearchDatabase(legacy)) Assert.Equal("v", db.GetMeta("k"));
            Assert.Equal(SearchDatabase.ApplicationId, Pragma(legacy, "application_id"));

            string empty = PathOf("zero.db");
            File.WriteAllBytes(empty, Array.Empty<byte>());
            using (new SearchDatabase(empty)) { }
            Assert.Equal(SearchDatabase.ApplicationId, Pragma(empty, "application_id"));
        }
    }
}
