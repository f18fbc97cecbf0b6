namespace UniCode.Persistence.Entities;

/// <summary>
/// A movable name for a checkpoint, e.g. "best-val" or "nightly" (table checkpoint_aliases).
/// Moved by several writers: <see cref="Version"/> (xmin) makes a stale move fail.
/// </summary>
public sealed class CheckpointAlias
{
    /// <summary>Primary key.</summary>
    public required string Name { get; set; }

    public required string CheckpointSha256 { get; set; }
    public Checkpoint Checkpoint { get; set; } = null!;

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Optimistic concurrency token: PostgreSQL's xmin system column.</summary>
    public uint Version { get; set; }
}
