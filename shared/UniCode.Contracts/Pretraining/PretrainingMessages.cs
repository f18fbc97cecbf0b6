using UniCode.Contracts.Common;

namespace UniCode.Contracts.Pretraining;

/// <summary>
/// Pre-train a Uni-Code model on a preprocessed dataset.
/// Sent by the chain coordinator (or the CLI); consumed by a trainer (prefetch 1: one job per device).
/// </summary>
/// <param name="JobId">Deterministic job id, derived from <paramref name="StepKey"/>; also the run id.</param>
/// <param name="ChainId">The chain this step belongs to, if any.</param>
/// <param name="StepKey">sha256 of step kind, canonical config, input hashes and code version.</param>
/// <param name="Run">Run identity (config, seed, code version, dataset hash).</param>
/// <param name="Dataset">The preprocessed dataset, "KIND:PATH".</param>
/// <param name="ResumeFromSha256">Checkpoint to resume from, or null to start fresh.</param>
/// <param name="RequestedAt">When the command was sent.</param>
public sealed record PretrainModel(
    Guid JobId, Guid? ChainId, string StepKey, RunIdentity Run,
    string Dataset, string? ResumeFromSha256, DateTimeOffset RequestedAt);

/// <summary>
/// Throttled progress of a pre-training run (a few per minute at most).
/// Published by the trainer; consumed by the results writer (metric_points) and progress displays.
/// </summary>
/// <param name="JobId">The run.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="Step">Optimiser steps done.</param>
/// <param name="TotalSteps">Optimiser steps planned.</param>
/// <param name="Epoch">Current epoch (0-based).</param>
/// <param name="Metrics">Loss terms and rates at <paramref name="Step"/>.</param>
/// <param name="ReportedAt">When they were measured.</param>
public sealed record PretrainProgressed(
    Guid JobId, Guid? ChainId, long Step, long TotalSteps, int Epoch,
    IReadOnlyList<MetricValue> Metrics, DateTimeOffset ReportedAt);

/// <summary>
/// Pre-training finished and wrote its final checkpoint.
/// Published by the trainer; consumed by the registry (registers the checkpoint) and the chain coordinator.
/// </summary>
/// <param name="JobId">The run.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="StepKey">The step key of the job.</param>
/// <param name="CheckpointSha256">sha256 of the checkpoint file.</param>
/// <param name="CheckpointUri">Where the checkpoint file is.</param>
/// <param name="Step">Optimiser steps done.</param>
/// <param name="Epoch">Epochs done.</param>
/// <param name="Metrics">Final metrics.</param>
/// <param name="CompletedAt">When it finished.</param>
public sealed record PretrainCompleted(
    Guid JobId, Guid? ChainId, string StepKey,
    string CheckpointSha256, string CheckpointUri, long Step, int Epoch,
    IReadOnlyList<MetricValue> Metrics, DateTimeOffset CompletedAt);
