using System.Text.Json;

namespace UniCode.Orchestrator.Chains;

/// <summary>
/// A validated chain specification with everything resolved that the step keys depend on: configs
/// in canonical form, dataset hashes, code versions. Stored as chains.plan_json, so the steps created
/// later (when their inputs are known) come from the same plan the chain was accepted with.
/// </summary>
/// <param name="Dataset">Pre-training dataset "KIND:PATH"; null for a re-evaluation.</param>
/// <param name="DatasetHash">Its hash (see <see cref="ChainSpecParser"/>); null for a re-evaluation.</param>
/// <param name="Checkpoint">Re-evaluation: the registered checkpoint every lineage fine-tunes from.</param>
/// <param name="Lineages">One per seed.</param>
/// <param name="Tasks">The downstream tasks, each name once.</param>
/// <param name="FinetuneOptionsJson">Canonical JSON object of downstream-head options ("{}" for the defaults).</param>
/// <param name="CodeVersion">Code version of pre-training and fine-tuning steps.</param>
/// <param name="EvalCodeVersion">Code version of evaluation steps.</param>
/// <param name="MaxRestarts">Restarts of one lost job before the chain fails (spec.maxRestarts); null: the coordinator's default.</param>
public sealed record ChainPlan(
    string? Dataset, string? DatasetHash, string? Checkpoint,
    IReadOnlyList<LineagePlan> Lineages, IReadOnlyList<TaskPlan> Tasks,
    string FinetuneOptionsJson, string CodeVersion, string EvalCodeVersion, int? MaxRestarts = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public bool IsReevaluation => Checkpoint is not null;

    /// <summary>Steps per lineage: (pre-train + register) + one fine-tune per (task, source modality) + one evaluation per (task, direction).</summary>
    public int StepsPerLineage =>
        (IsReevaluation ? 0 : 2) + Tasks.Sum(t => t.SourceModalities.Count) + Tasks.Sum(t => t.Directions.Count);

    public int StepCount => Lineages.Count * StepsPerLineage;

    public TaskPlan Task(string name) =>
        Tasks.SingleOrDefault(t => t.Task == name) ?? throw new InvalidOperationException($"the chain plan has no task '{name}'");

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ChainPlan FromJson(string json) =>
        JsonSerializer.Deserialize<ChainPlan>(json, Json) ?? throw new InvalidOperationException("chains.plan_json is null");
}

/// <summary>One seed's lineage.</summary>
/// <param name="Seed">The seed of its pre-training and fine-tunings.</param>
/// <param name="ConfigJson">Canonical UniCodeConfig JSON of the pre-training (null for a re-evaluation).</param>
/// <param name="ConfigHash">sha256 of <paramref name="ConfigJson"/>.</param>
public sealed record LineagePlan(long Seed, string? ConfigJson, string? ConfigHash);

/// <summary>A downstream task of the plan.</summary>
/// <param name="Task">Task name, e.g. "ave".</param>
/// <param name="Dataset">Downstream dataset "KIND:PATH".</param>
/// <param name="DatasetHash">Its hash.</param>
/// <param name="Directions">Directions in spec order.</param>
/// <param name="Protocol">"held-out" or "reference".</param>
/// <param name="Split">The scored split.</param>
public sealed record TaskPlan(string Task, string Dataset, string DatasetHash, IReadOnlyList<DirectionPlan> Directions, string Protocol, string Split)
{
    /// <summary>The modalities heads are trained on, in order of first appearance.</summary>
    public IReadOnlyList<string> SourceModalities => Directions.Select(d => d.Source).Distinct().ToList();
}

/// <summary>A transfer direction: "v2a" = a head trained on video codes, tested on audio codes.</summary>
public sealed record DirectionPlan(string Name, string Source, string Target);
