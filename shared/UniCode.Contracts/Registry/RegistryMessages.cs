namespace UniCode.Contracts.Registry;

/// <summary>
/// A checkpoint as the registry stores it (the checkpoints row).
/// </summary>
/// <param name="Sha256">sha256 of the checkpoint file: its identity.</param>
/// <param name="RunId">The run that wrote it.</param>
/// <param name="Step">Optimiser steps done when it was written.</param>
/// <param name="Epoch">Epochs done when it was written.</param>
/// <param name="ParentSha256">The checkpoint it was trained from (resume or fine-tune), or null.</param>
/// <param name="Uri">Where the file is (path or URI).</param>
/// <param name="SizeBytes">File size.</param>
/// <param name="ConfigHash">The run's config hash.</param>
/// <param name="DatasetHash">The run's dataset hash.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="CodeVersion">The code version that wrote it.</param>
/// <param name="CreatedAt">When it was written.</param>
public sealed record CheckpointInfo(
    string Sha256, Guid RunId, long Step, int Epoch, string? ParentSha256,
    string Uri, long SizeBytes, string ConfigHash, string DatasetHash, long Seed, string CodeVersion,
    DateTimeOffset CreatedAt);

/// <summary>
/// Record a checkpoint file and its lineage. Idempotent: the same Sha256 twice is one row.
/// Sent by trainers (after PretrainCompleted / HeadFinetuned) or the CLI; consumed by the registry.
/// </summary>
/// <param name="Checkpoint">The checkpoint.</param>
/// <param name="ChainId">The chain, if any.</param>
public sealed record RegisterCheckpoint(CheckpointInfo Checkpoint, Guid? ChainId);

/// <summary>
/// The checkpoint is in the registry.
/// Published by the registry; consumed by the chain coordinator and the nightly re-evaluation.
/// </summary>
/// <param name="Checkpoint">The registered checkpoint.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="RegisteredAt">When the row was written.</param>
public sealed record CheckpointRegistered(CheckpointInfo Checkpoint, Guid? ChainId, DateTimeOffset RegisteredAt);

/// <summary>
/// Point an alias (e.g. "best-val", "nightly") at a checkpoint; moves it if it exists.
/// Sent by the chain coordinator or the CLI; consumed by the registry.
/// </summary>
/// <param name="Alias">The alias name.</param>
/// <param name="Sha256">The checkpoint it should name.</param>
/// <param name="RequestedAt">When the command was sent.</param>
public sealed record SetCheckpointAlias(string Alias, string Sha256, DateTimeOffset RequestedAt);

/// <summary>
/// Request: look a checkpoint up by sha256 or alias.
/// Sent (request/response) by the CLI, the coordinator and workers; answered by the registry with
/// <see cref="CheckpointFound"/> or <see cref="CheckpointNotFound"/>.
/// </summary>
/// <param name="ShaOrAlias">A full sha256 or an alias name.</param>
public sealed record GetCheckpoint(string ShaOrAlias);

/// <summary>Response to <see cref="GetCheckpoint"/>: the checkpoint exists. Sent by the registry to the requester.</summary>
/// <param name="Query">The requested sha256 or alias.</param>
/// <param name="Checkpoint">The checkpoint.</param>
public sealed record CheckpointFound(string Query, CheckpointInfo Checkpoint);

/// <summary>Response to <see cref="GetCheckpoint"/>: no such checkpoint or alias. Sent by the registry to the requester.</summary>
/// <param name="Query">The requested sha256 or alias.</param>
/// <param name="Reason">What was looked for and not found.</param>
public sealed record CheckpointNotFound(string Query, string Reason);
