using UniCode.Contracts.Common;

namespace UniCode.Contracts.Finetuning;

/// <summary>
/// Train a downstream head on a frozen pre-trained checkpoint with one source modality.
/// Sent by the chain coordinator (or the CLI); consumed by a trainer (prefetch 1).
/// </summary>
/// <param name="JobId">Deterministic job id, derived from <paramref name="StepKey"/>; also the run id.</param>
/// <param name="ChainId">The chain this step belongs to, if any.</param>
/// <param name="StepKey">sha256 of step kind, canonical config, input hashes and code version.</param>
/// <param name="Run">Run identity of the fine-tuning run.</param>
/// <param name="CheckpointSha256">The pre-trained checkpoint.</param>
/// <param name="Task">Downstream task name (as stored in downstream_results.task).</param>
/// <param name="SourceModality">"audio", "video" or "text": the modality the head is trained on.</param>
/// <param name="Dataset">The downstream dataset, "KIND:PATH".</param>
/// <param name="RequestedAt">When the command was sent.</param>
public sealed record FinetuneHead(
    Guid JobId, Guid? ChainId, string StepKey, RunIdentity Run,
    string CheckpointSha256, string Task, string SourceModality, string Dataset, DateTimeOffset RequestedAt);

/// <summary>
/// Throttled progress of a fine-tuning run.
/// Published by the trainer; consumed by the results writer (metric_points) and progress displays.
/// </summary>
/// <param name="JobId">The run.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="Step">Optimiser steps done.</param>
/// <param name="TotalSteps">Optimiser steps planned.</param>
/// <param name="Epoch">Current epoch (0-based).</param>
/// <param name="Metrics">Losses and rates at <paramref name="Step"/>.</param>
/// <param name="ReportedAt">When they were measured.</param>
public sealed record FinetuneProgressed(
    Guid JobId, Guid? ChainId, long Step, long TotalSteps, int Epoch,
    IReadOnlyList<MetricValue> Metrics, DateTimeOffset ReportedAt);

/// <summary>
/// The head is trained and saved as a checkpoint whose parent is the pre-trained one.
/// Published by the trainer; consumed by the registry and the chain coordinator.
/// </summary>
/// <param name="JobId">The run.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="StepKey">The step key of the job.</param>
/// <param name="CheckpointSha256">The pre-trained checkpoint (the head's parent).</param>
/// <param name="HeadSha256">sha256 of the head's checkpoint file.</param>
/// <param name="HeadUri">Where the head's checkpoint file is.</param>
/// <param name="Task">Downstream task name.</param>
/// <param name="SourceModality">The modality the head was trained on.</param>
/// <param name="Metrics">Final training/validation metrics.</param>
/// <param name="CompletedAt">When it finished.</param>
public sealed record HeadFinetuned(
    Guid JobId, Guid? ChainId, string StepKey,
    string CheckpointSha256, string HeadSha256, string HeadUri, string Task, string SourceModality,
    IReadOnlyList<MetricValue> Metrics, DateTimeOffset CompletedAt);
