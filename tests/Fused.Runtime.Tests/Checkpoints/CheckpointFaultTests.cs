using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Fused.Catalog;
using Fused.Runtime.Checkpoints;
using Fused.Runtime.Engine;
using Fused.Runtime.Schedules;
using Fused.Runtime.Tests.Engine;
using Xunit;

namespace Fused.Runtime.Tests.Checkpoints
{
    /// <summary>
    /// Issue 17, items 2–6: saves clean up after themselves and follow links; bad targets are refused at once; whatever
    /// Save would refuse is refused at Build or where it is set; Load validates every metadata field and throws only
    /// CheckpointException; the writer/loader round trip holds for zero-size tensors.
    /// </summary>
    public sealed class CheckpointFaultTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "fused-ckpt-faults-" + Guid.NewGuid().ToString("N"));

        public CheckpointFaultTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string PathOf(string name) => Path.Combine(_dir, name);

        private static EngineTestModel Model() => new EngineTestModel().Add("w", 6, 5).Add("b", 5);

        private static FusedOptimizer Build(EngineTestModel model) => model.Builder()
            .Route("all", _ => true, AdamW.Rule, g => g.Set("lr", 1e-2f)).Threads(1).Build();

        private static FusedOptimizer Stepped(EngineTestModel model, int steps = 2)
        {
            var optimizer = Build(model);
            for (int s = 1; s <= steps; s++)
            {
                model.SetGradients(s);
                optimizer.Step();
            }
            return optimizer;
        }

        // ---- item 2: temporaries ----

        [Fact]
        public void Save_and_load_remove_stale_temporaries_of_the_same_target_and_nothing_else()
        {
            string target = PathOf("ckpt.safetensors");
            using var optimizer = Stepped(Model());
            string staleNew = CheckpointPaths.NewTemporary(Path.GetFullPath(target));
            string staleOld = PathOf($".ckpt.safetensors.{Guid.NewGuid():N}.tmp");     // the naming of earlier versions
            string live = CheckpointPaths.NewTemporary(Path.GetFullPath(target));      // a writer still at work holds a lock
            var keep = new[]
            {
                PathOf($".other.safetensors.{Guid.NewGuid():N}.tmp"),
                CheckpointPaths.NewTemporary(Path.GetFullPath(PathOf("other.safetensors"))),
                PathOf(".ckpt.safetensors.notours.tmp"),
                PathOf("notes.tmp"),
            };
            foreach (var f in keep.Append(staleNew).Append(staleOld).Append(live)) File.WriteAllText(f, "partial");
            using (new FileStream(live, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                optimizer.Save(target);
                Assert.False(File.Exists(staleNew));
                Assert.False(File.Exists(staleOld));
                Assert.True(File.Exists(live));
            }
            foreach (var f in keep) Assert.True(File.Exists(f), f);

            File.WriteAllText(staleOld, "partial");
            optimizer.Load(target);
            Assert.False(File.Exists(staleOld));
            Assert.False(File.Exists(live));
            foreach (var f in keep) Assert.True(File.Exists(f), f);
        }

        [Fact]
        public void Temporary_names_are_short_so_a_255_byte_file_name_saves()
        {
            string name = new string('c', 240) + ".safetensors"; // 252 bytes
            using var optimizer = Stepped(Model());
            optimizer.Save(PathOf(name));
            optimizer.Load(PathOf(name));
            Assert.Single(Directory.GetFiles(_dir));
            Assert.True(Path.GetFileName(CheckpointPaths.NewTemporary(PathOf(name))).Length <= 40);
        }

        // ---- item 6: odd targets ----

        [Fact]
        public void Saving_through_a_symlink_replaces_the_file_it_points_to()
        {
            var model = Model();
            using var optimizer = Stepped(model);
            string target = PathOf("ckpt-1.safetensors"), link = PathOf("latest");
            optimizer.Save(target);
            File.CreateSymbolicLink(link, target);
            model.SetGradients(3);
            optimizer.Step();
            optimizer.Save(link);
            Assert.NotNull(new FileInfo(link).LinkTarget);
            Assert.Equal("3", SafeTensorsFile.Load(target).Metadata["fused.optimizer.step"]);
            Assert.Equal(2, Directory.GetFileSystemEntries(_dir).Length);
        }

        [Fact]
        public void Bad_targets_are_a_CheckpointException_at_once()
        {
            using var optimizer = Stepped(Model());
            Assert.Throws<CheckpointException>(() => optimizer.Save(""));
            Assert.Throws<CheckpointException>(() => optimizer.Load(""));
            Assert.Throws<CheckpointException>(() => optimizer.Save(_dir));
            Assert.Throws<CheckpointException>(() => optimizer.Load(_dir));
            Assert.Throws<CheckpointException>(() => optimizer.Load("/dev/null"));
            Assert.Throws<CheckpointException>(() => optimizer.Load(PathOf("absent.safetensors")));
            if (!OperatingSystem.IsLinux()) return;

            string fifo = PathOf("fifo");
            using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
            var load = Task.Run(() => Assert.Throws<CheckpointException>(() => optimizer.Load(fifo)));
            Assert.True(load.Wait(TimeSpan.FromSeconds(20)), "Load of a FIFO blocked");
            Assert.Contains("FIFO", load.Result.Message);
            var save = Task.Run(() => Assert.Throws<CheckpointException>(() => optimizer.Save(fifo)));
            Assert.True(save.Wait(TimeSpan.FromSeconds(20)), "Save to a FIFO blocked");
            Assert.Contains("FIFO", save.Result.Message);
            Assert.Single(Directory.GetFileSystemEntries(_dir)); // the FIFO is still there, nothing else was written
        }

        // ---- item 3: what Save would refuse is refused at Build or where it is set ----

        [Theory]
        [InlineData("x", "x.m", StatePrecision.Float32)]
        [InlineData("x", "x.v", StatePrecision.BFloat16)]
        [InlineData("x", "x.m.absmax", StatePrecision.Int8Blockwise)]
        public void Parameter_names_that_collide_with_state_names_are_refused_at_Build(string first, string second, StatePrecision precision)
        {
            var builder = new OptimizerBuilder()
                .AddParameter(first, new[] { 4 }, new float[4], new float[4])
                .AddParameter(second, new[] { 4 }, new float[4], new float[4])
                .Route("all", _ => true, AdamW.Rule, g => g.State(precision));
            var e = Assert.Throws<OptimizerConfigurationException>(() => builder.Build());
            Assert.Contains($"'{second}'", e.Message);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(2)]
        public void Names_a_checkpoint_cannot_hold_are_refused_when_added(int which)
        {
            // Built here: test-case serialisation would replace lone surrogates with U+FFFD.
            string name = which switch { 0 => "__metadata__", 1 => "a" + (char)0xD800 + "b", _ => "tail" + (char)0xDC00 };
            Assert.Throws<OptimizerConfigurationException>(() => new OptimizerBuilder().AddParameter(name, new[] { 4 }, new float[4], new float[4]));
            Assert.Throws<OptimizerConfigurationException>(() => new OptimizerBuilder().Route(name, _ => true, AdamW.Rule));
        }

        [Fact]
        public void A_valid_surrogate_pair_name_saves_and_loads()
        {
            var model = new EngineTestModel().Add("emb\ud83d\ude00", 4, 3);
            using var optimizer = Stepped(model, 1);
            optimizer.Save(PathOf("pair.safetensors"));
            optimizer.Load(PathOf("pair.safetensors"));
        }

        [Theory]
        [InlineData(float.NaN)]
        [InlineData(float.PositiveInfinity)]
        [InlineData(float.NegativeInfinity)]
        public void Non_finite_hyperparameters_are_refused_where_they_are_set(float value)
        {
            var model = Model();
            Assert.Throws<OptimizerConfigurationException>(() => model.Builder().Route("all", _ => true, AdamW.Rule, g => g.Set("lr", value)));
            Assert.Throws<OptimizerConfigurationException>(() => model.Builder().Route("all", _ => true, AdamW.Rule,
                g => g.Hyperparameters(AdamW.Rule.DefaultHyperparameters().Select((v, i) => i == 0 ? value : v).ToArray())));
        }

        private sealed class Blowup : ISchedule
        {
            public double ValueAt(long step) => step >= 3 ? 1e39 : 1e-2; // above the float range from step 3
        }

        [Fact]
        public void A_schedule_that_leaves_the_float_range_stops_the_step_before_any_write_and_the_run_still_saves()
        {
            var model = Model();
            using var optimizer = model.Builder()
                .Route("all", _ => true, AdamW.Rule, g => g.Set("lr", 1e-2f).Schedule("lr", new Blowup())).Threads(1).Build();
            for (int s = 1; s <= 2; s++) { model.SetGradients(s); optimizer.Step(); }
            var before = EngineTestModel.Snapshot(model, optimizer);
            model.SetGradients(3);
            var e = Assert.Throws<OptimizerStepException>(() => optimizer.Step());
            Assert.Contains("lr", e.Message);
            Assert.Equal("all", e.Group);
            Assert.Equal(EngineTestModel.Bits(before), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));
            optimizer.Save(PathOf("after.safetensors"));
            optimizer.Load(PathOf("after.safetensors"));
        }

        // ---- item 4: metadata validated strictly ----

        /// <summary>Rewrites a checkpoint with edited metadata and a valid checksum (as a careless tool would).</summary>
        private static void Rewrite(string path, Action<Dictionary<string, string>> edit)
        {
            var file = SafeTensorsFile.Load(path);
            var meta = file.Metadata.Where(p => p.Key != "fused.sha256").ToDictionary(p => p.Key, p => p.Value);
            edit(meta);
            var writer = new SafeTensorsWriter();
            foreach (var t in file.Tensors) writer.Add(t.Name, t.DType, t.Shape.ToArray(), t.Data);
            foreach (var (k, v) in meta) writer.AddMetadata(k, v);
            writer.Write(path);
        }

        public static TheoryData<string, string?, string> BadMetadata() => new()
        {
            { "fused.optimizer.step", " 3", "step" },
            { "fused.optimizer.step", "abc", "step" },
            { "fused.optimizer.step", "-1", "step" },
            { "fused.optimizer.step", "3.0", "step" },
            { "fused.optimizer.step", "03", "step" },
            { "fused.optimizer.step", "99999999999999999999", "step" },
            { "fused.optimizer.step", null, "step" },
            { "fused.optimizer.skipped_steps", "x", "skipped_steps" },
            { "fused.optimizer.seed", "", "seed" },
            { "fused.optimizer.schema_version", "", "schema_version" },
            { "format", "", "format" },
            { "fused.optimizer.int8_block_size", "", "int8_block_size" },
            { "fused.optimizer.parameters", "[{\"name\":null,\"shape\":[6,5],\"group\":\"all\"},{\"name\":\"b\",\"shape\":[5],\"group\":\"all\"}]", "name" },
            { "fused.optimizer.parameters", "[{\"name\":\"w\",\"shape\":[6,5],\"group\":\"all\"},{\"name\":\"w\",\"shape\":[6,5],\"group\":\"all\"},{\"name\":\"b\",\"shape\":[5],\"group\":\"all\"}]", "twice" },
            { "fused.optimizer.parameters", "{}", "not an array" },
            { "fused.optimizer.parameters", "[1,2]", "not an object" },
            { "fused.optimizer.parameters", "[{\"name\":\"w\",\"shape\":[\"6\",5],\"group\":\"all\"},{\"name\":\"b\",\"shape\":[5],\"group\":null}]", "shape" },
            { "fused.optimizer.groups", "[{\"name\":null}]", "name" },
            { "fused.optimizer.groups", "not json", "malformed" },
        };

        [Theory]
        [MemberData(nameof(BadMetadata))]
        public void Invalid_metadata_is_a_CheckpointException_and_the_optimizer_is_untouched(string key, string? value, string named)
        {
            var model = Model();
            using var optimizer = Stepped(model, 3);
            string path = PathOf("edited.safetensors");
            optimizer.Save(path);
            Rewrite(path, meta =>
            {
                if (value == null) meta.Remove(key);
                else meta[key] = value;
            });
            model.SetGradients(4);
            optimizer.Step();
            var before = EngineTestModel.Snapshot(model, optimizer);
            var e = Assert.Throws<CheckpointException>(() => optimizer.Load(path));
            Assert.Contains(named, e.Message);
            Assert.Equal(EngineTestModel.Bits(before), EngineTestModel.Bits(EngineTestModel.Snapshot(model, optimizer)));
        }

        [Fact]
        public void Duplicate_groups_in_the_metadata_are_a_CheckpointException()
        {
            var model = Model();
            using var optimizer = Stepped(model);
            string path = PathOf("groups.safetensors");
            optimizer.Save(path);
            Rewrite(path, meta =>
            {
                string groups = meta["fused.optimizer.groups"];
                string inner = groups.Substring(1, groups.Length - 2);
                meta["fused.optimizer.groups"] = $"[{inner},{inner}]";
            });
            Assert.Contains("twice", Assert.Throws<CheckpointException>(() => optimizer.Load(path)).Message);
        }

        // ---- item 5: zero-size tensors ----

        [Theory]
        [InlineData(15)]
        [InlineData(16)]
        [InlineData(40)]
        public void Files_with_many_zero_size_tensors_round_trip(int zeroSize)
        {
            var writer = new SafeTensorsWriter();
            var rnd = new Random(zeroSize);
            for (int i = 0; i < zeroSize; i++)
            {
                writer.Add($"empty{i}", new long[] { 0, i }, ReadOnlyMemory<float>.Empty);
                if (i % 7 == 3) writer.Add($"full{i}", new long[] { 3 }, new float[] { i, rnd.Next(), -i });
            }
            string path = PathOf("zeros.safetensors");
            writer.Write(path);
            var file = SafeTensorsFile.Load(path);
            Assert.Equal(zeroSize + Enumerable.Range(0, zeroSize).Count(i => i % 7 == 3), file.Tensors.Count);
            Assert.Equal(new long[] { 0, 9 }, file["empty9"].Shape);
        }
    }
}
