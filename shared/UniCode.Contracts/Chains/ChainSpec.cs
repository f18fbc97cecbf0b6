using System.Text.Json;

namespace UniCode.Contracts.Chains;

/// <summary>
/// The chain specification carried as JSON in <see cref="SubmitChain.SpecJson"/> (camelCase property
/// names: serialise with <c>JsonSerializerOptions.Web</c>). Either pre-trains on
/// <see cref="Dataset"/> (pre-train → register → fine-tune × (task, source modality) → evaluate ×
/// (task, direction), once per seed) or, with <see cref="Checkpoint"/>, re-evaluates a registered
/// checkpoint (fine-tune → evaluate only).
/// <code>
/// { "dataset": "ave:/data/AVE", "method": "uniCode", "preset": "small", "config": { "epochs": 2 },
///   "seeds": [43, 44], "finetune": { "epochs": 30 },
///   "tasks": [ { "task": "ave", "directions": ["v2a", "a2v"], "protocol": "held-out", "split": "test" } ] }
/// </code>
/// </summary>
public sealed record ChainSpec
{
    /// <summary>Pre-training dataset, "KIND:PATH"; required unless <see cref="Checkpoint"/> is set.</summary>
    public string? Dataset { get; init; }

    /// <summary>Re-evaluation: sha256 or alias of a registered checkpoint; no pre-training is done.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>One of the paper's methods: baseline, cmcm, dcidCmcm, uniCode (default: the config's switches).</summary>
    public string? Method { get; init; }

    /// <summary>Model config preset: paper (default), reduced, small.</summary>
    public string? Preset { get; init; }

    /// <summary>UniCodeConfig fields (camelCase) that override the preset and the method's switches.</summary>
    public JsonElement? Config { get; init; }

    /// <summary>One lineage per seed (default: the config's seed; for a re-evaluation, the checkpoint's).</summary>
    public IReadOnlyList<long>? Seeds { get; init; }

    /// <summary>Downstream-head options (a JSON object), passed to the trainer as part of the fine-tune config.</summary>
    public JsonElement? Finetune { get; init; }

    /// <summary>The downstream tasks; at least one, each task name at most once.</summary>
    public IReadOnlyList<ChainTaskSpec> Tasks { get; init; } = [];

    /// <summary>Code version the steps must run with (default: the coordinator's).</summary>
    public string? CodeVersion { get; init; }

    /// <summary>
    /// How many times one job of the chain may be restarted after it was lost (its worker died or went silent) before
    /// its step and the chain fail as a poison job (default: the coordinator's UNICODE_MAX_RESTARTS). Not part of any
    /// step key.
    /// </summary>
    public int? MaxRestarts { get; init; }
}

/// <summary>One downstream task of a <see cref="ChainSpec"/>.</summary>
public sealed record ChainTaskSpec
{
    /// <summary>Task name: ave, avvp, ave2avvp, ucf2vgg, vgg2ucf, retrieval.</summary>
    public string Task { get; init; } = "";

    /// <summary>The downstream dataset, "KIND:PATH" (default: the chain's dataset).</summary>
    public string? Dataset { get; init; }

    /// <summary>Transfer directions, e.g. "v2a" (train on video, test on audio), "a2v".</summary>
    public IReadOnlyList<string> Directions { get; init; } = [];

    /// <summary>"held-out" (default) or "reference".</summary>
    public string? Protocol { get; init; }

    /// <summary>The split that is scored (default "test").</summary>
    public string? Split { get; init; }
}
