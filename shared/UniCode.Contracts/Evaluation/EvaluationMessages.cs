using UniCode.Contracts.Common;

namespace UniCode.Contracts.Evaluation;

/// <summary>
/// Score a fine-tuned head on a target modality (cross-modal generalisation: the head was trained
/// on SourceModality and is tested on TargetModality).
/// Sent by the chain coordinator, the nightly re-evaluation or the CLI; consumed by the evaluation service.
/// </summary>
/// <param name="JobId">Deterministic job id, derived from <paramref name="StepKey"/>; also the run id.</param>
/// <param name="ChainId">The chain this step belongs to, if any.</param>
/// <param name="StepKey">sha256 of step kind, canonical config, input hashes and code version.</param>
/// <param name="Run">Run identity of the evaluation run.</param>
/// <param name="CheckpointSha256">The pre-trained checkpoint.</param>
/// <param name="HeadSha256">The fine-tuned head's checkpoint.</param>
/// <param name="Task">Downstream task name.</param>
/// <param name="SourceModality">Modality the head was trained on.</param>
/// <param name="TargetModality">Modality it is tested on.</param>
/// <param name="Split">Dataset split, e.g. "test".</param>
/// <param name="Protocol">Evaluation protocol name (as stored in downstream_results.protocol).</param>
/// <param name="Dataset">The evaluation dataset, "KIND:PATH".</param>
/// <param name="RequestedAt">When the command was sent.</param>
public sealed record EvaluateHead(
    Guid JobId, Guid? ChainId, string StepKey, RunIdentity Run,
    string CheckpointSha256, string HeadSha256, string Task, string SourceModality, string TargetModality,
    string Split, string Protocol, string Dataset, DateTimeOffset RequestedAt);

/// <summary>
/// The evaluation's scores (one downstream_results row per metric).
/// Published by the evaluation service; consumed by the results writer and the chain coordinator.
/// </summary>
/// <param name="JobId">The evaluation run.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="StepKey">The step key of the job.</param>
/// <param name="CheckpointSha256">The pre-trained checkpoint.</param>
/// <param name="HeadSha256">The head that was scored.</param>
/// <param name="Task">Downstream task name.</param>
/// <param name="SourceModality">Modality the head was trained on.</param>
/// <param name="TargetModality">Modality it was tested on.</param>
/// <param name="Split">Dataset split.</param>
/// <param name="Protocol">Evaluation protocol.</param>
/// <param name="EvalCodeVersion">Code version of the evaluation code.</param>
/// <param name="DatasetHash">Content hash of the evaluation dataset.</param>
/// <param name="Metrics">The scores, e.g. accuracy.</param>
/// <param name="CompletedAt">When it finished.</param>
public sealed record HeadEvaluated(
    Guid JobId, Guid? ChainId, string StepKey,
    string CheckpointSha256, string HeadSha256, string Task, string SourceModality, string TargetModality,
    string Split, string Protocol, string EvalCodeVersion, string DatasetHash,
    IReadOnlyList<MetricValue> Metrics, DateTimeOffset CompletedAt);

/// <summary>
/// Run the re-evaluation sweep now instead of waiting for its schedule: every (registered
/// pre-trained checkpoint × enabled evaluation suite × current evaluation code version) without
/// results gets one re-evaluation chain. Idempotent: a second trigger submits nothing new.
/// Sent by the CLI or tests; consumed by the chain coordinator (which fires its Quartz job).
/// </summary>
/// <param name="Reason">Who asked and why, for the logs.</param>
/// <param name="RequestedAt">When the command was sent.</param>
public sealed record TriggerReevaluation(string Reason, DateTimeOffset RequestedAt);
