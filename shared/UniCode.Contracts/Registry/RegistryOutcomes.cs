namespace UniCode.Contracts.Registry;

/// <summary>
/// The registry refused a <see cref="RegisterCheckpoint"/> (or a PretrainCompleted it registers from):
/// the file is missing or corrupt, its sha256 differs, a field contradicts the file, or its run or parent
/// is not in the registry. Not retried: the same request would be refused again.
/// Published by the registry (and sent as the response when the command was a request); consumed by the
/// chain coordinator and the CLI.
/// </summary>
/// <param name="Checkpoint">The checkpoint as it was asked to be registered.</param>
/// <param name="ChainId">The chain, if any.</param>
/// <param name="Reason">What is wrong, naming the file and the field.</param>
/// <param name="RejectedAt">When it was refused.</param>
public sealed record CheckpointRejected(CheckpointInfo Checkpoint, Guid? ChainId, string Reason, DateTimeOffset RejectedAt);

/// <summary>
/// An alias now names a checkpoint. Published by the registry after a <see cref="SetCheckpointAlias"/> (and
/// sent as the response when the command was a request); consumed by the CLI and the nightly re-evaluation.
/// </summary>
/// <param name="Alias">The alias.</param>
/// <param name="Sha256">The checkpoint it names now.</param>
/// <param name="PreviousSha256">The checkpoint it named before, or null when it is new.</param>
/// <param name="SetAt">When it was moved.</param>
public sealed record CheckpointAliasSet(string Alias, string Sha256, string? PreviousSha256, DateTimeOffset SetAt);

/// <summary>
/// A <see cref="SetCheckpointAlias"/> was refused: the name is malformed or reserved for the registry's own
/// aliases, or the checkpoint is not registered. Published by the registry (and sent as the response
/// when the command was a request); consumed by the CLI.
/// </summary>
/// <param name="Alias">The alias as requested.</param>
/// <param name="Sha256">The checkpoint as requested.</param>
/// <param name="Reason">What is wrong.</param>
/// <param name="RejectedAt">When it was refused.</param>
public sealed record CheckpointAliasRejected(string Alias, string Sha256, string Reason, DateTimeOffset RejectedAt);

/// <summary>
/// Request: the lineage of a checkpoint (by sha256, unique sha256 prefix or alias).
/// Sent (request/response) by the CLI and the coordinator; answered by the registry with
/// <see cref="CheckpointLineage"/> or <see cref="CheckpointNotFound"/>.
/// </summary>
/// <param name="ShaOrAlias">A sha256, a unique prefix of at least 8 hex digits, or an alias.</param>
public sealed record GetCheckpointLineage(string ShaOrAlias);

/// <summary>
/// Response to <see cref="GetCheckpointLineage"/>. Sent by the registry to the requester.
/// </summary>
/// <param name="Query">The requested sha256 or alias.</param>
/// <param name="Checkpoint">The checkpoint itself.</param>
/// <param name="Ancestors">Its parent, the parent's parent, … up to the root (nearest first; empty for a root).</param>
/// <param name="Children">The checkpoints whose parent it is, by step then creation time.</param>
public sealed record CheckpointLineage(
    string Query, CheckpointInfo Checkpoint, IReadOnlyList<CheckpointInfo> Ancestors, IReadOnlyList<CheckpointInfo> Children);
