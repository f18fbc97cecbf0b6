using System.Text;
using System.Text.Json.Nodes;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Messaging;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Outbox;

namespace UniCode.Orchestrator.Chains;

/// <summary>
/// Builds the steps of a chain from its plan: each with its deterministic step key
/// (StepKeys.Compute(kind, canonical config, input hashes, code version)), its job id
/// (StepKeys.JobId(key)) and the job command it dispatches. Inputs are content hashes, so a step
/// can only be built once its inputs exist: fine-tunings once the checkpoint's sha256 is known,
/// evaluations once the head's.
/// </summary>
public static class StepFactory
{
    /// <summary>Pre-training of one lineage: config = the model's canonical config; inputs = [dataset hash].</summary>
    public static ChainStep Pretrain(Chain chain, ChainPlan plan, LineagePlan lineage, DateTimeOffset now)
    {
        var key = StepKeys.Compute(ChainStepKinds.Pretrain, lineage.ConfigJson!, [plan.DatasetHash!], plan.CodeVersion);
        var run = new RunIdentity(lineage.ConfigJson!, lineage.ConfigHash!, lineage.Seed, plan.CodeVersion, plan.DatasetHash!);
        var command = new PretrainModel(StepKeys.JobId(key), chain.Id, key, run, plan.Dataset!, null, now);
        var step = New(chain, null, ChainStepKinds.Pretrain, $"pretrain seed={lineage.Seed}", key, command, now);
        step.Seed = lineage.Seed;
        return step;
    }

    /// <summary>
    /// Registration of a pre-trained checkpoint: sends nothing (the registry registers what
    /// PretrainCompleted announces) and waits for CheckpointRegistered. Inputs = [checkpoint sha256].
    /// </summary>
    public static ChainStep Register(Chain chain, ChainPlan plan, ChainStep pretrain, string checkpointSha256, DateTimeOffset now)
    {
        var key = StepKeys.Compute(ChainStepKinds.Register, "{}", [checkpointSha256], plan.CodeVersion);
        var step = New(chain, pretrain, ChainStepKinds.Register, $"register seed={pretrain.Seed}", key, null, now);
        step.Seed = pretrain.Seed;
        step.CheckpointSha256 = checkpointSha256;
        return step;
    }

    /// <summary>
    /// One fine-tuning per (task, source modality) on <paramref name="checkpointSha256"/>: config =
    /// canonical {options, protocol, seed, sourceModality, task}; inputs = [checkpoint, task dataset hash].
    /// </summary>
    public static IEnumerable<ChainStep> Finetunes(Chain chain, ChainPlan plan, ChainStep? parent, long seed, string checkpointSha256, DateTimeOffset now)
    {
        foreach (var task in plan.Tasks)
        {
            foreach (var source in task.SourceModalities)
            {
                var config = CanonicalJson.Write(new JsonObject
                {
                    ["options"] = JsonNode.Parse(plan.FinetuneOptionsJson),
                    ["protocol"] = task.Protocol,
                    ["seed"] = seed,
                    ["sourceModality"] = source,
                    ["task"] = task.Task,
                });
                var key = StepKeys.Compute(ChainStepKinds.Finetune, config, [checkpointSha256, task.DatasetHash], plan.CodeVersion);
                var run = new RunIdentity(config, Hash(config), seed, plan.CodeVersion, task.DatasetHash);
                var command = new FinetuneHead(StepKeys.JobId(key), chain.Id, key, run, checkpointSha256, task.Task, source, task.Dataset, now);
                var step = New(chain, parent, ChainStepKinds.Finetune, $"finetune {task.Task} {source} seed={seed}", key, command, now);
                (step.Seed, step.Task, step.SourceModality, step.CheckpointSha256) = (seed, task.Task, source, checkpointSha256);
                yield return step;
            }
        }
    }

    /// <summary>
    /// One evaluation per direction of the fine-tuned head's task and source modality: config =
    /// canonical {protocol, sourceModality, split, targetModality, task}; inputs = [checkpoint, head,
    /// task dataset hash]; code version = the evaluation code version.
    /// </summary>
    public static IEnumerable<ChainStep> Evaluations(Chain chain, ChainPlan plan, ChainStep finetune, string headSha256, DateTimeOffset now)
    {
        var task = plan.Task(finetune.Task!);
        var checkpoint = finetune.CheckpointSha256!;
        foreach (var direction in task.Directions.Where(d => d.Source == finetune.SourceModality))
        {
            var config = CanonicalJson.Write(new JsonObject
            {
                ["protocol"] = task.Protocol,
                ["sourceModality"] = direction.Source,
                ["split"] = task.Split,
                ["targetModality"] = direction.Target,
                ["task"] = task.Task,
            });
            var key = StepKeys.Compute(ChainStepKinds.Evaluate, config, [checkpoint, headSha256, task.DatasetHash], plan.EvalCodeVersion);
            var run = new RunIdentity(config, Hash(config), finetune.Seed!.Value, plan.EvalCodeVersion, task.DatasetHash);
            var command = new EvaluateHead(StepKeys.JobId(key), chain.Id, key, run, checkpoint, headSha256, task.Task,
                direction.Source, direction.Target, task.Split, task.Protocol, task.Dataset, now);
            var step = New(chain, finetune, ChainStepKinds.Evaluate, $"evaluate {task.Task} {direction.Name} seed={finetune.Seed}", key, command, now);
            (step.Seed, step.Task, step.SourceModality, step.TargetModality) = (finetune.Seed, task.Task, direction.Source, direction.Target);
            (step.CheckpointSha256, step.HeadSha256) = (checkpoint, headSha256);
            yield return step;
        }
    }

    private static ChainStep New(Chain chain, ChainStep? parent, string kind, string label, string key, object? command, DateTimeOffset now) => new()
    {
        // Deterministic, so a retried transaction builds the same rows.
        Id = StepKeys.JobId($"chain-step:{chain.Id:N}:{key}"),
        ChainId = chain.Id,
        ParentStepId = parent?.Id,
        Kind = kind,
        Label = label,
        StepKey = key,
        JobId = StepKeys.JobId(key),
        Status = ChainStepStatuses.Pending,
        CommandType = command is null ? null : OutboxSerializer.TypeName(command.GetType()),
        CommandJson = command is null ? null : OutboxSerializer.Serialize(command, command.GetType()),
        CreatedAt = now,
        UpdatedAt = now,
    };

    private static string Hash(string json) => StepKeys.Sha256Hex(Encoding.UTF8.GetBytes(json));
}
