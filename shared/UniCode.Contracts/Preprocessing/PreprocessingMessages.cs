using UniCode.Contracts.Common;

namespace UniCode.Contracts.Preprocessing;

/// <summary>
/// Turn a raw dataset into the feature files the trainer reads, and record its content hash.
/// Sent by the chain coordinator (or the CLI); consumed by the preprocessing service.
/// </summary>
/// <param name="JobId">Deterministic job id, derived from <paramref name="StepKey"/>.</param>
/// <param name="ChainId">The chain this step belongs to, if any.</param>
/// <param name="StepKey">sha256 of step kind, canonical config, input hashes and code version.</param>
/// <param name="Run">Run identity; its DatasetHash is the hash of the raw input listing.</param>
/// <param name="Dataset">The source, "KIND:PATH" (ave:, vggsound:, avvp:, npy:, synth:).</param>
/// <param name="RequestedAt">When the command was sent.</param>
public sealed record PreprocessDataset(
    Guid JobId, Guid? ChainId, string StepKey, RunIdentity Run,
    string Dataset, DateTimeOffset RequestedAt);

/// <summary>
/// The dataset is ready and registered in the datasets table.
/// Published by the preprocessing service; consumed by the chain coordinator.
/// </summary>
/// <param name="JobId">The job that produced it.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="StepKey">The step key of the job.</param>
/// <param name="DatasetId">The datasets row.</param>
/// <param name="Dataset">"KIND:PATH" of the preprocessed dataset.</param>
/// <param name="ContentHash">sha256 over the preprocessed content (the DatasetHash of later steps).</param>
/// <param name="ClipCount">Number of clips.</param>
/// <param name="CompletedAt">When it finished.</param>
public sealed record DatasetPreprocessed(
    Guid JobId, Guid? ChainId, string StepKey,
    Guid DatasetId, string Dataset, string ContentHash, int ClipCount, DateTimeOffset CompletedAt);

/// <summary>
/// The dataset cannot be used (missing files, wrong shapes, unknown kind). Not retried.
/// Published by the preprocessing service; consumed by the chain coordinator.
/// </summary>
/// <param name="JobId">The job that rejected it.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="StepKey">The step key of the job.</param>
/// <param name="Dataset">"KIND:PATH" as requested.</param>
/// <param name="Reason">What is wrong, naming the file and field.</param>
/// <param name="RejectedAt">When it was rejected.</param>
public sealed record DatasetRejected(
    Guid JobId, Guid? ChainId, string StepKey,
    string Dataset, string Reason, DateTimeOffset RejectedAt);
