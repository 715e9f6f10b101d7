using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using Fused.Runtime.Checkpoints;
using Fused.Runtime.Matrix;

namespace Fused.Runtime.Engine
{
    public sealed partial class FusedOptimizer
    {
        private const string KeyFormat = "format";
        private const string FormatName = "fused.optimizer";
        private const string KeySchema = "fused.optimizer.schema_version";
        private const string KeyStep = "fused.optimizer.step";
        private const string KeySkipped = "fused.optimizer.skipped_steps";
        private const string KeySeed = "fused.optimizer.seed";
        private const string KeyGroups = "fused.optimizer.groups";
        private const string KeyParameters = "fused.optimizer.parameters";
        private const string KeyClip = "fused.optimizer.clip_norm";
        private const string KeySkipNonFinite = "fused.optimizer.skip_non_finite";
        private const string KeyInt8Block = "fused.optimizer.int8_block_size";
        private const string KeyRng = "fused.optimizer.rng";

        /// <summary>Checkpoint tensor (after the parameter's name) saying whether Shampoo's inverse roots were computed (1) or not (0).</summary>
        private const string ShampooHasRootsName = "shampoo.has_roots";

        /// <summary>
        /// Saves the optimizer as a safetensors file: each parameter (the float32 master weights) as <c>"{param}"</c>,
        /// each state as <c>"{param}.{state}"</c> (F32, BF16, or U8 with its absmax scales as <c>"{param}.{state}.absmax"</c>
        /// F32), row and column states as shape-[rows] or [cols] F32, scalar states as shape-[] F32, and <c>__metadata__</c> with the schema version, step, skipped steps,
        /// seed, groups (rule, precision, hyperparameters, schedules and their current values), parameter shapes and
        /// the clipping settings. The write is atomic (see <see cref="SafeTensorsWriter"/>: a symbolic link's target is
        /// replaced, temporaries left by a killed save are removed, a path that is empty, a directory, a FIFO or a device
        /// is a <see cref="CheckpointException"/> at once). Every name and hyperparameter was checked at
        /// <see cref="OptimizerBuilder.Build"/>, so a save fails only for the file system's reasons.
        /// </summary>
        /// <exception cref="InvalidOperationException">Gradients are being accumulated (save between steps).</exception>
        public void Save(string path)
        {
            ThrowIfDisposed();
            if (_accumulated > 0)
                throw new InvalidOperationException($"cannot save while {_accumulated} micro-batch(es) are accumulated: accumulation buffers are not part of checkpoints; save after Step()");
            foreach (var g in _groups) g.SyncToHost(); // engines on a device: parameters and states come back first
            var writer = new SafeTensorsWriter();
            foreach (var p in _parameters)
                writer.Add(p.Name, Shape(p), (ReadOnlyMemory<float>)_parameterMemory[p.Index]);
            foreach (var g in _groups)
            {
                var stateNames = g.ElementStateNames.ToArray();
                var scalarNames = g.ScalarStateNames.ToArray();
                var vectorNames = g.VectorStateNames.ToArray();
                for (int t = 0; t < g.Members.Length; t++)
                {
                    var p = g.Members[t];
                    for (int k = 0; k < stateNames.Length; k++)
                    {
                        string name = $"{p.Name}.{stateNames[k]}";
                        switch (g.Precision)
                        {
                            case StatePrecision.Float32: writer.Add(name, Shape(p), g.Float32State(t, k)); break;
                            case StatePrecision.BFloat16: writer.AddBFloat16(name, Shape(p), g.BFloat16State(t, k)); break;
                            default:
                                writer.AddBytes(name, Shape(p), g.Int8Codes(t, k));
                                var scales = g.Int8Scales(t, k);
                                writer.Add(name + ".absmax", new long[] { scales.Length }, scales);
                                break;
                        }
                    }
                    for (int v = 0; v < vectorNames.Length; v++)
                        writer.Add($"{p.Name}.{vectorNames[v]}", new long[] { g.VectorState(t, v).Length }, g.VectorState(t, v));
                    var scalars = g.Scalars(t).ToArray();
                    for (int j = 0; j < scalarNames.Length; j++)
                        writer.Add($"{p.Name}.{scalarNames[j]}", ReadOnlySpan<long>.Empty, new[] { scalars[j] });
                    if (g.HasShampooState)
                    {
                        // Shampoo's statistics and roots, so a resumed run preconditions exactly as an unbroken one.
                        var (matrices, hasRoots) = g.ShampooState(t);
                        var (rows, cols) = g.MatrixSides(t);
                        for (int m = 0; m < matrices.Length; m++)
                        {
                            long side = m % 2 == 0 ? rows : cols;
                            writer.Add($"{p.Name}.{MatrixPasses.ShampooTensorNames[m]}", new[] { side, side }, matrices[m]);
                        }
                        writer.Add($"{p.Name}.{ShampooHasRootsName}", ReadOnlySpan<long>.Empty, new[] { hasRoots ? 1f : 0f });
                    }
                }
            }
            writer.AddMetadata(KeyFormat, FormatName);
            writer.AddMetadata(KeySchema, CheckpointSchemaVersion.ToString(CultureInfo.InvariantCulture));
            writer.AddMetadata(KeyStep, StepCount.ToString(CultureInfo.InvariantCulture));
            writer.AddMetadata(KeySkipped, SkippedSteps.ToString(CultureInfo.InvariantCulture));
            writer.AddMetadata(KeySeed, Seed.ToString(CultureInfo.InvariantCulture));
            writer.AddMetadata(KeyClip, _clipNorm.ToString("R", CultureInfo.InvariantCulture));
            writer.AddMetadata(KeySkipNonFinite, _skipNonFinite ? "true" : "false");
            writer.AddMetadata(KeyInt8Block, Int8BlockSize.ToString(CultureInfo.InvariantCulture));
            writer.AddMetadata(KeyRng, "bf16 stochastic rounding: CounterRng.NextUInt16(key(seed, step, parameterIndex*64 + ruleBufferIndex), element index), the low or high half of NextUInt32 at element index / 2");
            writer.AddMetadata(KeyParameters, JsonSerializer.Serialize(_parameters.Select(p => new Dictionary<string, object>
            {
                ["name"] = p.Name,
                ["shape"] = p.ShapeArray,
                ["group"] = _groups[_groupOfParameter[p.Index]].Name,
            }).ToArray()));
            writer.AddMetadata(KeyGroups, JsonSerializer.Serialize(_groups.Select(DescribeGroup).ToArray(), MetadataJson));
            writer.Write(path);
        }

        // Scheduled values are informational and may be anything a schedule returns: NaN/Infinity are written as
        // strings rather than failing the save (base values are refused at GroupOptions.Set, so Load never sees them).
        private static readonly JsonSerializerOptions MetadataJson = new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

        private Dictionary<string, object> DescribeGroup(ParameterGroup g)
        {
            var hypers = g.Rule.Hyperparameters;
            var baseValues = new Dictionary<string, float>();
            var schedules = new Dictionary<string, string>();
            var current = new Dictionary<string, float>();
            for (int i = 0; i < hypers.Count; i++)
            {
                baseValues[hypers[i].Name] = g.BaseHypers[i];
                if (g.AbsoluteSchedules[i] != null) schedules[hypers[i].Name] = "absolute:" + g.AbsoluteSchedules[i]!.GetType().Name;
                if (g.FactorSchedules[i] != null) schedules[hypers[i].Name] = "factor:" + g.FactorSchedules[i]!.GetType().Name;
                if (StepCount > 0) current[hypers[i].Name] = HyperparameterAt(g.Name, hypers[i].Name, StepCount);
            }
            return new Dictionary<string, object>
            {
                ["name"] = g.Name,
                ["rule"] = g.Rule.Name,
                ["precision"] = g.Precision.ToString(),
                ["states"] = g.ElementStateNames.ToArray(),
                ["scalar_states"] = g.ScalarStateNames.ToArray(),
                ["row_column_states"] = g.VectorStateNames.ToArray(),
                ["hyperparameters"] = baseValues,
                ["schedules"] = schedules,
                ["schedule_position"] = StepCount,
                ["hyperparameters_at_step"] = current,
                ["parameters"] = g.Members.Select(m => m.Name).ToArray(),
            };
        }

        /// <summary>
        /// Restores the optimizer (parameters, states, step, skipped steps, seed) from a file written by
        /// <see cref="Save"/>. Everything is validated before anything is changed: schema version, parameter names and
        /// shapes, each parameter's group, rule and state precision, tensor names, dtypes and shapes, and (unless
        /// <paramref name="allowHyperparameterChanges"/>) the groups' hyperparameters. Any mismatch, truncation or
        /// corruption is a <see cref="CheckpointException"/> listing the problems; the optimizer is then untouched.
        /// Metadata is read strictly: counts are plain decimal integers, strings non-empty, names unique.
        /// </summary>
        public void Load(string path, bool allowHyperparameterChanges = false)
        {
            ThrowIfDisposed();
            var file = SafeTensorsFile.Load(path);
            var problems = new List<string>();
            var meta = file.Metadata;
            string? Required(string key)
            {
                if (!meta.TryGetValue(key, out var v)) problems.Add($"metadata '{key}' is missing");
                else if (v.Length == 0) problems.Add($"metadata '{key}' is empty");
                else return v;
                return null;
            }
            if (Required(KeyFormat) is { } format && format != FormatName)
                problems.Add($"format is '{format}', expected '{FormatName}'");
            if (Required(KeySchema) is { } schema && schema != CheckpointSchemaVersion.ToString(CultureInfo.InvariantCulture))
                problems.Add($"layout schema version '{schema}'; this build reads version {CheckpointSchemaVersion}");
            if (problems.Count > 0) throw Fail(path, problems);

            // Counts are written as plain decimal digits without leading zeros; anything else is not ours.
            ulong Count(string key, string what, ulong max)
            {
                string? text = Required(key);
                if (text == null) return 0;
                if (!IsPlainInteger(text) || !ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) || value > max)
                {
                    problems.Add($"{what} '{text}' is not an integer from 0 to {max}");
                    return 0;
                }
                return value;
            }
            long step = (long)Count(KeyStep, "step", long.MaxValue);
            long skipped = (long)Count(KeySkipped, "skipped_steps", long.MaxValue);
            ulong seed = Count(KeySeed, "seed", ulong.MaxValue);
            if (Required(KeyInt8Block) is { } blockText && blockText != Int8BlockSize.ToString(CultureInfo.InvariantCulture))
                problems.Add($"8-bit block size '{blockText}', this build uses {Int8BlockSize}");

            try
            {
                if (Required(KeyParameters) is { } parametersText) CheckParameters(parametersText, problems);
                if (Required(KeyGroups) is { } groupsText) CheckGroups(groupsText, allowHyperparameterChanges, problems);
            }
            catch (Exception e) when (e is JsonException || e is InvalidOperationException || e is KeyNotFoundException || e is FormatException
                || e is ArgumentException || e is OverflowException)
            {
                problems.Add($"metadata is malformed: {e.Message}");
            }
            if (problems.Count > 0) throw Fail(path, problems);

            // Tensors: exactly the expected set, with the expected dtypes and shapes.
            var expected = new Dictionary<string, (SafeTensorsDType DType, long[] Shape)>(StringComparer.Ordinal);
            foreach (var p in _parameters) expected[p.Name] = (SafeTensorsDType.F32, Shape(p));
            foreach (var g in _groups)
            {
                for (int t = 0; t < g.Members.Length; t++)
                {
                    var p = g.Members[t];
                    foreach (var s in g.ElementStateNames)
                    {
                        var dtype = g.Precision switch { StatePrecision.Float32 => SafeTensorsDType.F32, StatePrecision.BFloat16 => SafeTensorsDType.BF16, _ => SafeTensorsDType.U8 };
                        expected[$"{p.Name}.{s}"] = (dtype, Shape(p));
                        if (g.Precision == StatePrecision.Int8Blockwise)
                            expected[$"{p.Name}.{s}.absmax"] = (SafeTensorsDType.F32, new long[] { Fused.Runtime.Precision.BlockwiseInt8.BlockCount((int)p.Numel, Int8BlockSize) });
                    }
                    foreach (var s in g.ScalarStateNames) expected[$"{p.Name}.{s}"] = (SafeTensorsDType.F32, Array.Empty<long>());
                    if (g.HasShampooState)
                    {
                        var (rows, cols) = g.MatrixSides(t);
                        for (int m = 0; m < MatrixPasses.ShampooTensorNames.Length; m++)
                        {
                            long side = m % 2 == 0 ? rows : cols;
                            expected[$"{p.Name}.{MatrixPasses.ShampooTensorNames[m]}"] = (SafeTensorsDType.F32, new[] { side, side });
                        }
                        expected[$"{p.Name}.{ShampooHasRootsName}"] = (SafeTensorsDType.F32, Array.Empty<long>());
                    }
                    int v = 0;
                    foreach (var s in g.VectorStateNames) expected[$"{p.Name}.{s}"] = (SafeTensorsDType.F32, new long[] { g.VectorState(t, v++).Length });
                }
            }
            foreach (var (name, want) in expected)
            {
                if (!file.TryGetTensor(name, out var tensor)) { problems.Add($"tensor '{name}' is missing"); continue; }
                if (tensor.DType != want.DType) problems.Add($"tensor '{name}' is {SafeTensorsDTypes.Name(tensor.DType)}, expected {SafeTensorsDTypes.Name(want.DType)}");
                if (!tensor.Shape.SequenceEqual(want.Shape)) problems.Add($"tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", want.Shape)}]");
            }
            foreach (var tensor in file.Tensors)
                if (!expected.ContainsKey(tensor.Name)) problems.Add($"unexpected tensor '{tensor.Name}'");
            if (problems.Count > 0) throw Fail(path, problems);

            // Validated: copy.
            foreach (var p in _parameters) file[p.Name].AsSpan<float>().CopyTo(_parameterMemory[p.Index].Span);
            foreach (var g in _groups)
            {
                var stateNames = g.ElementStateNames.ToArray();
                var scalarNames = g.ScalarStateNames.ToArray();
                var vectorNames = g.VectorStateNames.ToArray();
                for (int t = 0; t < g.Members.Length; t++)
                {
                    var p = g.Members[t];
                    for (int k = 0; k < stateNames.Length; k++)
                    {
                        string name = $"{p.Name}.{stateNames[k]}";
                        switch (g.Precision)
                        {
                            case StatePrecision.Float32: file[name].AsSpan<float>().CopyTo(g.Float32State(t, k).Span); break;
                            case StatePrecision.BFloat16: file[name].AsSpan<ushort>().CopyTo(g.BFloat16State(t, k).Span); break;
                            default:
                                file[name].AsSpan<byte>().CopyTo(g.Int8Codes(t, k));
                                file[name + ".absmax"].AsSpan<float>().CopyTo(g.Int8Scales(t, k));
                                break;
                        }
                    }
                    for (int j = 0; j < scalarNames.Length; j++) g.Scalars(t)[j] = file[$"{p.Name}.{scalarNames[j]}"].AsSpan<float>()[0];
                    for (int v = 0; v < vectorNames.Length; v++) file[$"{p.Name}.{vectorNames[v]}"].AsSpan<float>().CopyTo(g.VectorState(t, v));
                    if (g.HasShampooState)
                        g.RestoreShampooState(t, MatrixPasses.ShampooTensorNames.Select(n => file[$"{p.Name}.{n}"].AsSpan<float>().ToArray()).ToArray(),
                            file[$"{p.Name}.{ShampooHasRootsName}"].AsSpan<float>()[0] != 0f);
                }
            }
            foreach (var g in _groups) g.SyncToDevice(); // engines on a device: the loaded values go up
            RewriteCopies(); // the bf16 copies follow the loaded parameters (a checkpoint holds only the float32 masters)
            StepCount = step;
            SkippedSteps = skipped;
            Seed = seed;
            _accumulated = 0;
        }

        private static bool IsPlainInteger(string text)
        {
            if (text.Length == 0 || (text.Length > 1 && text[0] == '0')) return false;
            foreach (char c in text) if (!char.IsAsciiDigit(c)) return false;
            return true;
        }

        /// <summary>A non-empty string property of a metadata object, or null with the problem recorded.</summary>
        private static string? NameOf(JsonElement e, string property, string what, List<string> problems)
        {
            if (e.ValueKind != JsonValueKind.Object) { problems.Add($"{what} entry {e.GetRawText()} is not an object"); return null; }
            if (!e.TryGetProperty(property, out var v) || v.ValueKind != JsonValueKind.String || v.GetString() is not { Length: > 0 } text)
            {
                problems.Add($"{what} entry {Shorten(e.GetRawText())} has no non-empty string '{property}'");
                return null;
            }
            return text;
        }

        private static string Shorten(string text) => text.Length <= 80 ? text : text.Substring(0, 77) + "...";

        private void CheckParameters(string json, List<string> problems)
        {
            using var parameters = JsonDocument.Parse(json);
            if (parameters.RootElement.ValueKind != JsonValueKind.Array) { problems.Add("metadata 'parameters' is not an array"); return; }
            var saved = new Dictionary<string, (int[]? Shape, string? Group)>(StringComparer.Ordinal);
            foreach (var e in parameters.RootElement.EnumerateArray())
            {
                string? name = NameOf(e, "name", "parameter", problems);
                if (name == null) continue;
                int[]? shape = null;
                if (e.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array
                    && s.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int d) && d > 0))
                    shape = s.EnumerateArray().Select(x => x.GetInt32()).ToArray();
                else problems.Add($"parameter '{name}' has no valid shape in the metadata");
                string? group = NameOf(e, "group", $"parameter '{name}'", problems);
                if (!saved.TryAdd(name, (shape, group))) problems.Add($"parameter '{name}' is listed twice in the metadata");
            }
            var missing = _parameters.Where(p => !saved.ContainsKey(p.Name)).Select(p => p.Name).ToList();
            var extra = saved.Keys.Where(n => !_indexByName.ContainsKey(n)).ToList();
            if (missing.Count > 0) problems.Add($"parameters of this optimizer absent from the checkpoint: {string.Join(", ", missing)}");
            if (extra.Count > 0) problems.Add($"checkpoint parameters this optimizer does not have: {string.Join(", ", extra)}");
            foreach (var p in _parameters)
            {
                if (!saved.TryGetValue(p.Name, out var s)) continue;
                if (s.Shape != null && !s.Shape.SequenceEqual(p.ShapeArray))
                    problems.Add($"parameter '{p.Name}' has shape [{string.Join(", ", p.ShapeArray)}], checkpoint has [{string.Join(", ", s.Shape)}]");
                string group = _groups[_groupOfParameter[p.Index]].Name;
                if (s.Group != null && s.Group != group) problems.Add($"parameter '{p.Name}' is in group '{group}', checkpoint has it in '{s.Group}'");
            }
        }

        private void CheckGroups(string json, bool allowHyperparameterChanges, List<string> problems)
        {
            using var groups = JsonDocument.Parse(json);
            if (groups.RootElement.ValueKind != JsonValueKind.Array) { problems.Add("metadata 'groups' is not an array"); return; }
            var savedGroups = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var e in groups.RootElement.EnumerateArray())
            {
                string? name = NameOf(e, "name", "group", problems);
                if (name != null && !savedGroups.TryAdd(name, e.Clone())) problems.Add($"group '{name}' is listed twice in the metadata");
            }
            foreach (var g in _groups)
            {
                if (!savedGroups.TryGetValue(g.Name, out var sg))
                {
                    problems.Add($"group '{g.Name}' is not in the checkpoint (it has {string.Join(", ", savedGroups.Keys)})");
                    continue;
                }
                string? rule = NameOf(sg, "rule", $"group '{g.Name}'", problems);
                if (rule != null && rule != g.Rule.Name) problems.Add($"group '{g.Name}' uses rule {g.Rule.Name}, checkpoint has {rule}");
                string? precision = NameOf(sg, "precision", $"group '{g.Name}'", problems);
                if (precision != null && precision != g.Precision.ToString()) problems.Add($"group '{g.Name}' keeps {g.Precision} state, checkpoint has {precision}");
                if (!allowHyperparameterChanges && rule == g.Rule.Name)
                {
                    if (!sg.TryGetProperty("hyperparameters", out var hv) || hv.ValueKind != JsonValueKind.Object)
                    {
                        problems.Add($"group '{g.Name}' has no hyperparameters in the metadata");
                        continue;
                    }
                    var hypers = g.Rule.Hyperparameters;
                    for (int i = 0; i < hypers.Count; i++)
                    {
                        if (!hv.TryGetProperty(hypers[i].Name, out var v)) continue;
                        if (v.ValueKind != JsonValueKind.Number || !v.TryGetSingle(out float saved) || !float.IsFinite(saved))
                            problems.Add($"group '{g.Name}': {hypers[i].Name} in the checkpoint is {Shorten(v.GetRawText())}, not a finite number");
                        else if (saved != g.BaseHypers[i])
                            problems.Add($"group '{g.Name}': {hypers[i].Name} is {g.BaseHypers[i]:R}, checkpoint has {saved:R} (pass allowHyperparameterChanges to accept)");
                    }
                }
            }
        }

        private static CheckpointException Fail(string path, List<string> problems)
            => new CheckpointException(path, $"checkpoint '{path}' does not match this optimizer: {string.Join("; ", problems)}");

        private static long[] Shape(ParameterInfo p) => p.ShapeArray.Select(d => (long)d).ToArray();
    }
}
