namespace UniCode.Persistence.Entities;

/// <summary>
/// One score of one evaluation (table downstream_results). At most one row per (checkpoint, task,
/// source and target modality, split, protocol, metric, evaluation code version, dataset hash):
/// re-running the same evaluation cannot add a duplicate; a new eval code version or dataset adds rows.
/// </summary>
public sealed class DownstreamResult
{
    public Guid Id { get; set; }

    /// <summary>The evaluation run that produced it.</summary>
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;

    /// <summary>The checkpoint that was scored.</summary>
    public required string CheckpointSha256 { get; set; }
    public Checkpoint Checkpoint { get; set; } = null!;

    public required string Task { get; set; }

    /// <summary>"audio", "video" or "text": what the head was trained on.</summary>
    public required string SourceModality { get; set; }

    /// <summary>"audio", "video" or "text": what it was tested on.</summary>
    public required string TargetModality { get; set; }

    public required string Split { get; set; }
    public required string Protocol { get; set; }
    public required string Metric { get; set; }
    public double Value { get; set; }
    public long Seed { get; set; }
    public required string EvalCodeVersion { get; set; }
    public required string DatasetHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
