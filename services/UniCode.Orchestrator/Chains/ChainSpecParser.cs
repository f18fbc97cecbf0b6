using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using UniCode.Data;
using UniCode.Experiments;
using UniCode.Messaging;
using UniCode.Model.Config;
using UniCode.Model.Downstream;
using UniCode.Persistence;

namespace UniCode.Orchestrator.Chains;

/// <summary>
/// Validates a <see cref="UniCode.Contracts.Chains.ChainSpec"/> (as JSON) and resolves it into a
/// <see cref="ChainPlan"/>, or says what is wrong, naming the field ("spec.tasks[0].directions[1]")
/// and the expected value. The model config is validated with the model's own rules
/// (UniCodeConfig.FromJson(...).Validate()), so a chain the trainer would refuse is refused here.
/// </summary>
public sealed partial class ChainSpecParser(OrchestratorOptions options)
{
    /// <summary>Downstream task names (UniCode.Model.Downstream: AVE classification, AVVP localisation, cross-dataset transfer, retrieval).</summary>
    public static IReadOnlyList<string> KnownTasks { get; } = ["ave", "avvp", "ave2avvp", "ucf2vgg", "vgg2ucf", "retrieval"];

    /// <summary>Evaluation protocols, as stored in downstream_results.protocol.</summary>
    public static IReadOnlyList<string> KnownProtocols { get; } = ["held-out", "reference"];

    private static readonly string[] TopLevelFields = ["dataset", "checkpoint", "method", "preset", "config", "seeds", "finetune", "tasks", "codeVersion", "maxRestarts"];
    private static readonly string[] TaskFields = ["task", "dataset", "directions", "protocol", "split"];

    /// <summary>
    /// The hash a dataset is keyed by: its content hash from the datasets table when the preprocessing
    /// service registered it under this name, else sha256("dataset-name:" + name) (exact for synth:
    /// names, whose spec is the content; for a directory it assumes the files under a name do not change).
    /// </summary>
    public static string NameHash(string datasetName) => StepKeys.Sha256Hex(Encoding.UTF8.GetBytes("dataset-name:" + datasetName));

    public sealed record Result(ChainPlan? Plan, string? Error);

    public async Task<Result> ParseAsync(ResultsDbContext db, string specJson, CancellationToken cancellationToken)
    {
        try
        {
            return new Result(await ParseCoreAsync(db, specJson, cancellationToken), null);
        }
        catch (SpecException e)
        {
            return new Result(null, e.Message);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            // A value the field checks let through but a reader refused (e.g. a dataset spec opened to fit the
            // config): the chain is still recorded, rejected with the reason, not lost in the error queue.
            return new Result(null, $"spec: {e.Message}");
        }
    }

    private async Task<ChainPlan> ParseCoreAsync(ResultsDbContext db, string specJson, CancellationToken ct)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(specJson);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new SpecException($"spec: not valid JSON ({e.Message}); expected a ChainSpec object");
        }
        if (root.ValueKind != JsonValueKind.Object) throw new SpecException($"spec: a JSON {Kind(root)}; expected a ChainSpec object");
        Unknown(root, "spec", TopLevelFields);

        var checkpointText = OptionalString(root, "checkpoint", "spec.checkpoint");
        var datasetText = OptionalString(root, "dataset", "spec.dataset");
        var codeVersion = OptionalString(root, "codeVersion", "spec.codeVersion") ?? options.CodeVersion;
        var evalCodeVersion = OptionalString(root, "codeVersion", "spec.codeVersion") ?? options.EvalCodeVersion;
        var finetune = FinetuneOptions(root);
        var maxRestarts = MaxRestarts(root);

        string? dataset = null, datasetHash = null, checkpoint = null;
        ModalitySet modalities;
        List<LineagePlan> lineages;
        if (checkpointText is not null)
        {
            foreach (var field in new[] { "method", "preset", "config" })
                if (root.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null)
                    throw new SpecException($"spec.{field}: not allowed with spec.checkpoint (a re-evaluation fine-tunes a registered checkpoint and does not pre-train)");
            var found = await FindCheckpointAsync(db, checkpointText, ct)
                ?? throw new SpecException($"spec.checkpoint: no registered checkpoint with sha256 or alias '{checkpointText}'; expected a checkpoint in the registry (table checkpoints)");
            checkpoint = found.Sha256;
            var seeds = Seeds(root) ?? [found.Seed];
            lineages = seeds.Select(s => new LineagePlan(s, null, null)).ToList();
            modalities = ModalitySet.AudioVisualText;   // the checkpoint's own set is checked by the trainer
        }
        else
        {
            if (datasetText is null) throw new SpecException("spec.dataset: missing; expected the pre-training dataset as KIND:PATH (e.g. ave:/data/AVE), or spec.checkpoint for a re-evaluation");
            dataset = ParseDataset(datasetText, "spec.dataset");
            datasetHash = await DatasetHashAsync(db, dataset, ct);
            var config = Config(root, dataset);
            modalities = config.Modalities;
            var seeds = Seeds(root) ?? [config.Seed];
            lineages = seeds.Select(s =>
            {
                var c = config with { Seed = s };
                return new LineagePlan(s, c.ToCanonicalJson(), c.Hash());
            }).ToList();
        }

        var defaultTaskDataset = dataset ?? (datasetText is null ? null : ParseDataset(datasetText, "spec.dataset"));
        var tasks = await TasksAsync(db, root, defaultTaskDataset, modalities, ct);
        return new ChainPlan(dataset, datasetHash, checkpoint, lineages, tasks, finetune, codeVersion, evalCodeVersion, maxRestarts);
    }

    private static UniCodeConfig Config(JsonElement root, string dataset)
    {
        var preset = OptionalString(root, "preset", "spec.preset") ?? "paper";
        if (!UniCodeConfig.Presets.TryGetValue(preset, out var config))
            throw new SpecException($"spec.preset: '{preset}' is not a preset; expected one of {string.Join(", ", UniCodeConfig.Presets.Keys)}");
        using var data = OpenForFitting(dataset);
        if (data is not null) config = DatasetTensors.Fit(config, data.Layout);
        if (OptionalString(root, "method", "spec.method") is { } methodText)
        {
            var name = Enum.GetNames<Method>().FirstOrDefault(n => n.Equals(methodText, StringComparison.OrdinalIgnoreCase))
                ?? throw new SpecException($"spec.method: '{methodText}' is not a method; expected one of {string.Join(", ", Enum.GetNames<Method>().Select(JsonNamingPolicy.CamelCase.ConvertName))}");
            config = config.WithMethod(Enum.Parse<Method>(name));
        }
        var hasOverrides = root.TryGetProperty("config", out var overrides) && overrides.ValueKind != JsonValueKind.Null;
        if (hasOverrides)
        {
            if (overrides.ValueKind != JsonValueKind.Object)
                throw new SpecException($"spec.config: a JSON {Kind(overrides)}; expected an object of UniCodeConfig fields (camelCase), e.g. {{\"epochs\": 2}}");
            // The spec's fields override the preset and the method's switches, one by one.
            var merged = JsonNode.Parse(config.ToCanonicalJson())!.AsObject();
            foreach (var p in overrides.EnumerateObject()) merged[p.Name] = JsonNode.Parse(p.Value.GetRawText());
            try
            {
                config = UniCodeConfig.FromJson(merged.ToJsonString(), "spec.config");
            }
            catch (ConfigException e)
            {
                throw new SpecException($"spec.config: {e.Message}");
            }
        }
        if (data is null) return config.Validate();
        // As the trainer pre-trains (the train split, else every clip): a smaller split shrinks the batch to it, unless the spec chose one.
        var explicitBatch = hasOverrides && overrides.TryGetProperty("batchSize", out _);
        try
        {
            return DatasetTensors.FitBatchSize(config, data, data.Splits.ContainsKey("train") ? "train" : null,
                explicitBatch ? "spec.config.batchSize" : null, out _).Validate();
        }
        catch (ConfigException e)
        {
            throw new SpecException($"spec.config.batchSize: {e.Message}");
        }
        catch (DatasetFormatException e)
        {
            throw new SpecException($"spec.dataset: {e.Message}");
        }
    }

    /// <summary>
    /// The dataset, opened to fit the config to it: the model's input shapes are the dataset's (segments, feature
    /// widths, video grid), as the trainer requires (the spec's config may still override them), and its pre-training
    /// batch no larger than its training split. A dataset that cannot be opened here gives null: the config is left as
    /// the preset says and the trainer reports the dataset.
    /// </summary>
    private static ClipDataset? OpenForFitting(string dataset)
    {
        try { return DatasetOpener.Open(dataset); }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException or DatasetFormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? MaxRestarts(JsonElement root)
    {
        if (!root.TryGetProperty("maxRestarts", out var m) || m.ValueKind == JsonValueKind.Null) return null;
        if (m.ValueKind != JsonValueKind.Number || !m.TryGetInt32(out var n) || n < 0)
            throw new SpecException($"spec.maxRestarts: {m.GetRawText()}; expected a whole number ≥ 0 (restarts of one job before the chain fails)");
        return n;
    }

    private static List<long>? Seeds(JsonElement root)
    {
        if (!root.TryGetProperty("seeds", out var seeds) || seeds.ValueKind == JsonValueKind.Null) return null;
        if (seeds.ValueKind != JsonValueKind.Array || seeds.GetArrayLength() == 0)
            throw new SpecException($"spec.seeds: {(seeds.ValueKind == JsonValueKind.Array ? "an empty array" : "a JSON " + Kind(seeds))}; expected an array of at least one integer seed, e.g. [43, 44]");
        var list = new List<long>();
        var i = 0;
        foreach (var s in seeds.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var seed))
                throw new SpecException($"spec.seeds[{i}]: {s.GetRawText()}; expected an integer seed");
            if (list.Contains(seed)) throw new SpecException($"spec.seeds[{i}]: {seed} appears twice; expected distinct seeds");
            list.Add(seed);
            i++;
        }
        return list;
    }

    private static string FinetuneOptions(JsonElement root)
    {
        if (!root.TryGetProperty("finetune", out var f) || f.ValueKind == JsonValueKind.Null) return "{}";
        if (f.ValueKind != JsonValueKind.Object)
            throw new SpecException($"spec.finetune: a JSON {Kind(f)}; expected an object of downstream-head options, e.g. {{\"epochs\": 30}}");
        return CanonicalJson.Write(f);
    }

    private static async Task<List<TaskPlan>> TasksAsync(ResultsDbContext db, JsonElement root, string? defaultDataset, ModalitySet modalities, CancellationToken ct)
    {
        if (!root.TryGetProperty("tasks", out var tasks) || tasks.ValueKind != JsonValueKind.Array || tasks.GetArrayLength() == 0)
            throw new SpecException($"spec.tasks: {(tasks.ValueKind == JsonValueKind.Undefined ? "missing" : tasks.ValueKind == JsonValueKind.Array ? "an empty array" : "a JSON " + Kind(tasks))}; expected at least one task, e.g. [{{\"task\": \"ave\", \"directions\": [\"v2a\", \"a2v\"]}}]");
        var plans = new List<TaskPlan>();
        var i = 0;
        foreach (var t in tasks.EnumerateArray())
        {
            var at = $"spec.tasks[{i}]";
            if (t.ValueKind != JsonValueKind.Object) throw new SpecException($"{at}: a JSON {Kind(t)}; expected a task object");
            Unknown(t, at, TaskFields);
            var name = OptionalString(t, "task", at + ".task") ?? throw new SpecException($"{at}.task: missing; expected one of {string.Join(", ", KnownTasks)}");
            if (!KnownTasks.Contains(name)) throw new SpecException($"{at}.task: '{name}' is not a known task; expected one of {string.Join(", ", KnownTasks)}");
            if (plans.Any(p => p.Task == name)) throw new SpecException($"{at}.task: '{name}' appears twice; expected each task once per chain");
            var datasetText = OptionalString(t, "dataset", at + ".dataset");
            var dataset = datasetText is null
                ? defaultDataset ?? throw new SpecException($"{at}.dataset: missing; expected KIND:PATH (a re-evaluation has no pre-training dataset to default to)")
                : ParseDataset(datasetText, at + ".dataset");
            var protocol = OptionalString(t, "protocol", at + ".protocol") ?? "held-out";
            if (!KnownProtocols.Contains(protocol)) throw new SpecException($"{at}.protocol: '{protocol}' is not a protocol; expected one of {string.Join(", ", KnownProtocols)}");
            var split = OptionalString(t, "split", at + ".split") ?? "test";
            if (string.IsNullOrWhiteSpace(split)) throw new SpecException($"{at}.split: empty; expected a split name such as test");
            plans.Add(new TaskPlan(name, dataset, await DatasetHashAsync(db, dataset, ct), Directions(t, at, modalities), protocol, split));
            i++;
        }
        return plans;
    }

    private static List<DirectionPlan> Directions(JsonElement task, string at, ModalitySet modalities)
    {
        if (!task.TryGetProperty("directions", out var directions) || directions.ValueKind != JsonValueKind.Array || directions.GetArrayLength() == 0)
            throw new SpecException($"{at}.directions: missing or empty; expected at least one direction such as \"v2a\" (train on video, test on audio)");
        var list = new List<DirectionPlan>();
        var j = 0;
        foreach (var d in directions.EnumerateArray())
        {
            var path = $"{at}.directions[{j++}]";
            if (d.ValueKind != JsonValueKind.String) throw new SpecException($"{path}: a JSON {Kind(d)}; expected a direction such as \"v2a\"");
            Direction direction;
            try
            {
                direction = Direction.Parse(d.GetString()!);
            }
            catch (FormatException e)
            {
                throw new SpecException($"{path}: {e.Message}");
            }
            foreach (var m in new[] { direction.Train, direction.Test })
                if (!modalities.HasFlag(m.ToSet()))
                    throw new SpecException($"{path}: '{direction.Name}' uses {Name(m)}, but the model is pre-trained on {modalities.Code()}; expected directions between {string.Join(", ", modalities.Members().Select(Name))}");
            if (list.Any(x => x.Name == direction.Name)) throw new SpecException($"{path}: '{direction.Name}' appears twice; expected distinct directions");
            list.Add(new DirectionPlan(direction.Name, Name(direction.Train), Name(direction.Test)));
        }
        return list;
    }

    private static string Name(Modality m) => m.ToString().ToLowerInvariant();

    private static string ParseDataset(string text, string field)
    {
        try
        {
            return DatasetName.ParseChecked(text).ToString();
        }
        catch (FormatException e)
        {
            throw new SpecException($"{field}: {e.Message}");
        }
    }

    private static async Task<string> DatasetHashAsync(ResultsDbContext db, string dataset, CancellationToken ct) =>
        await db.Datasets.Where(d => d.Name == dataset).OrderBy(d => d.CreatedAt).Select(d => d.ContentHash).FirstOrDefaultAsync(ct)
        ?? SyntheticContentHash(dataset)
        ?? NameHash(dataset);

    /// <summary>
    /// A synth: dataset is generated from its name, so its content hash — what the trainer checks the
    /// data against — can be computed here. Directory datasets must be registered by the preprocessing
    /// service; otherwise they are keyed by <see cref="NameHash"/> and the trainer refuses them.
    /// </summary>
    private static string? SyntheticContentHash(string dataset)
    {
        var name = DatasetName.Parse(dataset);
        if (name.Kind != DatasetKind.Synth) return null;
        using var data = DatasetOpener.Open(name);
        return data.ContentHash();
    }

    private static async Task<(string Sha256, long Seed)?> FindCheckpointAsync(ResultsDbContext db, string shaOrAlias, CancellationToken ct)
    {
        var sha = Sha256Pattern().IsMatch(shaOrAlias)
            ? shaOrAlias
            : await db.CheckpointAliases.Where(a => a.Name == shaOrAlias).Select(a => a.CheckpointSha256).FirstOrDefaultAsync(ct);
        if (sha is null) return null;
        var found = await db.Checkpoints.Where(c => c.Sha256 == sha).Select(c => new { c.Sha256, c.Seed }).FirstOrDefaultAsync(ct);
        return found is null ? null : (found.Sha256, found.Seed);
    }

    private static string? OptionalString(JsonElement o, string property, string field)
    {
        if (!o.TryGetProperty(property, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new SpecException($"{field}: a JSON {Kind(v)}; expected a string");
        var s = v.GetString()!;
        return string.IsNullOrWhiteSpace(s) ? throw new SpecException($"{field}: empty; expected a value") : s;
    }

    private static void Unknown(JsonElement o, string at, string[] allowed)
    {
        foreach (var p in o.EnumerateObject())
            if (!allowed.Contains(p.Name, StringComparer.Ordinal))
                throw new SpecException($"{at}.{p.Name}: unknown field; expected only {string.Join(", ", allowed)}");
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();

    private sealed class SpecException(string message) : Exception(message);
}
