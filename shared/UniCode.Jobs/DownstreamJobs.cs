using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using UniCode.Model.Config;
using UniCode.Model.Downstream;

namespace UniCode.Jobs;

/// <summary>A downstream task as the fine-tuning and evaluation services run it.</summary>
/// <param name="Name">The task name of the messages and of downstream_results.task.</param>
/// <param name="Kind">The head it trains.</param>
/// <param name="Defaults">The protocol's reference settings (AVE: 30 epochs; AVVP: 50).</param>
public sealed record DownstreamJobTask(string Name, HeadKind Kind, DownstreamOptions Defaults)
{
    /// <summary>The modalities a head of this task needs besides its own (retrieval: the audio gallery).</summary>
    public ModalitySet Partners => Kind == HeadKind.Retrieval ? ModalitySet.Audio : ModalitySet.None;

    /// <summary>Trains the task's head on <paramref name="source"/>'s codes.</summary>
    public TrainedHead Train(CodeEncoder encoder, LabeledClips clips, Modality source, DownstreamOptions options, Action<EpochLog>? onEpoch) => Kind switch
    {
        HeadKind.Classification => EventClassification.Train(encoder, clips, source, options, Name, onEpoch),
        HeadKind.Localization => EventLocalization.Train(encoder, clips, source, options, LocalizationSelection.Precision, Name, onEpoch),
        _ => AudioRetrieval.Train(encoder, clips, source, options, Name, onEpoch),
    };

    /// <summary>Scores <paramref name="head"/> on <paramref name="target"/>'s codes: the result rows.</summary>
    public IReadOnlyList<MetricRow> Score(TrainedHead head, CodeEncoder encoder, LabeledClips clips, Modality target, DownstreamOptions options) => Kind switch
    {
        HeadKind.Classification => EventClassification.Score(head, encoder, clips, [target], options).Rows(),
        HeadKind.Localization => EventLocalization.Score(head, encoder, clips, [target], options).Rows(),
        _ => AudioRetrieval.Score(head, encoder, clips, [target], options).Rows(),
    };
}

/// <summary>Task names, modalities, protocols and head options of the downstream job messages.</summary>
public static class DownstreamJobs
{
    private static readonly IReadOnlyDictionary<string, DownstreamJobTask> Tasks = new Dictionary<string, DownstreamJobTask>(StringComparer.Ordinal)
    {
        ["ave"] = new("ave", HeadKind.Classification, DownstreamOptions.Ave),
        ["avvp"] = new("avvp", HeadKind.Localization, DownstreamOptions.Avvp),
        ["retrieval"] = new("retrieval", HeadKind.Retrieval, DownstreamOptions.Ave),
    };

    /// <summary>The job services' task of <paramref name="name"/>.</summary>
    /// <exception cref="JobRejectedException">Unknown, or a cross-dataset task (two datasets do not fit one job message).</exception>
    public static DownstreamJobTask Task(string? name, string field)
    {
        if (name is not null && Tasks.TryGetValue(name, out var task)) return task;
        var hint = name is "ave2avvp" or "ucf2vgg" or "vgg2ucf"
            ? " (cross-dataset transfer trains on one dataset and scores another: not run by the job services yet)"
            : "";
        throw new JobRejectedException($"{field} is '{name}'{hint}; expected one of {string.Join(", ", Tasks.Keys)}");
    }

    /// <summary>"audio", "video" or "text" (case-insensitive).</summary>
    public static Modality Modality(string? text, string field) => text?.Trim().ToLowerInvariant() switch
    {
        "audio" => Model.Config.Modality.Audio,
        "video" => Model.Config.Modality.Video,
        "text" => Model.Config.Modality.Text,
        _ => throw new JobRejectedException($"{field} is '{text}'; expected audio, video or text"),
    };

    /// <summary>The lower-case name of a modality, as the messages and downstream_results store it.</summary>
    public static string Name(Modality m) => m.ToString().ToLowerInvariant();

    public static EvaluationProtocol Protocol(string? text, string field)
    {
        try { return RunInfo.ParseProtocol(text ?? "held-out"); }
        catch (FormatException e) { throw new JobRejectedException($"{field}: {e.Message}"); }
    }

    private static readonly JsonSerializerOptions OptionsJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Fields the job sets itself (seed and protocol from the message, device from the host, precision from the checkpoint).</summary>
    private static readonly string[] Reserved = ["seed", "protocol", "device", "precision"];

    /// <summary>
    /// <paramref name="defaults"/> with the fields of <paramref name="overrides"/> (a JSON object of
    /// DownstreamOptions fields in camelCase, e.g. {"epochs": 5, "learningRate": 1e-3}) applied, validated.
    /// </summary>
    /// <exception cref="JobRejectedException">Not an object, an unknown or reserved field, or a value DownstreamOptions rejects.</exception>
    public static DownstreamOptions WithOverrides(DownstreamOptions defaults, JsonNode? overrides, string field)
    {
        if (overrides is null) return defaults;
        if (overrides is not JsonObject extra)
            throw new JobRejectedException($"{field} is {overrides.ToJsonString()}; expected a JSON object of head options (e.g. {{\"epochs\": 30}})");
        var merged = JsonNode.Parse(JsonSerializer.Serialize(defaults, OptionsJson))!.AsObject();
        foreach (var (key, value) in extra)
        {
            if (Reserved.Contains(key, StringComparer.OrdinalIgnoreCase))
                throw new JobRejectedException($"{field}.{key} cannot be set: the job takes it from {(key is "seed" or "protocol" ? "its message" : key == "device" ? "UNICODE_DEVICE" : "the checkpoint")}");
            if (!merged.ContainsKey(key))
                throw new JobRejectedException($"{field}.{key} is not a head option; expected one of {string.Join(", ", merged.Select(p => p.Key).Where(k => !Reserved.Contains(k)))}");
            merged[key] = value?.DeepClone();
        }
        try
        {
            return (JsonSerializer.Deserialize<DownstreamOptions>(merged.ToJsonString(), OptionsJson)
                ?? throw new JobRejectedException($"{field} is empty")).Validate();
        }
        catch (JsonException e)
        {
            throw new JobRejectedException($"{field}: {e.Message}");
        }
        catch (ConfigException e)
        {
            throw new JobRejectedException($"{field}: {e.Message}");
        }
    }

    /// <summary>The step config of a downstream job (Run.ConfigJson) as a JSON object; "{}" or empty when it has none.</summary>
    public static JsonObject Config(string? json, string field)
    {
        if (string.IsNullOrWhiteSpace(json)) return [];
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new JobRejectedException($"{field} is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new JobRejectedException($"{field} is not valid JSON ({e.Message})");
        }
    }

    /// <summary>A string field of <paramref name="config"/> that, when present, must agree with the message field.</summary>
    public static void RequireAgrees(JsonObject config, string key, string? messageValue, string field)
    {
        if (config[key] is JsonValue v && v.TryGetValue<string>(out var s) && !string.Equals(s, messageValue, StringComparison.OrdinalIgnoreCase))
            throw new JobRejectedException($"Run.ConfigJson.{key} is '{s}' but {field} is '{messageValue}': the step key would name another job");
    }
}
