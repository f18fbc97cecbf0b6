namespace UniCode.Persistence.Entities;

/// <summary>
/// A checkpoint file, identified by its sha256 (table checkpoints). <see cref="ParentSha256"/> is the
/// checkpoint it was trained from (resumed pre-training, or the pre-trained model under a fine-tuned
/// head), which makes the table a lineage tree.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>sha256 (lower-case hex) of the file. Primary key.</summary>
    public required string Sha256 { get; set; }

    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;

    public long Step { get; set; }
    public int Epoch { get; set; }

    public required string ConfigHash { get; set; }
    public required string DatasetHash { get; set; }
    public long Seed { get; set; }
    public required string CodeVersion { get; set; }

    public string? ParentSha256 { get; set; }
    public Checkpoint? Parent { get; set; }
    public List<Checkpoint> Children { get; set; } = [];

    /// <summary>Where the file is: a path or a URI.</summary>
    public required string Uri { get; set; }

    public long SizeBytes { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
